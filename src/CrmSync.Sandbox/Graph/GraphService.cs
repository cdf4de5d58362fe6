using System.Globalization;

namespace CrmSync.Sandbox.Graph;

/// <summary>A subscribed SKU of the sandbox tenant.</summary>
public sealed class SubscribedSku
{
    public required Guid SkuId { get; init; }

    public required string SkuPartNumber { get; init; }

    public int Enabled { get; set; }

    public int Consumed { get; set; }

    public IReadOnlyList<(Guid Id, string Name)> ServicePlans { get; init; } = Array.Empty<(Guid, string)>();

    /// <summary>Licensed users of this SKU are synchronized into Dataverse as systemusers (Dynamics 365 plans).</summary>
    public bool GrantsDataverseAccess { get; init; }
}

/// <summary>A domain of the sandbox tenant.</summary>
public sealed record TenantDomain(string Name, bool IsVerified, bool IsDefault = false, bool IsInitial = false);

/// <summary>
/// The Microsoft Graph v1.0 emulator for user provisioning (docs/reference/integration.md §F): users, assignLicense
/// (both arrays required), subscribedSkus with seats, domains, JSON $batch (≤20, dependsOn → 424), and
/// Graph error bodies. Works with the Microsoft.Graph 5.x SDK unmodified.
/// </summary>
public sealed partial class GraphService
{
    public const string ServiceName = "Graph";
    public const int MaxBatchRequests = 20;

    private static readonly string[] DefaultUserProperties =
    {
        "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
    };

    private static readonly string[] RequiredOnCreate = { "accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName" };

    private readonly SandboxClock _clock;
    private readonly IdentityDirectory _identities;

    public GraphService(SandboxClock clock, IdentityDirectory identities)
    {
        _clock = clock;
        _identities = identities;
        Users = Store.Add(UserSchema);
    }

    /// <summary>One element of a user's assignedLicenses (Graph resource type assignedLicense).</summary>
    private static readonly EntitySchema AssignedLicense = new("assignedLicense", "assignedLicenses", "skuId", new[]
    {
        new Column("skuId", ColumnType.Guid), new Column("disabledPlans", ColumnType.Json),
    });

    public static EntitySchema UserSchema { get; } = new("user", "users", "id", new[]
    {
        new Column("id", ColumnType.Guid) { ReadOnly = true }, new Column("userPrincipalName", ColumnType.String) { MaxLength = 113 },
        new Column("displayName", ColumnType.String) { MaxLength = 256 }, new Column("givenName", ColumnType.String) { MaxLength = 64 },
        new Column("surname", ColumnType.String) { MaxLength = 64 }, new Column("mailNickname", ColumnType.String) { MaxLength = 64 },
        new Column("mail", ColumnType.String), new Column("accountEnabled", ColumnType.Bool), new Column("usageLocation", ColumnType.String) { MaxLength = 2 },
        new Column("jobTitle", ColumnType.String) { MaxLength = 128 }, new Column("department", ColumnType.String) { MaxLength = 64 },
        new Column("officeLocation", ColumnType.String), new Column("businessPhones", ColumnType.Json), new Column("mobilePhone", ColumnType.String),
        new Column("faxNumber", ColumnType.String), new Column("otherMails", ColumnType.Json), new Column("streetAddress", ColumnType.String),
        new Column("city", ColumnType.String), new Column("state", ColumnType.String), new Column("postalCode", ColumnType.String),
        new Column("country", ColumnType.String), new Column("preferredLanguage", ColumnType.String),
        new Column("assignedLicenses", ColumnType.Json) { ReadOnly = true, ElementSchema = AssignedLicense }, new Column("passwordProfile", ColumnType.Json) { WriteOnly = true },
        new Column("createdDateTime", ColumnType.DateTime) { ReadOnly = true },
    })
    { UniqueColumns = new[] { "userPrincipalName" }, DefaultOrder = "userPrincipalName" };

