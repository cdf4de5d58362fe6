using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;

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
/// The Microsoft Graph v1.0 emulator for user provisioning (reference/domain.md §F): users, assignLicense
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
        response.Headers["request-id"] = Guid.NewGuid().ToString();
        response.Headers["client-request-id"] = request.Header("client-request-id") ?? response.Headers["request-id"];
        return response;
    }

    public static ServiceResponse Error(ServiceException ex, string? clientRequestId = null)
    {
        var code = ex.Code == "BadRequest" ? "BadRequest" : ex.Code;
        var response = ServiceResponse.Json(ex.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", ex.Message);
            w.WriteStartObject("innerError");
            w.WriteString("date", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
            w.WriteString("request-id", Guid.NewGuid().ToString());
            w.WriteString("client-request-id", clientRequestId ?? Guid.NewGuid().ToString());
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }, contentType: "application/json");
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
                throw new ServiceException(501, "NotImplemented", "The sandbox does not emulate delta queries (users/delta); list users with $filter instead (about_CrmSyncSandbox).");
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

                throw new ServiceException(501, "NotImplemented",
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

    // ---- Users (§F.1) ---------------------------------------------------------------------------

    private Row FindUser(string key)
    {
        key = Uri.UnescapeDataString(key).Trim('\'');
        var row = Guid.TryParse(key, out var id)
            ? Users.Get(id)
            : Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), key, except: null);
        return row ?? throw new ServiceException(404, "Request_ResourceNotFound", $"Resource '{key}' does not exist or one of its queried reference-property objects are not present.");
    }

    /// <summary>The query options users accepts (about_CrmSyncSandbox lists them; a test keeps the two equal).</summary>
    internal static HashSet<string> UserQueryOptions { get; } = new HashSet<string>(StringComparer.Ordinal) { "$select", "$filter", "$orderby", "$top", "$count", "$skiptoken" };

    /// <summary>What the sandbox serves under users/{id} (the other relationships are refused by name).</summary>
    internal static IReadOnlyCollection<string> UserActions { get; } = new[] { "assignLicense", "licenseDetails" };

    private ServiceResponse QueryUsers(ServiceRequest request)
    {
        var options = QueryOptions.Parse(request.Query, UserQueryOptions,
            key => new ServiceException(400, "BadRequest", $"Query option '{key}' is not allowed."));
        if (options.Top is { } top && top is < 1 or > 999)
        {
            throw new ServiceException(400, "Request_BadRequest", $"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.");
        }

        if (options.Filter is not null)
        {
            CheckLambdas(QueryRunner.ParseFilter(options.Filter));
        }

        RequireAdvancedQueryWhereNeeded(request, options);
        var pageSize = options.Top ?? 100;
        var page = QueryRunner.Run(Users, options with { Top = null }, pageSize, new FilterCompiler(PlainProperties.For(UserSchema), UnknownProperty));
        var select = Select(options.Select);
        return ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#users");
            if (page.TotalCount is { } total)
            {
                w.WriteNumber("@odata.count", total);
            }

            w.WriteStartArray("value");
            foreach (var row in page.Rows)
            {
                WriteUser(w, row, select);
            }

            w.WriteEndArray();
            if (page.NextSkipToken is { } token)
            {
                var query = request.QueryString;
                w.WriteString("@odata.nextLink", $"{request.ServiceRoot}users?{(query.Length > 0 ? query + "&" : string.Empty)}$skiptoken={Uri.EscapeDataString(token)}");
            }

            w.WriteEndObject();
        }, page.Rows.Count);
    }

    /// <summary>
    /// Advanced query capabilities on directory objects (Graph: "Advanced query capabilities on Microsoft Entra ID
    /// objects"): $count, the ne and not operators, endsWith, and $filter with $orderby need the ConsistencyLevel: eventual
    /// header, and all but $count=true itself also need $count=true. Without them Graph answers 400.
    /// </summary>
    private static void RequireAdvancedQueryWhereNeeded(ServiceRequest request, QueryOptions options)
    {
        var eventual = string.Equals(request.Header("ConsistencyLevel"), "eventual", StringComparison.OrdinalIgnoreCase);
        if (options.Count && !eventual)
        {
            throw new ServiceException(400, "Request_BadRequest", "$count is not currently supported without the ConsistencyLevel: eventual header.");
        }

        var filter = options.Filter is null ? null : QueryRunner.ParseFilter(options.Filter);
        var needs = filter is not null && (UsesAdvancedOperators(filter) || options.OrderBy.Count > 0);
        if (needs && !(eventual && options.Count))
        {
            throw new ServiceException(400, "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for resource 'User': ne, not, endsWith and $filter with $orderby need advanced query capabilities (ConsistencyLevel: eventual and $count=true).");
        }
    }

    /// <summary>
    /// Lambda filters as the user resource documents them: assignedLicenses supports any(x:x/skuId eq {guid}); Graph refuses
    /// other lambdas on it (400), and the sandbox does not emulate lambdas on the other collections (501).
    /// </summary>
    private static void CheckLambdas(FilterNode node)
    {
        switch (node)
        {
            case LambdaNode { Collection: "assignedLicenses" } lambda:
                if (lambda is not { Operator: "any", Predicate: ComparisonNode { Operator: "eq", Left: PropertyNode property, Right: LiteralNode { Value: Guid } } }
                    || property.Path != lambda.Variable + "/skuId")
                {
                    throw new ServiceException(400, "Request_UnsupportedQuery",
                        "Unsupported or invalid query filter clause specified for property 'assignedLicenses' of resource 'User'. Use assignedLicenses/any(x:x/skuId eq <skuId>).");
                }

                break;
            case LambdaNode lambda:
                throw new ServiceException(501, "NotImplemented",
                    $"The sandbox does not emulate lambda operators on '{lambda.Collection}'; it serves assignedLicenses/any(x:x/skuId eq <skuId>) (about_CrmSyncSandbox).");
            case LogicalNode logical:
                CheckLambdas(logical.Left);
                CheckLambdas(logical.Right);
                break;
            case NotNode not:
                CheckLambdas(not.Operand);
                break;
        }
    }

    private static bool UsesAdvancedOperators(FilterNode node) => node switch
    {
        ComparisonNode { Operator: "ne" } => true,
        NotNode => true,
        FunctionNode { Name: var name } when name.Equals("endswith", StringComparison.OrdinalIgnoreCase) => true,
        LogicalNode logical => UsesAdvancedOperators(logical.Left) || UsesAdvancedOperators(logical.Right),
        ComparisonNode comparison => UsesAdvancedOperators(comparison.Left) || UsesAdvancedOperators(comparison.Right),
        FunctionNode function => function.Arguments.Any(UsesAdvancedOperators),
        _ => false,
    };

    private ServiceResponse CreateUser(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var values = new object?[UserSchema.Columns.Count];
        Apply(values, body);
        foreach (var required in RequiredOnCreate)
        {
            if (values[UserSchema.IndexOf(required)] is null)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property '{required}' of resource 'User'.");
            }
        }

        var upn = (string)values[UserSchema.IndexOf("userPrincipalName")]!;
        var at = upn.LastIndexOf('@');
        var domain = at > 0 ? upn[(at + 1)..] : string.Empty;
        if (at <= 0 || !Domains.Any(d => d.IsVerified && string.Equals(d.Name, domain, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ServiceException(400, "Request_BadRequest",
                "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.");
        }

        if (Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), upn, except: null) is not null)
        {
            throw new ServiceException(400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.");
        }

        var id = Guid.NewGuid();
        values[UserSchema.KeyIndex] = id;
        values[UserSchema.IndexOf("mail")] ??= upn;
        values[UserSchema.IndexOf("assignedLicenses")] = new JsonArray();
        values[UserSchema.IndexOf("createdDateTime")] = JsonValues.Truncate(_clock.UtcNow, DateFormat.Seconds);
        var row = new Row(values, Store.NextVersion(), request.Caller.ObjectId);
        Users.Put(row);
        var password = (values[UserSchema.IndexOf("passwordProfile")] as JsonObject)?["password"]?.GetValue<string>();
        _identities.Add(new SandboxIdentity
        {
            ObjectId = id,
            DisplayName = (string)values[UserSchema.IndexOf("displayName")]!,
            Kind = IdentityKind.User,
            UserPrincipalName = upn,
            Password = password,
        });
        return UserResponse(request, row, 201);
    }

    private ServiceResponse UpdateUser(ServiceRequest request, Row existing)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var values = (object?[])existing.Values.Clone();
        Apply(values, body);
        var id = (Guid)values[UserSchema.KeyIndex]!;
        if (Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), values[UserSchema.IndexOf("userPrincipalName")], id) is not null)
        {
            throw new ServiceException(400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.");
        }

        Users.Put(new Row(values, Store.NextVersion(), request.Caller.ObjectId));
        return ServiceResponse.Empty(204, 1);
    }

    private ServiceResponse DeleteUser(Row existing)
    {
        Users.Remove((Guid)existing.Values[UserSchema.KeyIndex]!);
        return ServiceResponse.Empty(204, 1);
    }

    private static void Apply(object?[] values, JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name.StartsWith('@') || property.Name.Contains('@'))
            {
                continue;
            }

            var column = UserSchema.Find(property.Name)
                ?? throw new ServiceException(400, "Request_BadRequest", $"Property '{property.Name}' does not exist as a declared property or extension property.");
            if (column.ReadOnly)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Property '{property.Name}' is read-only and cannot be set.");
            }

            try
            {
                var value = JsonValues.Read(column, property.Value);
                if (column.Name == "usageLocation" && value is string location && (location.Length != 2 || !location.All(char.IsAsciiLetterUpper)))
                {
                    throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property 'usageLocation' of resource 'User': '{location}' is not a two-letter ISO 3166 country code.");
                }

                values[UserSchema.IndexOf(column.Name)] = value;
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property '{property.Name}' of resource 'User'. {ex.Message}");
            }
        }
    }

    private static IReadOnlyList<string> Select(IReadOnlyList<string>? select)
    {
        if (select is null)
        {
            return DefaultUserProperties;
        }

        foreach (var name in select)
        {
            if (UserSchema.Find(name) is not { WriteOnly: false })
            {
                throw new ServiceException(400, "Request_BadRequest", UnknownProperty(name));
            }
        }

        return select;
    }

    private ServiceResponse UserResponse(ServiceRequest request, Row row, int status, bool readSelect = true)
    {
        var options = readSelect
            ? QueryOptions.Parse(request.Query, new HashSet<string> { "$select" }, key => new ServiceException(400, "BadRequest", $"Query option '{key}' is not allowed."))
            : new QueryOptions();
        var select = Select(options.Select);
        return ServiceResponse.Json(status, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#users/$entity");
            WriteUserBody(w, row, select);
            w.WriteEndObject();
        }, 1);
    }

    private static void WriteUser(Utf8JsonWriter w, Row row, IReadOnlyList<string> select)
    {
        w.WriteStartObject();
        WriteUserBody(w, row, select);
        w.WriteEndObject();
    }

    private static void WriteUserBody(Utf8JsonWriter w, Row row, IReadOnlyList<string> select)
    {
        foreach (var name in select)
        {
            var value = row.Values[UserSchema.IndexOf(name)];
            if (value is null && name is "businessPhones" or "otherMails")
            {
                value = new JsonArray();
            }

            JsonValues.Write(w, name, value, DateFormat.Seconds);
        }
    }

    private static string UnknownProperty(string name) => $"Could not find a property named '{name}' on type 'microsoft.graph.user'.";

    // ---- Licenses (§F.2) ------------------------------------------------------------------------

    private ServiceResponse AssignLicense(ServiceRequest request, Row user)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var missing = new[] { "addLicenses", "removeLicenses" }.Where(p => !body.TryGetProperty(p, out var v) || v.ValueKind != JsonValueKind.Array).ToList();
        if (missing.Count > 0)
        {
            // The real service requires both arrays, even empty (§F.2; msgraph-sdk-powershell #3231).
            throw new ServiceException(400, "Request_BadRequest",
                $"One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: {string.Join(", ", missing)}.");
        }

        var usageLocation = user.Values[UserSchema.IndexOf("usageLocation")] as string;
        var add = body.GetProperty("addLicenses").EnumerateArray().Select(a =>
        {
            var skuText = a.TryGetProperty("skuId", out var s) ? s.GetString() : null;
            return Guid.TryParse(skuText, out var sku) ? sku : throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property 'skuId' of resource 'AssignedLicense': '{skuText}'.");
        }).ToList();
        var remove = body.GetProperty("removeLicenses").EnumerateArray().Select(r => Guid.TryParse(r.GetString(), out var g) ? g : Guid.Empty).ToList();
        var current = ((JsonArray?)user.Values[UserSchema.IndexOf("assignedLicenses")] ?? new JsonArray())
            .Select(n => Guid.Parse(n!["skuId"]!.GetValue<string>())).ToList();

        if (add.Count > 0 && string.IsNullOrEmpty(usageLocation))
        {
            throw new ServiceException(400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.");
        }

        var newlyAdded = add.Where(s => !current.Contains(s)).Distinct().ToList();
        foreach (var skuId in newlyAdded)
        {
            var sku = Skus.FirstOrDefault(s => s.SkuId == skuId) ?? throw new ServiceException(400, "Request_BadRequest", $"License {skuId} does not correspond to a valid company License.");
            if (sku.Consumed >= sku.Enabled)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Subscription {sku.SkuPartNumber} ({skuId}) does not have any available licenses: {sku.Consumed} of {sku.Enabled} are assigned.");
            }
        }

        var removed = remove.Where(current.Contains).Distinct().ToList();
        foreach (var skuId in newlyAdded)
        {
            Skus.First(s => s.SkuId == skuId).Consumed++;
        }

        foreach (var skuId in removed)
        {
            if (Skus.FirstOrDefault(s => s.SkuId == skuId) is { } sku)
            {
                sku.Consumed--;
            }
        }

        var licenses = new JsonArray();
        foreach (var skuId in current.Except(removed).Concat(newlyAdded))
        {
            licenses.Add(new JsonObject { ["disabledPlans"] = new JsonArray(), ["skuId"] = skuId.ToString() });
        }

        var values = (object?[])user.Values.Clone();
        values[UserSchema.IndexOf("assignedLicenses")] = licenses;
        var row = new Row(values, Store.NextVersion(), request.Caller.ObjectId);
        Users.Put(row);
        var before = current.Any(GrantsDataverse);
        var after = current.Except(removed).Concat(newlyAdded).Any(GrantsDataverse);
        if (before != after)
        {
            LicenseChanged?.Invoke(row, after);
        }

        return UserResponse(request, row, 200, readSelect: false);
    }

    private bool GrantsDataverse(Guid skuId) => Skus.Any(s => s.SkuId == skuId && s.GrantsDataverseAccess);

    /// <summary>An unpaged collection: the context, then each item as an object.</summary>
    // Subscribed SKUs, the organization and domains come whole: a query option would be ignored, so it is refused.
    private static ServiceResponse Collection<T>(ServiceRequest request, string entitySet, IReadOnlyCollection<T> items, Action<Utf8JsonWriter, T> writeItem) =>
        request.Query.Any()
            ? throw new ServiceException(400, "BadRequest", $"The sandbox does not emulate query options on /{entitySet} ({string.Join(", ", request.Query.Select(q => q.Key))}): it returns the whole collection only.")
            : WholeCollection(request, entitySet, items, writeItem);

    private static ServiceResponse WholeCollection<T>(ServiceRequest request, string entitySet, IReadOnlyCollection<T> items, Action<Utf8JsonWriter, T> writeItem) => ServiceResponse.Json(200, w =>
    {
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{entitySet}");
        w.WriteStartArray("value");
        foreach (var item in items)
        {
            w.WriteStartObject();
            writeItem(w, item);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }, items.Count);

    /// <summary>GET users/$count: the number of users as plain text; like every $count on directory objects it needs ConsistencyLevel: eventual.</summary>
    private ServiceResponse CountUsers(ServiceRequest request)
    {
        if (!string.Equals(request.Header("ConsistencyLevel"), "eventual", StringComparison.OrdinalIgnoreCase))
        {
            throw new ServiceException(400, "Request_BadRequest", "Count is not currently supported without the ConsistencyLevel: eventual header.");
        }

        var options = QueryOptions.Parse(request.Query, new HashSet<string> { "$filter" }, key => new ServiceException(400, "BadRequest", $"Query option '{key}' is not allowed with $count."));
        var matches = QueryRunner.Predicate(options.Filter, new FilterCompiler(PlainProperties.For(UserSchema), UnknownProperty));
        return new ServiceResponse { Status = 200, Body = Encoding.UTF8.GetBytes(Users.Rows.Count(matches).ToString(CultureInfo.InvariantCulture)), ContentType = "text/plain" };
    }

    /// <summary>GET users/{id}/licenseDetails: one entry per assigned license, with the SKU's service plans.</summary>
    private ServiceResponse LicenseDetails(ServiceRequest request, Row user)
    {
        if (request.Query.Count > 0)
        {
            throw new ServiceException(400, "BadRequest", $"The sandbox does not emulate query options on licenseDetails ({string.Join(", ", request.Query.Select(q => q.Key))}).");
        }

        var assigned = ((JsonArray?)user.Values[UserSchema.IndexOf("assignedLicenses")] ?? new JsonArray())
            .Select(n => Guid.Parse(n!["skuId"]!.GetValue<string>()))
            .Select(id => Skus.FirstOrDefault(s => s.SkuId == id))
            .OfType<SubscribedSku>()
            .ToList();
        var userId = (Guid)user.Values[UserSchema.KeyIndex]!;
        return WholeCollection(request, $"users('{userId}')/licenseDetails", assigned, (w, sku) =>
        {
            w.WriteString("id", $"{userId:N}{sku.SkuId:N}");
            w.WriteString("skuId", sku.SkuId);
            w.WriteString("skuPartNumber", sku.SkuPartNumber);
            WriteServicePlans(w, sku);
        });
    }

    private static void WriteServicePlans(Utf8JsonWriter w, SubscribedSku sku)
    {
        w.WriteStartArray("servicePlans");
        foreach (var (id, name) in sku.ServicePlans)
        {
            w.WriteStartObject();
            w.WriteString("servicePlanId", id);
            w.WriteString("servicePlanName", name);
            w.WriteString("provisioningStatus", "Success");
            w.WriteString("appliesTo", "User");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private ServiceResponse ListSkus(ServiceRequest request) => Collection(request, "subscribedSkus", Skus, (w, sku) =>
    {
        w.WriteString("capabilityStatus", "Enabled");
        w.WriteNumber("consumedUnits", sku.Consumed);
        w.WriteString("id", $"{Guid.Empty}_{sku.SkuId}");
        w.WriteString("skuId", sku.SkuId);
        w.WriteString("skuPartNumber", sku.SkuPartNumber);
        w.WriteString("appliesTo", "User");
        w.WriteStartObject("prepaidUnits");
        w.WriteNumber("enabled", sku.Enabled);
        w.WriteNumber("suspended", 0);
        w.WriteNumber("warning", 0);
        w.WriteNumber("lockedOut", 0);
        w.WriteEndObject();
        WriteServicePlans(w, sku);
    });

    private ServiceResponse Organization(ServiceRequest request) => Collection(request, "organization", new[] { TenantId }, (w, tenantId) =>
    {
        w.WriteString("id", tenantId);
        w.WriteString("displayName", OrganizationName);
        w.WriteString("countryLetterCode", CountryLetterCode);
        w.WriteStartArray("verifiedDomains");
        foreach (var domain in Domains.Where(d => d.IsVerified))
        {
            w.WriteStartObject();
            w.WriteString("name", domain.Name);
            w.WriteBoolean("isDefault", domain.IsDefault);
            w.WriteBoolean("isInitial", domain.IsInitial);
            w.WriteString("type", "Managed");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private ServiceResponse ListDomains(ServiceRequest request) => Collection(request, "domains", Domains, (w, domain) =>
    {
        w.WriteString("authenticationType", "Managed");
        w.WriteString("id", domain.Name);
        w.WriteBoolean("isDefault", domain.IsDefault);
        w.WriteBoolean("isInitial", domain.IsInitial);
        w.WriteBoolean("isVerified", domain.IsVerified);
    });

    // ---- JSON $batch (§F.4) ---------------------------------------------------------------------

    /// <summary>The fault answer to one request inside a $batch (method, url), or null to run it; set by the host.</summary>
    public Func<string, string, ServiceResponse?>? InnerFault { get; set; }

    private ServiceResponse ExecuteBatch(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        if (!body.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "BadRequest", "Invalid batch payload format: a \"requests\" array is required.");
        }

        var items = requests.EnumerateArray().ToList();
        if (items.Count > MaxBatchRequests)
        {
            throw new ServiceException(400, "BadRequest", $"Number of batch requests exceeds the maximum of {MaxBatchRequests}.");
        }

        // JSON batching's rules (Graph: "Combine multiple HTTP requests using JSON batching"): every request has an id,
        // unique in the batch, a method and a url; a request with a body names its Content-Type.
        var parsed = items.Select(JsonBatch.Parse).ToList();
        foreach (var item in parsed)
        {
            if (item.Id.Length == 0 || item.Url.Length == 0 || !items[parsed.IndexOf(item)].TryGetProperty("method", out _))
            {
                throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: every request needs an id, a method and a url (request '{item.Id}').");
            }

            if (item.Body.Length > 0 && !item.Headers.ContainsKey("Content-Type"))
            {
                throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: request '{item.Id}' has a body but no Content-Type header.");
            }
        }

        if (parsed.GroupBy(i => i.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: the id '{duplicate.Key}' is used by {duplicate.Count()} requests; ids must be unique in a batch.");
        }

        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        var results = new List<(string Id, ServiceResponse Response)>();
        foreach (var item in parsed)
        {
            var response = item.DependsOn.Any(dep => !statuses.TryGetValue(dep, out var status) || status >= 400)
                ? Error(new ServiceException(424, "BadRequest", "Failed dependency: a request this one depends on failed."))
                // Graph answers each request of a batch on its own, 429s and 5xx included (partial failure).
                : InnerFault?.Invoke(item.Method, item.Url) ?? Handle(JsonBatch.ToRequest(item, request, apiMarker: null));
            statuses[item.Id] = response.Status;
            results.Add((item.Id, response));
        }

        return JsonBatch.Respond(results, lowerCaseHeaders: false, "application/json");
    }


    [GeneratedRegex(@"^users/(?<key>[^/]+)(/(?<action>[A-Za-z.]+))?$")]
    private static partial Regex UserPattern();
}
