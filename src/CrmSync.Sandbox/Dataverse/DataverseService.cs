using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>
/// The Dataverse Web API v9.2 emulator (docs/reference/integration.md §D): OData queries with server paging,
/// etags and conditional requests, create with client ids, PATCH upsert, delete, @odata.bind lookups,
/// role association, WhoAmI, bulk messages and multipart $batch; errors as {"error":{"code","message"}}.
/// </summary>
public sealed partial class DataverseService
{
    public const string ServiceName = "Dataverse";

    /// <summary>Standard tables page at most 5,000 rows (§D.2).</summary>
    public const int MaxPageSize = 5000;

    private readonly SandboxClock _clock;

    public DataverseService(SandboxClock clock)
    {
        _clock = clock;
        foreach (var schema in DataverseSchemas.Public)
        {
            Store.Add(schema);
        }

        Store.Add(DataverseSchemas.UserRole);
    }

    public ServiceStore Store { get; } = new();

    public Guid OrganizationId { get; set; } = Guid.NewGuid();

    /// <summary>Sent as x-ms-dop-hint on every response (§D.9).</summary>
    public int DegreeOfParallelismHint { get; set; } = 4;

    /// <summary>Privileges per role name; "*" grants everything (System Administrator).</summary>
    public Dictionary<string, HashSet<string>> RolePrivileges { get; } = new(StringComparer.OrdinalIgnoreCase);

    public EntityTable Table(string entitySet) => Store.Table(entitySet) ?? throw new ArgumentException($"No table {entitySet}.");

    /// <summary>The fault answer to one request inside a $batch outside change sets (method, url), or null to run it; set by the host.</summary>
    public Func<string, string, ServiceResponse?>? InnerFault { get; set; }

    public ServiceResponse Handle(ServiceRequest request)
    {
        ServiceResponse response;
        try
        {
            var batch = request.Path.Trim('/') == "$batch";
            ServiceResponse? routed = null;
            lock (Store.Sync)
            {
                var caller = ResolveCaller(request.Caller);
                request.RefuseNotEmulatedPreferences(message => new ServiceException(400, "0x80060888", message));
                if (batch)
                {
                    RequireMethod(request, "POST");
                }
                else
                {
                    routed = Route(request, caller);
                }
            }

            // A $batch runs outside the lock: each of its requests runs as if sent alone (a change set under one lock, all
            // or nothing). Over HTTP the service handles one request at a time (SandboxHost._handling), so other callers
            // wait only for the batch's own work, not its configured server time, which it spends after the handling.
            response = routed ?? DataverseBatch.Execute(this, request);
        }
        catch (ServiceException ex)
        {
            response = Error(ex);
        }

        response.Headers["x-ms-dop-hint"] = DegreeOfParallelismHint.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["OData-Version"] = "4.0";
        if (response.ContentType == "application/json; odata.metadata=minimal")
        {
            // Dataverse streams its JSON and says so.
            response.ContentType += "; odata.streaming=true";
        }
        return response;
    }

    public static ServiceResponse Error(ServiceException ex)
    {
        var code = ex.Code == "BadRequest" ? "0x80060888" : ex.Code;
        var response = ServiceResponse.Json(ex.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", ex.Message);
            w.WriteEndObject();
            w.WriteEndObject();
        }, contentType: "application/json; odata.metadata=minimal");
        if (ex.RetryAfter is { } retry)
        {
            response.Headers["Retry-After"] = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response;
    }

    private ServiceResponse Route(ServiceRequest request, Row caller)
    {
        var path = request.Path.Trim('/');
        if (path is "WhoAmI" or "WhoAmI()")
        {
            RequireMethod(request, "GET");
            return WhoAmI(request, caller);
        }

        var association = AssociationPattern().Match(path);
        if (association.Success)
        {
            return RoleAssociation(request, caller, Guid.Parse(association.Groups["user"].Value), association.Groups["role"].Success ? Guid.Parse(association.Groups["role"].Value) : null, association.Groups["ref"].Success);
        }

        var action = ActionPattern().Match(path);
        if (action.Success)
        {
            RequireMethod(request, "POST");
            return BulkMessage(request, caller, TableOf(action.Groups["set"].Value), action.Groups["action"].Value);
        }

        var count = CountPattern().Match(path);
        if (count.Success)
        {
            RequireMethod(request, "GET");
            return CountRows(request, caller, TableOf(count.Groups["set"].Value));
        }

        var reference = NavigationReferencePattern().Match(path);
        if (reference.Success)
        {
            var owner = TableOf(reference.Groups["set"].Value);
            return NavigationReference(request, caller, owner, ParseKey(owner, reference.Groups["key"].Value), reference.Groups["property"].Value);
        }

        var property = PropertyPattern().Match(path);
        if (property.Success)
        {
            var owner = TableOf(property.Groups["set"].Value);
            return SingleProperty(request, caller, owner, ParseKey(owner, property.Groups["key"].Value), property.Groups["property"].Value, property.Groups["value"].Success);
        }

        var entity = EntityPattern().Match(path);
        if (!entity.Success)
        {
            throw new ServiceException(404, "0x80060888", $"Resource not found for the segment '{path.Split('/')[0]}'.");
        }

        var table = TableOf(entity.Groups["set"].Value);
        if (!entity.Groups["key"].Success)
        {
            return request.Method switch
            {
                "GET" => Query(request, caller, table),
                "POST" => Create(request, caller, table),
                _ => throw MethodNotAllowed(request),
            };
        }

        var id = ParseKey(table, entity.Groups["key"].Value);
        return request.Method switch
        {
            "GET" => Retrieve(request, caller, table, id),
            "PATCH" => Update(request, caller, table, id),
            "DELETE" => Delete(request, caller, table, id),
            _ => throw MethodNotAllowed(request),
        };
    }