    public ServiceStore Store { get; } = new();

    public EntityTable Users { get; }

    public List<SubscribedSku> Skus { get; } = new();

    public List<TenantDomain> Domains { get; } = new();

    public Guid TenantId { get; set; }

    public string OrganizationName { get; set; } = "Contoso";

    public string CountryLetterCode { get; set; } = "US";

    /// <summary>Called when a user gains or loses a license that grants Dataverse access (the environment's user sync).</summary>
    public Action<Row, bool>? LicenseChanged { get; set; }

    public ServiceResponse Handle(ServiceRequest request)
    {
        ServiceResponse response;
        try
        {
            lock (Store.Sync)
            {
                response = Route(request);
            }
        }
        catch (ServiceException ex)
        {
            response = Error(ex, request.Header("client-request-id"));
        }

        // Every Graph response names the request (and echoes the client's id), for support cases and logs.
        if (!response.Headers.ContainsKey("request-id"))
        {
            response.Headers["request-id"] = Guid.NewGuid().ToString();
            response.Headers["client-request-id"] = request.Header("client-request-id") ?? response.Headers["request-id"];
        }

        return response;
    }

    /// <summary>Graph's error body; its innerError names the same request-id and client-request-id as the response's headers.</summary>
    public static ServiceResponse Error(ServiceException ex, string? clientRequestId = null)
    {
        var code = ex.Code == "BadRequest" ? "BadRequest" : ex.Code;
        var requestId = Guid.NewGuid().ToString();
        clientRequestId ??= requestId;
        var response = ServiceResponse.Json(ex.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", ex.Message);
            w.WriteStartObject("innerError");
            w.WriteString("date", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
            w.WriteString("request-id", requestId);
            w.WriteString("client-request-id", clientRequestId);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }, contentType: "application/json");
        response.Headers["request-id"] = requestId;
        response.Headers["client-request-id"] = clientRequestId;
        if (ex.RetryAfter is { } retry)
        {
            response.Headers["Retry-After"] = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }

    private ServiceResponse Route(ServiceRequest request)
    {
        var path = request.Path.Trim('/');
        switch (path)
        {
            case "$batch" when request.Method == "POST":
                return ExecuteBatch(request);
            case "subscribedSkus" when request.Method == "GET":
                return ListSkus(request);
            case "domains" when request.Method == "GET":
                return ListDomains(request);
            case "organization" when request.Method == "GET":
                return Organization(request);
            case "users" when request.Method == "GET":
                return QueryUsers(request);
            case "users" when request.Method == "POST":
                return CreateUser(request);
            case "users/$count" when request.Method == "GET":
                return CountUsers(request);
            case "users/delta":
                throw new ServiceException(400, "Request_UnsupportedQuery", "The sandbox does not emulate delta queries (users/delta); list users with $filter instead (about_CrmSyncSandbox).");
        }

        var user = UserPattern().Match(path);
        if (user.Success)
        {
            var row = FindUser(user.Groups["key"].Value);
            if (user.Groups["action"].Success)
            {
                switch (user.Groups["action"].Value)
                {
                    case "assignLicense" when request.Method == "POST":
                        return AssignLicense(request, row);
                    case "licenseDetails" when request.Method == "GET":
                        return LicenseDetails(request, row);
                }

                throw new ServiceException(400, "Request_UnsupportedQuery",
                    $"The sandbox does not emulate '{user.Groups["action"].Value}' on users (it serves {string.Join(" and ", UserActions)}; memberOf, manager and the other relationships are not emulated).");
            }

            return request.Method switch
            {
                "GET" => UserResponse(request, row, 200),
                "PATCH" => UpdateUser(request, row),
                "DELETE" => DeleteUser(row),
                _ => throw new ServiceException(405, "Request_BadRequest", $"The method {request.Method} is not allowed on users."),
            };
        }

        throw new ServiceException(400, "BadRequest", $"Resource not found for the segment '{path.Split('/')[0]}'.");
    }

}
