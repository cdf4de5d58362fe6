using System.Globalization;
using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>
/// The BC API v2.0 emulator (docs/reference/integration.md §E): companies and, per company, customers, vendors,
/// contacts, currencies, salespeoplePurchasers and contactsInformation; lastModifiedDateTime in
/// milliseconds; $filter/$select/$orderby/$top/$skip/$count and server paging; etags with If-Match
/// required on PATCH/DELETE; JSON $batch (≤100, Isolation: snapshot); BC error codes.
/// </summary>
public sealed partial class BcService
{
    public const string ServiceName = "BusinessCentral";

    /// <summary>Max page size online (§E.3).</summary>
    public const int MaxPageSize = 20000;

    public const int MaxBatchOperations = 100;

    private readonly SandboxClock _clock;
    private readonly EntityTable _companies;

    public BcService(SandboxClock clock)
    {
        _clock = clock;
        _companies = Store.Add(BcSchemas.Company);
    }

    public ServiceStore Store { get; } = new();

    public EntityTable Companies => _companies;

    public Guid AddCompany(string name, string displayName)
    {
        lock (Store.Sync)
        {
            var id = Guid.NewGuid();
            var schema = BcSchemas.Company;
            var values = new object?[schema.Columns.Count];
            values[schema.KeyIndex] = id;
            values[schema.IndexOf("systemVersion")] = "27.0.38460.41";
            values[schema.IndexOf("name")] = name;
            values[schema.IndexOf("displayName")] = displayName;
            values[schema.IndexOf("businessProfileId")] = string.Empty;
            var now = JsonValues.Truncate(_clock.UtcNow, DateFormat.Milliseconds);
            values[schema.IndexOf("systemCreatedAt")] = now;
            values[schema.IndexOf("systemModifiedAt")] = now;
            values[schema.IndexOf("systemCreatedBy")] = Guid.Empty;
            values[schema.IndexOf("systemModifiedBy")] = Guid.Empty;
            _companies.Put(new Row(values, Store.NextVersion(), Guid.Empty));
            foreach (var entity in BcSchemas.CompanyEntities)
            {
                Store.Add(entity, Key(id, entity.EntitySet));
            }

            return id;
        }
    }

    public EntityTable Table(Guid company, string entitySet) =>
        Store.Table(Key(company, entitySet)) ?? throw new ArgumentException($"No {entitySet} in company {company}.");

    private static string Key(Guid company, string entitySet) => $"{company:N}/{entitySet}";

    public ServiceResponse Handle(ServiceRequest request)
    {
        ServiceResponse response;
        try
        {
            if (!request.Caller.BusinessCentralAccess)
            {
                throw new ServiceException(401, "Authentication_InvalidCredentials",
                    $"The server has rejected the client credentials. {request.Caller.DisplayName} is not a user or Microsoft Entra application of this environment.");
            }

            request.RefuseNotEmulatedPreferences(message => new ServiceException(400, "BadRequest_NotImplemented", message));
            if (request.Path.Trim('/') == "$batch")
            {
                // Not under the lock: each request of a $batch runs as if sent alone (Isolation: snapshot under one lock).
                // Over HTTP the service handles one request at a time (SandboxHost._handling), so other callers wait only
                // for the batch's own work, not its configured server time, which it spends after the handling.
                response = request.Method == "POST" ? ExecuteBatch(request) : throw MethodNotAllowed(request);
            }
            else
            {
                lock (Store.Sync)
                {
                    response = Route(request);
                }
            }
        }
        catch (ServiceException ex)
        {
            response = Error(ex);
        }

        response.Headers["OData-Version"] = "4.0";
        return response;
    }

    public static ServiceResponse Error(ServiceException ex)
    {
        var code = ex.Code == "BadRequest" ? "BadRequest" : ex.Code;
        var response = ServiceResponse.Json(ex.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", $"{ex.Message}  CorrelationId:  {Guid.NewGuid()}.");
            w.WriteEndObject();
            w.WriteEndObject();
        }, contentType: "application/json; charset=utf-8");
        if (ex.RetryAfter is { } retry)
        {
            response.Headers["Retry-After"] = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }

    private ServiceResponse Route(ServiceRequest request)
    {
        var path = request.Path.Trim('/');
        if (path == "$metadata")
        {
            return Metadata(request);
        }

        var match = PathPattern().Match(path);
        if (!match.Success)
        {
            throw new ServiceException(404, "BadRequest_NotFound", $"No HTTP resource was found that matches the request URI '{request.ServiceRoot}{path}'.");
        }

        if (!match.Groups["cid"].Success)
        {
            RequireGet(request);
            return Query(request, Guid.Empty, _companies, "companies");
        }

        var companyId = ParseId(match.Groups["cid"].Value, "company");
        if (_companies.Get(companyId) is null)
        {
            throw new ServiceException(404, "Internal_CompanyNotFound", $"Cannot process the request because the default company cannot be found. Company {companyId} does not exist.");
        }

        if (!match.Groups["set"].Success)
        {
            RequireGet(request);
            return Single(request, companyId, _companies, _companies.Get(companyId)!, $"companies/$entity", 200);
        }

        var set = match.Groups["set"].Value;
        var table = Store.Table(Key(companyId, set)) ?? throw (BcSchemas.DocumentedNotEmulated.Contains(set)
            ? new ServiceException(400, "BadRequest_NotFound", $"The sandbox does not emulate '{set}' of API v2.0: it serves {string.Join(", ", BcSchemas.Emulated)} (about_CrmSyncSandbox).")
            : new ServiceException(404, "BadRequest_NotFound", $"The entity set '{set}' does not exist in API v2.0."));
        var context = $"companies({companyId})/{set}";
        if (match.Groups["nav"].Value == "$count")
        {
            RequireGet(request);
            return match.Groups["id"].Success
                ? throw new ServiceException(400, "BadRequest", "$count addresses a collection, not one entity.")
                : Count(request, table);
        }

        if (!match.Groups["id"].Success)
        {
            return request.Method switch
            {
                "GET" => Query(request, companyId, table, context),
                "POST" when BcSchemas.Writable.Contains(set) => Create(request, companyId, table, context),
                _ => throw MethodNotAllowed(request),
            };
        }

        var id = ParseId(match.Groups["id"].Value, BcSchemas.Caption(table.Schema));
        var row = table.Get(id) ?? throw NotFound(table.Schema, id);
        if (match.Groups["nav"].Success)
        {
            RequireGet(request);
            return Navigate(request, companyId, table.Schema, row, $"{context}({id})", match.Groups["nav"].Value);
        }

        return request.Method switch
        {
            "GET" => Single(request, companyId, table, row, context + "/$entity", 200),
            "PATCH" when BcSchemas.Writable.Contains(set) => Update(request, companyId, table, row, context),
            "DELETE" when BcSchemas.Writable.Contains(set) => Delete(request, table, row),
            _ => throw MethodNotAllowed(request),
        };
    }

    // ---- Helpers --------------------------------------------------------------------------------

    private static Guid IdOf(Row row, EntitySchema schema) => (Guid)row.Values[schema.KeyIndex]!;

    private static Guid ParseId(string text, string what) =>
        Guid.TryParse(text.Trim('\''), out var id) ? id : throw new ServiceException(400, "BadRequest", $"'{text}' is not a valid {what} id (a GUID).");

    private static void RequireGet(ServiceRequest request)
    {
        if (request.Method != "GET")
        {
            throw MethodNotAllowed(request);
        }
    }

    private static ServiceException MethodNotAllowed(ServiceRequest request) =>
        new(405, "BadRequest_MethodNotAllowed", $"'{request.Method}' requests for '{request.Path}' are not allowed.");

    public static ServiceException NotFound(EntitySchema schema, Guid id) =>
        new(404, "Internal_RecordNotFound", $"The {BcSchemas.Caption(schema)} does not exist. Identification fields and values: Id='{id}'");

    [GeneratedRegex(@"^companies(\((?<cid>[^)]+)\))?(/(?<set>[A-Za-z]+)(\((?<id>[^)]+)\))?(/(?<nav>[A-Za-z]+|\$count))?)?$")]
    private static partial Regex PathPattern();
}