    // ---- Helpers --------------------------------------------------------------------------------

    // Tables and metadata of Dataverse that clients use and the sandbox does not have: refused by name rather than "not found".
    private static readonly HashSet<string> DocumentedNotEmulated = new(StringComparer.Ordinal)
    {
        "tasks", "activitypointers", "annotations", "savedqueries", "userqueries", "leads", "opportunities", "incidents", "EntityDefinitions",
        "RelationshipDefinitions", "GlobalOptionSetDefinitions", "RetrieveMetadataChanges", "sdkmessagefilters", "solutions", "workflows",
    };

    private EntityTable TableOf(string entitySet)
    {
        var table = Store.Table(entitySet);
        if (table is null && DocumentedNotEmulated.Contains(entitySet))
        {
            throw new ServiceException(404, "0x80060888", $"The sandbox does not emulate '{entitySet}': it has accounts, contacts, systemusers, roles, businessunits, teams, transactioncurrencies and organizations (about_CrmSyncSandbox).");
        }

        if (table is null || table.Schema == DataverseSchemas.UserRole)
        {
            throw new ServiceException(404, "0x80060888", $"Resource not found for the segment '{entitySet}'.");
        }

        return table;
    }

    private static Guid ParseKey(EntityTable table, string key)
    {
        if (Guid.TryParse(key, out var id))
        {
            return id;
        }

        throw new ServiceException(400, "0x80060888",
            $"The key '{key}' is not a {table.Schema.Key}: {table.Schema.LogicalName} has no alternate key defined (standard tables ship without alternate keys, §D.4).");
    }

    private static void RequireMethod(ServiceRequest request, string method)
    {
        if (request.Method != method)
        {
            throw MethodNotAllowed(request);
        }
    }

    private static ServiceException MethodNotAllowed(ServiceRequest request) =>
        new(405, "0x80060888", $"The HTTP method '{request.Method}' is not allowed on '{request.Path}'.");

    public static ServiceException NotFound(EntitySchema schema, Guid id) =>
        new(404, "0x80040217", $"{schema.LogicalName} With Id = {id} Does Not Exist");

    private static ServiceException Invalid(string message) => new(400, "0x80060888", message);

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)(\((?<key>[^)]*)\))?$")]
    private static partial Regex EntityPattern();

    [GeneratedRegex(@"Microsoft\.Dynamics\.CRM\.(?<name>[A-Za-z]+)\s*\(")]
    private static partial Regex QueryFunctionPattern();

    [GeneratedRegex(@"odata\.include-annotations\s*=\s*""?(?<list>[^""]*)""?", RegexOptions.IgnoreCase)]
    private static partial Regex IncludeAnnotationsPattern();

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)/\$count$")]
    private static partial Regex CountPattern();

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)\((?<key>[^)]*)\)/(?<property>[A-Za-z_][A-Za-z0-9_]*)(?<value>/\$value)?$")]
    private static partial Regex PropertyPattern();

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)\((?<key>[^)]*)\)/(?<property>[A-Za-z_][A-Za-z0-9_]*)/\$ref$")]
    private static partial Regex NavigationReferencePattern();

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)/Microsoft\.Dynamics\.CRM\.(?<action>[A-Za-z]+)$")]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^systemusers\((?<user>[0-9a-fA-F-]{36})\)/systemuserroles_association(\((?<role>[0-9a-fA-F-]{36})\))?(?<ref>/\$ref)?$")]
    private static partial Regex AssociationPattern();

    [GeneratedRegex(@"(?:^|/)(?<set>[A-Za-z_]+)\((?<id>[0-9a-fA-F-]{36})\)$")]
    internal static partial Regex ReferencePattern();
}
