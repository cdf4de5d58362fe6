using System.Text.Json;
using System.Text.RegularExpressions;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>
/// The Dataverse Web API v9.2 emulator (reference/domain.md §D): OData queries with server paging,
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
            lock (Store.Sync)
            {
                var caller = ResolveCaller(request.Caller);
                request.RefuseNotEmulatedPreferences(message => new ServiceException(501, "0x80060888", message));
                response = Route(request, caller);
            }
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

        if (path == "$batch")
        {
            RequireMethod(request, "POST");
            return DataverseBatch.Execute(this, request);
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

    // ---- Identity and privileges ----------------------------------------------------------------

    /// <summary>The caller's systemuser: application users by applicationid, users by Entra object id (§D.1).</summary>
    private Row ResolveCaller(SandboxIdentity identity)
    {
        var users = Table(DataverseSchemas.SystemUsers);
        var column = identity.Kind == IdentityKind.Application ? "applicationid" : "azureactivedirectoryobjectid";
        var value = identity.Kind == IdentityKind.Application ? identity.ClientId : identity.ObjectId;
        var user = value is null ? null : users.FindUnique(users.Schema.IndexOf(column), value.Value, except: null);
        if (user is null)
        {
            throw new ServiceException(403, "0x80072560", $"The user is not a member of the organization. (Identity {identity.DisplayName}, {identity.ObjectId}: add it as a user or application user of the environment.)");
        }

        if (user.Values[users.Schema.IndexOf("isdisabled")] is true)
        {
            throw new ServiceException(403, "0x8004001B", $"The user with SystemUserId={user.Values[users.Schema.KeyIndex]} is disabled. Enable the user or use another identity.");
        }

        return user;
    }

    private static Guid IdOf(Row row, EntitySchema schema) => (Guid)row.Values[schema.KeyIndex]!;

    /// <summary>Role names held by a user (roles are copies per business unit; their names are the same).</summary>
    public IReadOnlyList<Row> RolesOf(Guid systemUserId)
    {
        var links = Table(DataverseSchemas.UserRoles);
        var roles = Table(DataverseSchemas.Roles);
        var userIndex = links.Schema.IndexOf("systemuserid");
        var roleIndex = links.Schema.IndexOf("roleid");
        return links.Rows.Where(r => Equals(r.Values[userIndex], systemUserId))
            .Select(r => roles.Get((Guid)r.Values[roleIndex]!))
            .OfType<Row>()
            .ToList();
    }

    private void RequirePrivilege(Row caller, string operation, EntitySchema schema) =>
        RequirePrivilege(caller, $"prv{operation}{DataverseSchemas.PrivilegeName(schema)}", schema.LogicalName);

    private void RequirePrivilege(Row caller, string privilege, string entity)
    {
        var callerId = IdOf(caller, DataverseSchemas.SystemUser);
        var roles = RolesOf(callerId);
        var nameIndex = DataverseSchemas.Role.IndexOf("name");
        var granted = roles.Select(r => r.Values[nameIndex] as string)
            .Where(n => n is not null && RolePrivileges.ContainsKey(n))
            .SelectMany(n => RolePrivileges[n!]);
        if (granted.Any(p => p == "*" || string.Equals(p, privilege, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        throw new ServiceException(403, "0x80040220",
            $"Principal user (Id={callerId}, type=8, roleCount={roles.Count}, privilegeCount={granted.Count()}), is missing {privilege} privilege (Id={PrivilegeId(privilege)}) on OTC={ObjectTypeCode(entity)} for entity '{entity}'. Context: Method: {privilege[3..]}; Principal user: {callerId}.");
    }

    private static Guid PrivilegeId(string privilege)
    {
        var bytes = System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(privilege));
        return new Guid(bytes);
    }

    private static int ObjectTypeCode(string entity) => entity switch
    {
        "account" => 1,
        "contact" => 2,
        "systemuser" => 8,
        "businessunit" => 10,
        "transactioncurrency" => 9105,
        "role" => 1036,
        "organization" => 1019,
        "team" => 9,
        _ => 0,
    };

    // ---- Reads ----------------------------------------------------------------------------------

    private static readonly HashSet<string> SupportedOptions = new(StringComparer.Ordinal) { "$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$skip" };

    /// <summary>Documented query parameters the sandbox refuses by name (about_CrmSyncSandbox lists them; a test keeps the two equal).</summary>
    internal static IReadOnlyCollection<string> RefusedQueryParameters => NotEmulated.Keys;

    /// <summary>Documented tables and metadata the sandbox refuses by name (listed in about_CrmSyncSandbox too).</summary>
    internal static IReadOnlyCollection<string> RefusedTables => DocumentedNotEmulated;

    // Documented, not emulated: refused by name, so no client mistakes the sandbox's answer for Dataverse's.
    private static readonly Dictionary<string, string> NotEmulated = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fetchXml"] = "FetchXML queries", ["savedQuery"] = "saved views (savedQuery)", ["userQuery"] = "personal views (userQuery)",
    };

    private static ServiceException Unsupported(string key) =>
        NotEmulated.TryGetValue(key, out var what)
            ? new ServiceException(501, "0x80060888", $"The sandbox does not emulate {what}: the query parameter {key} is not supported. Use $select, $filter, $orderby and $top (about_CrmSyncSandbox).")
            : key.StartsWith('@')
                ? new ServiceException(400, "0x80060888", $"The sandbox does not emulate parameter aliases ({key}): write the value into $filter or $orderby.")
                : key is "$expand" or "$apply"
                    ? new ServiceException(400, "0x80060888", $"The sandbox does not emulate {key}; query the related table separately.")
                    : new ServiceException(400, "0x80060888", $"The query parameter {key} is not supported.");

    /// <summary>The query options of a request that addresses one record: only $select applies.</summary>
    private static QueryOptions ParseRecordOptions(ServiceRequest request) => QueryOptions.Parse(request.Query, RecordOptions, Unsupported);

    private static readonly HashSet<string> RecordOptions = new(StringComparer.Ordinal) { "$select" };

    /// <summary>A collection-valued navigation property (systemuserroles_association): filtered, ordered and cut like a query, not paged.</summary>
    private static readonly HashSet<string> NavigationOptions = new(StringComparer.Ordinal) { "$select", "$filter", "$orderby", "$top" };

    private static readonly IComparer<object?> ValueOrder = Comparer<object?>.Create(ValueComparer.Compare);

    private QueryOptions ParseOptions(ServiceRequest request)
    {
        var options = QueryOptions.Parse(request.Query, SupportedOptions, Unsupported);
        if (options.Skip is not null)
        {
            throw new ServiceException(400, "0x80060888", "The query parameter $skip is not supported. Use server-driven paging: follow @odata.nextLink.");
        }

        if (options.Filter is not null && QueryFunctionPattern().Match(options.Filter) is { Success: true } function)
        {
            throw new ServiceException(501, "0x80060888", $"The sandbox does not emulate the query function Microsoft.Dynamics.CRM.{function.Groups["name"].Value}: compare the column with a literal (e.g. modifiedon ge 2026-01-01T00:00:00Z) instead.");
        }

        return options;
    }

    private ServiceResponse Query(ServiceRequest request, Row caller, EntityTable table)
    {
        RequirePrivilege(caller, "Read", table.Schema);
        var options = ParseOptions(request);
        var compiler = Compiler(table.Schema);
        var select = SelectColumns(table.Schema, options.Select, compiler);
        var preferred = request.PreferredMaxPageSize();
        int pageSize;
        if (preferred is { } size)
        {
            // $top is ignored when odata.maxpagesize is used (§D.2).
            pageSize = Math.Min(size, MaxPageSize);
            options = options with { Top = null };
        }
        else
        {
            pageSize = Math.Min(options.Top ?? MaxPageSize, MaxPageSize);
        }

        var page = QueryRunner.Run(table, options, pageSize, compiler);
        var nextToken = options.Top is not null && preferred is null ? null : page.NextSkipToken;
        var annotations = AnnotationsOf(request);
        var response = ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{table.Schema.EntitySet}" + (options.Select is null ? string.Empty : $"({string.Join(',', options.Select)})"));
            if (page.TotalCount is { } total)
            {
                // @odata.count is capped at 5,000 (§D.2).
                w.WriteNumber("@odata.count", Math.Min(total, MaxCount));
            }

            if (annotations.HasFlag(Annotations.TotalCount))
            {
                // webapi/query/count-rows: the same capped count and whether the cap was hit; -1 when $count=true was not asked.
                w.WriteNumber("@Microsoft.Dynamics.CRM.totalrecordcount", page.TotalCount is { } counted ? Math.Min(counted, MaxCount) : -1);
                w.WriteBoolean("@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded", page.TotalCount > MaxCount);
            }

            w.WriteStartArray("value");
            foreach (var row in page.Rows)
            {
                WriteRow(w, table.Schema, row, select, annotations);
            }

            w.WriteEndArray();
            if (nextToken is not null)
            {
                var query = request.QueryString;
                w.WriteString("@odata.nextLink", $"{request.ServiceRoot}{table.Schema.EntitySet}?{(query.Length > 0 ? query + "&" : string.Empty)}$skiptoken={Uri.EscapeDataString(nextToken)}");
            }

            w.WriteEndObject();
        }, page.Rows.Count);
        if (preferred is not null)
        {
            response.Headers["Preference-Applied"] = $"odata.maxpagesize={pageSize}";
        }

        return response;
    }

    private ServiceResponse Retrieve(ServiceRequest request, Row caller, EntityTable table, Guid id)
    {
        RequirePrivilege(caller, "Read", table.Schema);
        var options = ParseRecordOptions(request);
        var row = table.Get(id) ?? throw NotFound(table.Schema, id);
        var ifNoneMatch = request.Header("If-None-Match");
        if (ifNoneMatch is not null && ifNoneMatch != "null" && ifNoneMatch == ETag(row))
        {
            return ServiceResponse.Empty(304).With("ETag", ETag(row));
        }

        var select = SelectColumns(table.Schema, options.Select, Compiler(table.Schema));
        return Representation(request, table.Schema, row, select, 200);
    }

    private ServiceResponse Representation(ServiceRequest request, EntitySchema schema, Row row, IReadOnlyList<int>? select, int status)
    {
        var annotations = AnnotationsOf(request);
        var selected = request.Query.FirstOrDefault(q => q.Key == "$select").Value is { Length: > 0 } list ? $"({list})" : string.Empty;
        return ServiceResponse.Json(status, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{schema.EntitySet}{selected}/$entity");
            WriteRowBody(w, schema, row, select, annotations);
            w.WriteEndObject();
        }, 1).With("ETag", ETag(row));
    }

    private IReadOnlyList<int>? SelectColumns(EntitySchema schema, IReadOnlyList<string>? select, FilterCompiler compiler)
    {
        if (select is null)
        {
            return null;
        }

        var columns = new List<int> { schema.KeyIndex };
        foreach (var name in select)
        {
            compiler.Resolve(name);
            var column = name.StartsWith('_') && name.EndsWith("_value", StringComparison.Ordinal) ? name[1..^6] : name;
            var index = schema.IndexOf(column);
            if (!columns.Contains(index))
            {
                columns.Add(index);
            }
        }

        return columns;
    }

    private void WriteRow(Utf8JsonWriter w, EntitySchema schema, Row row, IReadOnlyList<int>? select, Annotations annotations)
    {
        w.WriteStartObject();
        WriteRowBody(w, schema, row, select, annotations);
        w.WriteEndObject();
    }

    private void WriteRowBody(Utf8JsonWriter w, EntitySchema schema, Row row, IReadOnlyList<int>? select, Annotations annotations)
    {
        w.WriteString("@odata.etag", ETag(row));
        var indexes = select ?? Enumerable.Range(0, schema.Columns.Count).ToList();
        foreach (var index in indexes)
        {
            var column = schema.Columns[index];
            if (column.WriteOnly)
            {
                continue;
            }

            var value = row.Values[index];
            if (column.Type == ColumnType.Lookup)
            {
                var name = $"_{column.Name}_value";
                if (value is LookupValue lookup)
                {
                    if (annotations.HasFlag(Annotations.Formatted) && PrimaryNameOf(lookup) is { } display)
                    {
                        w.WriteString(name + FormattedValue, display);
                    }

                    if (annotations.HasFlag(Annotations.Lookup))
                    {
                        w.WriteString(name + "@Microsoft.Dynamics.CRM.associatednavigationproperty", column.Navigation!.First(n => n.Value == lookup.EntitySet).Key);
                        w.WriteString(name + "@Microsoft.Dynamics.CRM.lookuplogicalname", LogicalNameOf(lookup.EntitySet));
                    }
                }

                JsonValues.Write(w, name, value, DateFormat.Seconds);
            }
            else if (column.Name == "versionnumber")
            {
                w.WriteString(column.Name, row.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                if (annotations.HasFlag(Annotations.Formatted) && value is not null && FormattedValueOf(schema, row, column, value) is { } formatted)
                {
                    w.WriteString(column.Name + FormattedValue, formatted);
                }

                JsonValues.Write(w, column.Name, DataverseSchemas.Stored(column, value), DateFormat.Seconds);
            }
        }
    }

    // ---- Annotations (webapi/query/select-columns: formatted values; lookup properties) --------------------

    private const string FormattedValue = "@OData.Community.Display.V1.FormattedValue";

    [Flags]
    private enum Annotations
    {
        None = 0,
        Formatted = 1,
        Lookup = 2,
        /// <summary>Microsoft.Dynamics.CRM.totalrecordcount and totalrecordcountlimitexceeded on a collection.</summary>
        TotalCount = 4,
    }

    // Prefer: odata.include-annotations="*" asks for all; a list names them (OData.Community.Display.V1.FormattedValue,
    // Microsoft.Dynamics.CRM.lookuplogicalname, Microsoft.Dynamics.CRM.associatednavigationproperty, or a namespace with *).
    private static Annotations AnnotationsOf(ServiceRequest request)
    {
        var prefer = request.Header("Prefer");
        var match = prefer is null ? Match.Empty : IncludeAnnotationsPattern().Match(prefer);
        if (!match.Success)
        {
            return Annotations.None;
        }

        var result = Annotations.None;
        foreach (var name in match.Groups["list"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            result |= name switch
            {
                "*" => Annotations.Formatted | Annotations.Lookup | Annotations.TotalCount,
                "OData.Community.Display.V1.FormattedValue" or "OData.Community.Display.V1.*" or "OData.*" => Annotations.Formatted,
                "Microsoft.Dynamics.CRM.lookuplogicalname" or "Microsoft.Dynamics.CRM.associatednavigationproperty" => Annotations.Lookup,
                "Microsoft.Dynamics.CRM.totalrecordcount" or "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded" => Annotations.TotalCount,
                "Microsoft.Dynamics.CRM.*" => Annotations.Lookup | Annotations.TotalCount,
                _ => Annotations.None,
            };
        }

        return result;
    }

    /// <summary>A lookup's formatted value: the primary name of the row it points to.</summary>
    private string? PrimaryNameOf(LookupValue lookup)
    {
        var table = Store.Table(lookup.EntitySet);
        var row = table?.Get(lookup.Id);
        var column = table is null ? -1 : PrimaryNameColumn(table.Schema);
        return row is null || column < 0 ? null : row.Values[column] as string;
    }

    private static int PrimaryNameColumn(EntitySchema schema) =>
        new[] { "name", "fullname", "currencyname" }.Select(schema.IndexOf).FirstOrDefault(i => i >= 0, -1);

    // Formatted as a user with the default settings sees them (English, United States; UTC): choices by their label,
    // money with the row's currency symbol, whole numbers with separators, dates as M/d/yyyy h:mm tt.
    private string? FormattedValueOf(EntitySchema schema, Row row, Column column, object value)
    {
        var us = System.Globalization.CultureInfo.GetCultureInfo("en-US");
        switch (value)
        {
            case bool b:
                return b ? "Yes" : "No";
            case DateTimeOffset date:
                return date.UtcDateTime.ToString("M/d/yyyy h:mm tt", us);
            case decimal amount when DataverseSchemas.MoneyColumns.Contains(column.Name):
                var currency = schema.IndexOf("transactioncurrencyid") is var c and >= 0 && row.Values[c] is LookupValue lookup
                    ? Store.Table(DataverseSchemas.Currencies)?.Get(lookup.Id)
                    : null;
                var symbol = currency?.Values[DataverseSchemas.TransactionCurrency.IndexOf("currencysymbol")] as string ?? "$";
                return symbol + amount.ToString("N2", us);
            case decimal number:
                return number.ToString("N10", us);
            case long or int when DataverseSchemas.ChoiceLabels.TryGetValue(column.Name, out var labels):
                return labels.TryGetValue(Convert.ToInt32(value, us), out var label) ? label : null;
            case long or int:
                return Convert.ToInt64(value, us).ToString("N0", us);
            default:
                return null;
        }
    }

    private static string LogicalNameOf(string entitySet) =>
        DataverseSchemas.Public.FirstOrDefault(s => s.EntitySet == entitySet)?.LogicalName ?? entitySet;

    public static string ETag(Row row) => $"W/\"{row.Version}\"";

    /// <summary>Dataverse addresses lookups only as _&lt;name&gt;_value in $select/$filter/$orderby.</summary>
    public static FilterCompiler Compiler(EntitySchema schema) => new(path =>
    {
        if (path.StartsWith('_') && path.EndsWith("_value", StringComparison.Ordinal))
        {
            var lookup = schema.IndexOf(path[1..^6]);
            return lookup >= 0 && schema.Columns[lookup].Type == ColumnType.Lookup
                ? new PropertyAccess(row => (row.Values[lookup] as LookupValue)?.Id, ColumnType.Guid)
                : null;
        }

        var index = schema.IndexOf(path);
        if (index < 0 || schema.Columns[index].Type == ColumnType.Lookup || schema.Columns[index].WriteOnly)
        {
            return null;
        }

        return new PropertyAccess(row => row.Values[index], schema.Columns[index].Type);
    }, path => $"Could not find a property named '{path}' on type 'Microsoft.Dynamics.CRM.{schema.LogicalName}'.");

    // ---- Writes ---------------------------------------------------------------------------------

    private ServiceResponse Create(ServiceRequest request, Row caller, EntityTable table)
    {
        RequirePrivilege(caller, "Create", table.Schema);
        var body = request.ReadJsonObject(Invalid);
        var row = CreateRow(table, body, IdOf(caller, DataverseSchemas.SystemUser), idFromUrl: null);
        return Written(request, table.Schema, row, created: true);
    }

    private ServiceResponse Written(ServiceRequest request, EntitySchema schema, Row row, bool created)
    {
        if (request.Prefers("return=representation"))
        {
            var options = ParseRecordOptions(request);
            var select = SelectColumns(schema, options.Select, Compiler(schema));
            return Representation(request, schema, row, select, created ? 201 : 200);
        }

        return ServiceResponse.Empty(204, 1).With("OData-EntityId", $"{request.ServiceRoot}{schema.EntitySet}({IdOf(row, schema)})");
    }

    private ServiceResponse Update(ServiceRequest request, Row caller, EntityTable table, Guid id)
    {
        var body = request.ReadJsonObject(Invalid);
        var existing = table.Get(id);
        var ifMatch = request.Header("If-Match");
        var ifNoneMatch = request.Header("If-None-Match");
        if (existing is null)
        {
            if (ifMatch is not null)
            {
                // If-Match prevents the upsert from creating (§D.5).
                throw NotFound(table.Schema, id);
            }

            RequirePrivilege(caller, "Create", table.Schema);
            var created = CreateRow(table, body, IdOf(caller, DataverseSchemas.SystemUser), id);
            return Written(request, table.Schema, created, created: true);
        }

        if (ifNoneMatch == "*")
        {
            throw new ServiceException(412, "0x80040237", "A record with matching key values already exists.");
        }

        CheckIfMatch(ifMatch, existing);
        RequirePrivilege(caller, "Write", table.Schema);
        var row = UpdateRow(table, existing, body, IdOf(caller, DataverseSchemas.SystemUser));
        return Written(request, table.Schema, row, created: false);
    }

    // ---- Counting and single properties (webapi/query/count-rows, webapi/update-delete-entities-using-web-api) ----------

    /// <summary>GET set/$count: the number of rows as plain text, at most 5,000 (Dataverse's limit for this count).</summary>
    private ServiceResponse CountRows(ServiceRequest request, Row caller, EntityTable table)
    {
        RequirePrivilege(caller, "Read", table.Schema);
        if (request.Query.Count > 0)
        {
            throw Unsupported(request.Query[0].Key);
        }

        var rows = Math.Min(table.Rows.Count(), MaxCount);
        return new ServiceResponse
        {
            Status = 200,
            Body = System.Text.Encoding.UTF8.GetBytes(rows.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ContentType = "text/plain",
        };
    }

    private const int MaxCount = 5000;

    /// <summary>
    /// One column of one row: GET (JSON "value", or the raw value with /$value), PUT {"value": …} and DELETE (sets it to
    /// null). Lookups and collection-valued navigation properties are not emulated and say so.
    /// </summary>
    private ServiceResponse SingleProperty(ServiceRequest request, Row caller, EntityTable table, Guid id, string property, bool rawValue)
    {
        var schema = table.Schema;
        var index = schema.IndexOf(property);
        if (index < 0)
        {
            throw schema.Columns.Any(c => c.Type == ColumnType.Lookup && c.Navigation?.ContainsKey(property) == true) || property.Contains('_', StringComparison.Ordinal)
                ? new ServiceException(501, "0x80060888", $"The sandbox does not emulate the navigation property '{property}' of {schema.LogicalName}: query the related table with $filter on its lookup column instead (about_CrmSyncSandbox).")
                : new ServiceException(400, "0x80060888", $"Could not find a property named '{property}' on type 'Microsoft.Dynamics.CRM.{schema.LogicalName}'.");
        }

        var column = schema.Columns[index];
        if (column.Type == ColumnType.Lookup || column.WriteOnly || index == schema.KeyIndex)
        {
            throw new ServiceException(column.Type == ColumnType.Lookup ? 501 : 400, "0x80060888", column.Type == ColumnType.Lookup
                ? $"The sandbox does not emulate the single-valued navigation property '{property}': read _{property}_value with $select, or set it with @odata.bind."
                : $"The property '{property}' of {schema.LogicalName} cannot be addressed on its own.");
        }

        if (request.Query.Count > 0)
        {
            throw Unsupported(request.Query[0].Key);
        }

        var row = table.Get(id) ?? throw NotFound(schema, id);
        switch (request.Method)
        {
            case "GET":
                RequirePrivilege(caller, "Read", schema);
                var value = row.Values[index];
                if (rawValue)
                {
                    return value is null
                        ? ServiceResponse.Empty(204, 1)
                        : new ServiceResponse { Status = 200, Body = System.Text.Encoding.UTF8.GetBytes(RawText(DataverseSchemas.Stored(column, value)!)), ContentType = "text/plain", Records = 1 };
                }

                return ServiceResponse.Json(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{schema.EntitySet}({id})/{property}");
                    JsonValues.Write(w, "value", DataverseSchemas.Stored(column, value), DateFormat.Seconds);
                    w.WriteEndObject();
                }, 1);
            case "PUT" when !rawValue:
                var body = request.ReadJsonObject(Invalid);
                if (!body.TryGetProperty("value", out var newValue) || body.EnumerateObject().Count() != 1)
                {
                    throw new ServiceException(400, "0x80060888", $"The body of a PUT to {schema.EntitySet}({id})/{property} is {{\"value\": …}}.");
                }

                return SetProperty(request, caller, table, row, property, newValue);
            case "DELETE" when !rawValue:
                return SetProperty(request, caller, table, row, property, null);

            default:
                throw MethodNotAllowed(request);
        }
    }

    // The same update a PATCH of {"<property>": value} makes (null clears it).
    private ServiceResponse SetProperty(ServiceRequest request, Row caller, EntityTable table, Row existing, string property, JsonElement? value)
    {
        CheckIfMatch(request.Header("If-Match"), existing);
        RequirePrivilege(caller, "Write", table.Schema);
        var body = JsonSerializer.SerializeToElement(new Dictionary<string, JsonElement?> { [property] = value });
        UpdateRow(table, existing, body, IdOf(caller, DataverseSchemas.SystemUser));
        return ServiceResponse.Empty(204, 1);
    }

    private static string RawText(object value) => value switch
    {
        bool b => b ? "true" : "false",
        DateTimeOffset d => JsonValues.FormatDate(d, DateFormat.Seconds),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private ServiceResponse Delete(ServiceRequest request, Row caller, EntityTable table, Guid id)
    {
        var existing = table.Get(id) ?? throw NotFound(table.Schema, id);
        CheckIfMatch(request.Header("If-Match"), existing);
        RequirePrivilege(caller, "Delete", table.Schema);
        table.Remove(id);
        return ServiceResponse.Empty(204, 1);
    }

    private static void CheckIfMatch(string? ifMatch, Row existing)
    {
        if (ifMatch is not null && ifMatch != "*" && ifMatch != ETag(existing))
        {
            throw new ServiceException(412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
        }
    }

    /// <summary>Creates a row from a JSON body; the id comes from the URL, the body's key, or is generated.</summary>
    internal Row CreateRow(EntityTable table, JsonElement body, Guid callerId, Guid? idFromUrl)
    {
        var schema = table.Schema;
        var values = new object?[schema.Columns.Count];
        SetIfColumn(schema, values, "statecode", 0L);
        SetIfColumn(schema, values, "statuscode", 1L);
        if (schema.IndexOf("ownerid") >= 0)
        {
            values[schema.IndexOf("ownerid")] = new LookupValue(callerId, DataverseSchemas.SystemUsers);
        }

        ApplyBody(schema, values, body);
        var bodyId = values[schema.KeyIndex] as Guid?;
        if (idFromUrl is { } urlId && bodyId is { } other && other != urlId)
        {
            throw new ServiceException(400, "0x80040203", $"The key in the URL ({urlId}) and the {schema.Key} in the body ({other}) differ.");
        }

        var id = idFromUrl ?? bodyId ?? Guid.NewGuid();
        values[schema.KeyIndex] = id;
        if (table.Get(id) is not null)
        {
            throw new ServiceException(412, "0x80040237", "A record with matching key values already exists.");
        }

        foreach (var required in schema.RequiredOnCreate)
        {
            if (values[schema.IndexOf(required)] is null)
            {
                throw new ServiceException(400, "0x80040203", $"Attribute '{required}' must be specified when creating a {schema.LogicalName}.");
            }
        }

        return Commit(table, values, callerId, existing: null);
    }

    internal Row UpdateRow(EntityTable table, Row existing, JsonElement body, Guid callerId)
    {
        var schema = table.Schema;
        var values = (object?[])existing.Values.Clone();
        var id = values[schema.KeyIndex];
        ApplyBody(schema, values, body);
        if (!Equals(values[schema.KeyIndex], id))
        {
            throw new ServiceException(400, "0x80040203", $"The {schema.Key} of an existing {schema.LogicalName} cannot be changed.");
        }

        return Commit(table, values, callerId, existing);
    }

    private Row Commit(EntityTable table, object?[] values, Guid callerId, Row? existing)
    {
        var schema = table.Schema;
        var id = (Guid)values[schema.KeyIndex]!;
        foreach (var unique in schema.UniqueColumns)
        {
            var index = schema.IndexOf(unique);
            if (values[index] is not null && table.FindUnique(index, values[index], id) is not null)
            {
                throw new ServiceException(412, "0x80040237", $"A record with matching key values already exists: another {schema.LogicalName} has {unique} = {values[index]}.");
            }
        }

        ComputeNames(schema, values);
        var now = JsonValues.Truncate(_clock.UtcNow, DateFormat.Seconds);
        var caller = new LookupValue(callerId, DataverseSchemas.SystemUsers);
        if (existing is null)
        {
            values[schema.IndexOf("createdon")] = now;
            values[schema.IndexOf("createdby")] = caller;
        }

        values[schema.IndexOf("modifiedon")] = now;
        values[schema.IndexOf("modifiedby")] = caller;
        var row = new Row(values, Store.NextVersion(), callerId);
        table.Put(row);
        return row;
    }

    internal static void ComputeNames(EntitySchema schema, object?[] values)
    {
        var fullname = schema.IndexOf("fullname");
        if (fullname >= 0)
        {
            var parts = new[] { "firstname", "lastname" }.Select(c => values[schema.IndexOf(c)] as string).Where(p => !string.IsNullOrWhiteSpace(p));
            values[fullname] = string.Join(' ', parts);
        }
    }

    private static void SetIfColumn(EntitySchema schema, object?[] values, string column, object value)
    {
        var index = schema.IndexOf(column);
        if (index >= 0)
        {
            values[index] = value;
        }
    }

    private void ApplyBody(EntitySchema schema, object?[] values, JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            var name = property.Name;
            if (name.StartsWith('@'))
            {
                if (name == "@odata.type" && property.Value.GetString() is { } type && type != $"Microsoft.Dynamics.CRM.{schema.LogicalName}")
                {
                    throw new ServiceException(400, "0x80060888", $"The @odata.type '{type}' does not match the entity set {schema.EntitySet} (Microsoft.Dynamics.CRM.{schema.LogicalName}).");
                }

                continue;
            }

            if (name.EndsWith("@odata.bind", StringComparison.Ordinal))
            {
                Bind(schema, values, name[..^"@odata.bind".Length], property.Value);
                continue;
            }

            if (name.Contains('@'))
            {
                continue;
            }

            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                // Related rows nested in the body (single-valued or collection-valued navigation properties).
                throw new ServiceException(501, "0x80060888", $"The sandbox does not emulate deep insert or update ('{name}' holds related rows): create the related rows on their own and link them with \"<navigation property>@odata.bind\".");
            }

            var column = schema.Find(name);
            if (column is null || column.Type == ColumnType.Lookup)
            {
                throw new ServiceException(400, "0x80060888", $"Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{schema.LogicalName}'." +
                    (column?.Type == ColumnType.Lookup ? $" Set lookups with \"{column.Navigation!.Keys.First()}@odata.bind\": \"/{column.Navigation!.Values.First()}(<id>)\"." : string.Empty));
            }

            if (column.ReadOnly)
            {
                continue;
            }

            try
            {
                values[schema.IndexOf(name)] = DataverseSchemas.Stored(column, JsonValues.Read(column, property.Value));
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, "0x80040203", $"Invalid value for '{name}' of {schema.LogicalName}: {ex.Message}");
            }
        }
    }

    private void Bind(EntitySchema schema, object?[] values, string navigation, JsonElement value)
    {
        var target = schema.FindNavigation(navigation) ?? throw new ServiceException(400, "0x80060888",
            $"An undeclared property '{navigation}' which only has property annotations in the payload but no property value was found in the payload. Navigation properties of {schema.LogicalName}: {string.Join(", ", schema.Columns.Where(c => c.Navigation is not null).SelectMany(c => c.Navigation!.Keys))}.");
        var index = schema.IndexOf(target.Column.Name);
        if (value.ValueKind == JsonValueKind.Null)
        {
            values[index] = null;
            return;
        }

        var reference = value.ValueKind == JsonValueKind.String ? ReferencePattern().Match(value.GetString()!) : Match.Empty;
        if (!reference.Success)
        {
            throw new ServiceException(400, "0x80060888", $"The value of '{navigation}@odata.bind' must be an entity reference such as \"/{target.EntitySet}(00000000-0000-0000-0000-000000000000)\".");
        }

        var set = reference.Groups["set"].Value;
        var id = Guid.Parse(reference.Groups["id"].Value);
        if (!string.Equals(set, target.EntitySet, StringComparison.Ordinal))
        {
            throw new ServiceException(400, "0x80060888", $"'{navigation}' refers to {target.EntitySet}, not {set}.");
        }

        var referenced = TableOf(set);
        if (referenced.Get(id) is null)
        {
            throw NotFound(referenced.Schema, id);
        }

        values[index] = new LookupValue(id, set);
    }

    // ---- Role association (§D.8) ----------------------------------------------------------------

    private ServiceResponse RoleAssociation(ServiceRequest request, Row caller, Guid userId, Guid? roleInPath, bool isRef)
    {
        var users = Table(DataverseSchemas.SystemUsers);
        var roles = Table(DataverseSchemas.Roles);
        var links = Table(DataverseSchemas.UserRoles);
        var user = users.Get(userId) ?? throw NotFound(users.Schema, userId);
        if (request.Method == "GET" && !isRef && roleInPath is null)
        {
            RequirePrivilege(caller, "Read", roles.Schema);
            var options = QueryOptions.Parse(request.Query, NavigationOptions, Unsupported);
            var compiler = Compiler(roles.Schema);
            var select = SelectColumns(roles.Schema, options.Select, compiler);
            var held = RolesOf(userId).Where(QueryRunner.Predicate(options.Filter, compiler));

            foreach (var (column, descending) in options.OrderBy.Reverse())
            {
                var get = compiler.Resolve(column).Get;
                held = descending ? held.OrderByDescending(get, ValueOrder) : held.OrderBy(get, ValueOrder);
            }

            held = options.Top is { } top ? held.Take(top) : held;
            var heldRows = held.ToList();
            return ServiceResponse.Json(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#roles");
                w.WriteStartArray("value");
                foreach (var role in heldRows)
                {
                    WriteRow(w, roles.Schema, role, select, Annotations.None);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }, heldRows.Count);
        }

        RequirePrivilege(caller, "prvAssignRole", "role");
        if (request.Method == "POST" && isRef && roleInPath is null)
        {
            var body = request.ReadJsonObject(Invalid);
            var reference = body.TryGetProperty("@odata.id", out var odataId) && odataId.ValueKind == JsonValueKind.String ? ReferencePattern().Match(odataId.GetString()!) : Match.Empty;
            if (!reference.Success || reference.Groups["set"].Value != DataverseSchemas.Roles)
            {
                throw new ServiceException(400, "0x80060888", "The body must be {\"@odata.id\": \"<environment>/api/data/v9.2/roles(<roleid>)\"}.");
            }

            var roleId = Guid.Parse(reference.Groups["id"].Value);
            var role = roles.Get(roleId) ?? throw NotFound(roles.Schema, roleId);
            var userUnit = (user.Values[users.Schema.IndexOf("businessunitid")] as LookupValue)?.Id;
            var roleUnit = (role.Values[roles.Schema.IndexOf("businessunitid")] as LookupValue)?.Id;
            if (userUnit != roleUnit)
            {
                throw new ServiceException(400, "0x80040203",
                    $"The role '{role.Values[roles.Schema.IndexOf("name")]}' ({roleId}) belongs to business unit {roleUnit}, but the user {userId} belongs to business unit {userUnit}. Roles are copied per business unit: assign the copy of the user's business unit.");
            }

            var linkId = LinkId(userId, roleId);
            if (links.Get(linkId) is null)
            {
                links.Put(new Row(new object?[] { linkId, userId, roleId }, Store.NextVersion(), IdOf(caller, DataverseSchemas.SystemUser)));
            }

            return ServiceResponse.Empty(204, 1);
        }

        if (request.Method == "DELETE" && isRef && roleInPath is { } removeId)
        {
            if (!links.Remove(LinkId(userId, removeId)))
            {
                throw new ServiceException(404, "0x80040217", $"The user {userId} does not hold the role {removeId}.");
            }

            return ServiceResponse.Empty(204, 1);
        }

        throw MethodNotAllowed(request);
    }

    /// <summary>Associates a role directly (seeding).</summary>
    public void AssignRole(Guid userId, Guid roleId)
    {
        lock (Store.Sync)
        {
            var links = Table(DataverseSchemas.UserRoles);
            var id = LinkId(userId, roleId);
            if (links.Get(id) is null)
            {
                links.Put(new Row(new object?[] { id, userId, roleId }, Store.NextVersion(), Guid.Empty));
            }
        }
    }

    private static Guid LinkId(Guid userId, Guid roleId)
    {
        var a = userId.ToByteArray();
        var b = roleId.ToByteArray();
        for (var i = 0; i < 16; i++)
        {
            a[i] ^= (byte)(b[(i + 5) % 16] + i);
        }

        return new Guid(a);
    }

    // ---- WhoAmI and bulk messages ---------------------------------------------------------------

    private ServiceResponse WhoAmI(ServiceRequest request, Row caller)
    {
        var schema = DataverseSchemas.SystemUser;
        return ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse");
            w.WriteString("BusinessUnitId", ((caller.Values[schema.IndexOf("businessunitid")] as LookupValue)?.Id ?? Guid.Empty).ToString());
            w.WriteString("UserId", IdOf(caller, schema).ToString());
            w.WriteString("OrganizationId", OrganizationId.ToString());
            w.WriteEndObject();
        });
    }

    private ServiceResponse BulkMessage(ServiceRequest request, Row caller, EntityTable table, string action)
    {
        if (action is not ("CreateMultiple" or "UpdateMultiple" or "UpsertMultiple"))
        {
            throw new ServiceException(404, "0x80060888", $"Resource not found for the segment 'Microsoft.Dynamics.CRM.{action}'.");
        }

        if (!DataverseSchemas.BulkCapable.Contains(table.Schema.EntitySet))
        {
            throw new ServiceException(400, "0x80040203", $"The '{action}' message is not enabled for the '{table.Schema.LogicalName}' table. Use $batch instead.");
        }

        var body = request.ReadJsonObject(Invalid);
        if (!body.TryGetProperty("Targets", out var targets) || targets.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "0x80060888", $"The '{action}' request needs a \"Targets\" array of {table.Schema.LogicalName} records.");
        }

        var callerId = IdOf(caller, DataverseSchemas.SystemUser);
        var schema = table.Schema;
        // Standard tables: one failing record rolls back the whole request (§D.7).
        var ids = Store.Atomic(() =>
        {
            var written = new List<Guid>();
            foreach (var target in targets.EnumerateArray())
            {
                if (target.ValueKind != JsonValueKind.Object)
                {
                    throw new ServiceException(400, "0x80060888", "Each target must be a JSON object.");
                }

                var id = TargetId(schema, target);
                var existing = id is null ? null : table.Get(id.Value);
                Row row;
                switch (action)
                {
                    case "CreateMultiple":
                        RequirePrivilege(caller, "Create", schema);
                        row = CreateRow(table, target, callerId, null);
                        break;
                    case "UpdateMultiple":
                        if (id is null)
                        {
                            throw new ServiceException(400, "0x80040203", $"UpdateMultiple needs the {schema.Key} (or @odata.id) of every target.");
                        }

                        RequirePrivilege(caller, "Write", schema);
                        row = UpdateRow(table, existing ?? throw NotFound(schema, id.Value), target, callerId);
                        break;
                    default:
                        if (existing is null)
                        {
                            RequirePrivilege(caller, "Create", schema);
                            row = CreateRow(table, target, callerId, id);
                        }
                        else
                        {
                            RequirePrivilege(caller, "Write", schema);
                            row = UpdateRow(table, existing, target, callerId);
                        }

                        break;
                }

                written.Add(IdOf(row, schema));
            }

            return written;
        });

        if (action == "CreateMultiple")
        {
            return ServiceResponse.Json(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse");
                w.WriteStartArray("Ids");
                foreach (var id in ids)
                {
                    w.WriteStringValue(id);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }, ids.Count);
        }

        return ServiceResponse.Empty(204, ids.Count);
    }

    private static Guid? TargetId(EntitySchema schema, JsonElement target)
    {
        if (target.TryGetProperty("@odata.id", out var odataId) && odataId.ValueKind == JsonValueKind.String)
        {
            var match = ReferencePattern().Match(odataId.GetString()!);
            if (!match.Success || match.Groups["set"].Value != schema.EntitySet)
            {
                throw new ServiceException(400, "0x80060888", $"The @odata.id '{odataId.GetString()}' does not identify a {schema.LogicalName} by id (alternate keys are not defined on standard tables).");
            }

            return Guid.Parse(match.Groups["id"].Value);
        }

        return target.TryGetProperty(schema.Key, out var key) && key.ValueKind == JsonValueKind.String && Guid.TryParse(key.GetString(), out var id) ? id : null;
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
            throw new ServiceException(501, "0x80060888", $"The sandbox does not emulate '{entitySet}': it has accounts, contacts, systemusers, roles, businessunits, teams, transactioncurrencies and organizations (about_CrmSyncSandbox).");
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

    [GeneratedRegex(@"^(?<set>[A-Za-z_]+)/Microsoft\.Dynamics\.CRM\.(?<action>[A-Za-z]+)$")]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^systemusers\((?<user>[0-9a-fA-F-]{36})\)/systemuserroles_association(\((?<role>[0-9a-fA-F-]{36})\))?(?<ref>/\$ref)?$")]
    private static partial Regex AssociationPattern();

    [GeneratedRegex(@"(?:^|/)(?<set>[A-Za-z_]+)\((?<id>[0-9a-fA-F-]{36})\)$")]
    internal static partial Regex ReferencePattern();
}
