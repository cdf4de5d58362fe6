using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;

namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>
/// The BC API v2.0 emulator (reference/domain.md §E): companies and, per company, customers, vendors,
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

            lock (Store.Sync)
            {
                request.RefuseNotEmulatedPreferences(message => new ServiceException(501, "BadRequest_NotImplemented", message));
                response = Route(request);
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
        if (path == "$batch")
        {
            if (request.Method != "POST")
            {
                throw MethodNotAllowed(request);
            }

            return ExecuteBatch(request);
        }

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
        var table = Store.Table(Key(companyId, set)) ?? throw new ServiceException(404, "BadRequest_NotFound", $"The entity set '{set}' does not exist in API v2.0.");
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

    // ---- Reads ----------------------------------------------------------------------------------

    // GET api/v2.0/$metadata: the CSDL of what the sandbox emulates, as XML; query options ($format, $schemaversion) are refused, not ignored.
    private static ServiceResponse Metadata(ServiceRequest request)
    {
        RequireGet(request);
        if (request.Query.FirstOrDefault() is { Key: not null } other)
        {
            throw new ServiceException(400, "BadRequest", $"The query parameter '{other.Key}' is not supported on $metadata; the sandbox serves one CSDL document, as XML.");
        }

        return new ServiceResponse { Status = 200, Body = BcMetadata.Document, ContentType = "application/xml" };
    }

    private static readonly HashSet<string> SupportedOptions = new(StringComparer.Ordinal) { "$select", "$filter", "$orderby", "$top", "$skip", "$count", "$skiptoken", "$expand" };

    /// <summary>The query options a collection accepts (about_CrmSyncSandbox lists them; a test keeps the two equal).</summary>
    internal static IReadOnlyCollection<string> CollectionQueryOptions => SupportedOptions;

    private ServiceResponse Query(ServiceRequest request, Guid company, EntityTable table, string context)
    {
        var options = ParseOptions(request);
        var compiler = Compiler(table.Schema);
        var pageSize = Math.Min(request.PreferredMaxPageSize() ?? MaxPageSize, MaxPageSize);
        if (options.Top is { } top)
        {
            pageSize = Math.Min(pageSize, top);
        }

        var page = QueryRunner.Run(table, options, pageSize, compiler);
        var next = options.Top is not null ? null : page.NextSkipToken;
        var expand = new Expansions(company, BcExpansion.Parse(table.Schema, options.Expand));
        var response = Collection(request, table.Schema, page.Rows, context, options.Select, expand, page.TotalCount, next is null ? null : NextLink(request, context, next));
        if (request.PreferredMaxPageSize() is not null)
        {
            response.Headers["Preference-Applied"] = $"odata.maxpagesize={pageSize}";
        }

        return response;
    }

    /// <summary>GET …/customers/$count: the number of entities (matching $filter) as plain text.</summary>
    private ServiceResponse Count(ServiceRequest request, EntityTable table)
    {
        if (request.Query.FirstOrDefault(q => !CountOptions.Contains(q.Key)) is { Key: not null } other)
        {
            throw new ServiceException(400, "BadRequest", $"The query parameter '{other.Key}' is not supported with $count.");
        }

        var options = ParseOptions(request);
        var matches = QueryRunner.Predicate(options.Filter, Compiler(table.Schema));
        return new ServiceResponse
        {
            Status = 200,
            Body = Encoding.UTF8.GetBytes(table.Rows.Count(matches).ToString(CultureInfo.InvariantCulture)),
            ContentType = "text/plain",
        };
    }

    private static readonly HashSet<string> CountOptions = new(StringComparer.Ordinal) { "$filter" };

    private static string NextLink(ServiceRequest request, string context, string token)
    {
        var query = request.QueryString;
        return $"{request.ServiceRoot}{context}?{(query.Length > 0 ? query + "&" : string.Empty)}$skiptoken={Uri.EscapeDataString(token)}";
    }

    private ServiceResponse Collection(ServiceRequest request, EntitySchema schema, IReadOnlyList<Row> rows, string context, IReadOnlyList<string>? select, Expansions expand, int? total = null, string? nextLink = null)
    {
        var columns = SelectColumns(schema, select);
        return ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{context}");
            if (total is { } count)
            {
                w.WriteNumber("@odata.count", count);
            }

            w.WriteStartArray("value");
            foreach (var row in rows)
            {
                w.WriteStartObject();
                WriteRow(w, schema, row, columns, expand);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (nextLink is not null)
            {
                w.WriteString("@odata.nextLink", nextLink);
            }

            w.WriteEndObject();
        }, rows.Count);
    }

    private ServiceResponse Single(ServiceRequest request, Guid company, EntityTable table, Row row, string context, int status)
    {
        // One entity: $select and $expand apply; collection options would be ignored, so they are refused.
        var options = QueryOptions.Parse(request.Query, RecordOptions, key => Unsupported(key, " on a single entity."));
        var columns = SelectColumns(table.Schema, options.Select);
        var expand = new Expansions(company, BcExpansion.Parse(table.Schema, options.Expand));
        return ServiceResponse.Json(status, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{context}");
            WriteRow(w, table.Schema, row, columns, expand);
            w.WriteEndObject();
        }, 1).With("ETag", ETag(row));
    }

    private static readonly HashSet<string> RecordOptions = new(StringComparer.Ordinal) { "$select", "$expand" };

    /// <summary>What an $expand asks for, in the company whose entities are read.</summary>
    private sealed record Expansions(Guid Company, IReadOnlyList<BcExpansion> Items)
    {
        public static readonly Expansions None = new(Guid.Empty, Array.Empty<BcExpansion>());
    }

    // GET entity(id)/nav: the related collection ($select, $filter, $expand none) or the single related entity (204 when there is none).
    private ServiceResponse Navigate(ServiceRequest request, Guid company, EntitySchema schema, Row row, string path, string name)
    {
        var property = BcNavigation.Find(schema, name) ?? throw BcNavigation.NotEmulated(schema, name);
        var related = property.Related(this, company, schema, row);
        if (!property.IsCollection)
        {
            var options = QueryOptions.Parse(request.Query, NavigationEntityOptions, key => Unsupported(key, $" on {name}."));
            var columns = SelectColumns(property.Target, options.Select);
            var target = related.FirstOrDefault();
            return target is null
                ? ServiceResponse.Empty(204, 0)
                : ServiceResponse.Json(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{path}/{name}/$entity");
                    WriteRow(w, property.Target, target, columns, Expansions.None);
                    w.WriteEndObject();
                }, 1);
        }

        var query = WithBcFilter(QueryOptions.Parse(request.Query, NavigationCollectionOptions, key => Unsupported(key, $" on {name}; the sandbox serves $select and $filter there.")));
        var matches = QueryRunner.Predicate(query.Filter, Compiler(property.Target));
        return Collection(request, property.Target, related.Where(matches).ToList(), $"{path}/{name}", query.Select, Expansions.None);
    }

    private static readonly HashSet<string> NavigationEntityOptions = new(StringComparer.Ordinal) { "$select" };

    private static readonly HashSet<string> NavigationCollectionOptions = new(StringComparer.Ordinal) { "$select", "$filter" };

    // The fields an "or" joins, when there are several; null when every "or" stays on one field.
    private static string? OrAcrossFields(FilterNode node)
    {
        switch (node)
        {
            case LogicalNode { Operator: "or" } or:
                var fields = Fields(or).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                return fields.Count > 1 ? string.Join(", ", fields) : OrAcrossFields(or.Left) ?? OrAcrossFields(or.Right);
            case LogicalNode logical:
                return OrAcrossFields(logical.Left) ?? OrAcrossFields(logical.Right);
            case NotNode not:
                return OrAcrossFields(not.Operand);
            default:
                return null;
        }
    }

    private static IEnumerable<string> Fields(FilterNode node) => node switch
    {
        PropertyNode property => new[] { property.Path },
        LogicalNode logical => Fields(logical.Left).Concat(Fields(logical.Right)),
        NotNode not => Fields(not.Operand),
        ComparisonNode comparison => Fields(comparison.Left).Concat(Fields(comparison.Right)),
        FunctionNode function => function.Arguments.SelectMany(Fields),
        InNode @in => Fields(@in.Operand),
        _ => Array.Empty<string>(),
    };

    private static QueryOptions ParseOptions(ServiceRequest request) => WithBcFilter(QueryOptions.Parse(request.Query, SupportedOptions, key => Unsupported(key, ".")));

    /// <summary>Every $filter BC takes — of a set, a navigation or inside $expand — becomes AL filters, with their limits.</summary>
    private static QueryOptions WithBcFilter(QueryOptions options)
    {
        RefuseOrAcrossFields(options.Filter);
        return options;
    }

    internal static void RefuseOrAcrossFields(string? filter)
    {
        if (filter is not null && OrAcrossFields(QueryRunner.ParseFilter(filter)) is { } fields)
        {
            // BC turns $filter into AL filters, which cannot OR two fields (BC: "The 'OR' operator is not supported on distinct fields").
            throw new ServiceException(400, "BadRequest_InvalidFilter", $"The 'OR' operator is not supported on distinct fields ({fields}). Send one request per field.");
        }
    }

    private static ServiceException Unsupported(string key, string where) =>
        new(400, "BadRequest", $"The query parameter '{key}' is not supported{where}");

    internal static IReadOnlyList<int> SelectColumns(EntitySchema schema, IReadOnlyList<string>? select)
    {
        if (select is null)
        {
            return Enumerable.Range(0, schema.Columns.Count).Where(i => !schema.Columns[i].WriteOnly).ToList();
        }

        var columns = new List<int>();
        foreach (var name in select)
        {
            var index = schema.IndexOf(name);
            if (index < 0 || schema.Columns[index].WriteOnly)
            {
                throw new ServiceException(400, "BadRequest_PropertyNotFound", UnknownProperty(schema, name));
            }

            columns.Add(index);
        }

        return columns;
    }

    private void WriteRow(Utf8JsonWriter w, EntitySchema schema, Row row, IReadOnlyList<int> columns, Expansions expand)
    {
        w.WriteString("@odata.etag", ETag(row));
        foreach (var index in columns)
        {
            JsonValues.Write(w, schema.Columns[index].Name, row.Values[index], DateFormat.Milliseconds);
        }

        foreach (var item in expand.Items)
        {
            var related = item.Property.Related(this, expand.Company, schema, row).Where(item.Keeps);
            w.WritePropertyName(item.Property.Name);
            if (item.Property.IsCollection)
            {
                w.WriteStartArray();
                foreach (var entity in related)
                {
                    w.WriteStartObject();
                    WriteRow(w, item.Property.Target, entity, item.Columns, Expansions.None);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else if (related.FirstOrDefault() is { } entity)
            {
                w.WriteStartObject();
                WriteRow(w, item.Property.Target, entity, item.Columns, Expansions.None);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }
        }
    }

    public static string ETag(Row row) => "W/\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes($"'{row.Version};'")) + "\"";

    public static FilterCompiler Compiler(EntitySchema schema) => new(PlainProperties.For(schema), path => UnknownProperty(schema, path));

    private static string UnknownProperty(EntitySchema schema, string name) =>
        $"Could not find a property named '{name}' on type 'Microsoft.NAV.{schema.LogicalName}'.";

    // ---- Writes ---------------------------------------------------------------------------------

    private ServiceResponse Create(ServiceRequest request, Guid companyId, EntityTable table, string context)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        var row = Write(companyId, table, null, body, request.Caller);
        return Single(request, companyId, table, row, context + "/$entity", 201).With("Location", $"{request.ServiceRoot}{context}({IdOf(row, table.Schema)})");
    }

    private ServiceResponse Update(ServiceRequest request, Guid companyId, EntityTable table, Row existing, string context)
    {
        CheckIfMatch(request, existing);
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        var row = Write(companyId, table, existing, body, request.Caller);
        return Single(request, companyId, table, row, context + "/$entity", 200);
    }

    private ServiceResponse Delete(ServiceRequest request, EntityTable table, Row existing)
    {
        CheckIfMatch(request, existing);
        table.Remove(IdOf(existing, table.Schema));
        return ServiceResponse.Empty(204, 1);
    }

    // PATCH and DELETE require If-Match (§E.3).
    private static void CheckIfMatch(ServiceRequest request, Row existing)
    {
        var ifMatch = request.Header("If-Match");
        if (string.IsNullOrEmpty(ifMatch))
        {
            throw new ServiceException(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request (If-Match: <@odata.etag> or *).");
        }

        if (ifMatch != "*" && ifMatch != ETag(existing))
        {
            throw new ServiceException(412, "Request_EntityChanged", "Another user has already changed the record.");
        }
    }

    /// <summary>Applies a JSON body with BC's validation: field lengths, table relations, number series, customer/vendor contacts.</summary>
    internal Row Write(Guid companyId, EntityTable table, Row? existing, JsonElement body, SandboxIdentity caller)
    {
        var schema = table.Schema;
        var values = existing is null ? Defaults(schema) : (object?[])existing.Values.Clone();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name.StartsWith('@'))
            {
                continue;
            }

            var column = schema.Find(property.Name);
            if (column is null || column.WriteOnly)
            {
                throw new ServiceException(400, "BadRequest_PropertyNotFound", UnknownProperty(schema, property.Name) + " Make sure to only use property names that are defined by the type.");
            }

            if (column.Name == schema.Key)
            {
                if (existing is not null && property.Value.ValueKind == JsonValueKind.String && Guid.TryParse(property.Value.GetString(), out var bodyId) && bodyId != IdOf(existing, schema))
                {
                    throw new ServiceException(400, "BadRequest", "The id of an existing record cannot be changed.");
                }

                continue;
            }

            if (column.ReadOnly)
            {
                throw new ServiceException(400, "BadRequest", $"The property '{column.Name}' of {BcSchemas.Caption(schema)} is read-only.");
            }

            try
            {
                var value = JsonValues.Read(column, property.Value);
                values[schema.IndexOf(column.Name)] = value ?? DefaultOf(column);
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, ex.TooLong ? "Application_StringExceededLength" : "BadRequest_InvalidRequestBody", ex.Message);
            }

            given.Add(column.Name);
        }

        ApplyRules(companyId, schema, values, given, existing);
        var id = existing is null ? Guid.NewGuid() : IdOf(existing, schema);
        values[schema.KeyIndex] = id;
        foreach (var required in schema.RequiredOnCreate)
        {
            if (values[schema.IndexOf(required)] is "" or null)
            {
                throw new ServiceException(400, "Application_FieldValidationException", $"{required} must have a value in {BcSchemas.Caption(schema)}: {required}=''. It cannot be zero or empty.");
            }
        }

        foreach (var unique in schema.UniqueColumns)
        {
            var index = schema.IndexOf(unique);
            if (table.FindUnique(index, values[index], id) is not null)
            {
                throw new ServiceException(400, "Internal_EntityWithSameKeyExists",
                    $"The record in table {BcSchemas.Caption(schema)} already exists. Identification fields and values: {unique}='{values[index]}'");
            }
        }

        values[schema.IndexOf("lastModifiedDateTime")] = JsonValues.Truncate(_clock.UtcNow, DateFormat.Milliseconds);
        var row = new Row(values, Store.NextVersion(), caller.ObjectId);
        table.Put(row);
        if (schema.IndexOf("number") is var numberColumn && numberColumn >= 0)
        {
            NoteNumber(companyId, schema, values[numberColumn] as string);
        }

        if (schema.EntitySet is BcSchemas.Customers or BcSchemas.Vendors)
        {
            UpdateCompanyContact(companyId, schema, row, caller);
        }

        return row;
    }

    private static object?[] Defaults(EntitySchema schema)
    {
        var values = new object?[schema.Columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = DefaultOf(schema.Columns[i]);
        }

        return values;
    }

    // BC returns empty strings, empty GUIDs and zeros rather than nulls.
    private static object? DefaultOf(Column column) => column.EnumMembers is { } members ? members[0] : column.Type switch
    {
        ColumnType.String => string.Empty,
        ColumnType.Guid => Guid.Empty,
        ColumnType.Decimal => 0m,
        ColumnType.Int => 0L,
        ColumnType.Bool => false,
        _ => null,
    };

    // An option is written as its encoded member name, the way BC returns it ("_x0020_" for blank, never " ").
    private static void CheckOptions(EntitySchema schema, object?[] values, string caption)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (schema.Columns[i].EnumMembers is { } members && values[i] is string value && !members.Contains(value, StringComparer.Ordinal))
            {
                throw new ServiceException(400, "BadRequest_InvalidRequestBody",
                    $"The value '{value}' is not valid for {schema.Columns[i].Name} of {caption}; use one of: {string.Join(", ", members.Select(m => $"'{m}'"))}.");
            }
        }
    }

    private void ApplyRules(Guid companyId, EntitySchema schema, object?[] values, HashSet<string> given, Row? existing)
    {
        var caption = BcSchemas.Caption(schema);
        string Str(string column) => (string)(values[schema.IndexOf(column)] ?? string.Empty);

        CheckOptions(schema, values, caption);
        if (schema.EntitySet is BcSchemas.Customers or BcSchemas.Vendors)
        {
            SyncCurrency(companyId, schema, values, given);
        }

        if (schema.EntitySet == BcSchemas.Customers)
        {
            var salesperson = Str("salespersonCode");
            if (salesperson.Length > 0 && !Exists(companyId, BcSchemas.Salespeople, "code", salesperson))
            {
                throw RelationError(caption, "Salesperson Code", salesperson, "Salesperson/Purchaser");
            }
        }

        var numberIndex = schema.IndexOf("number");
        if (numberIndex >= 0 && Str("number").Length == 0)
        {
            values[numberIndex] = NextNumber(companyId, schema);
        }

        if (schema.EntitySet == BcSchemas.Contacts)
        {
            var contacts = Table(companyId, BcSchemas.Contacts);
            if (Str("type") == "Company")
            {
                // A company contact is its own company.
                values[schema.IndexOf("companyNumber")] = Str("number");
                values[schema.IndexOf("companyName")] = Str("displayName");
            }
            else if (Str("companyNumber").Length > 0)
            {
                var company = contacts.FindUnique(schema.IndexOf("number"), Str("companyNumber"), except: null);
                if (company is null || (string?)company.Values[schema.IndexOf("type")] != "Company")
                {
                    throw RelationError(caption, "Company No.", Str("companyNumber"), "Contact (of type Company)");
                }

                values[schema.IndexOf("companyName")] = company.Values[schema.IndexOf("displayName")];
            }
            else
            {
                values[schema.IndexOf("companyName")] = string.Empty;
            }

            values[schema.IndexOf("searchName")] = Str("displayName").ToUpperInvariant();
        }
    }

    // currencyCode and currencyId are two views of "Currency Code": setting one sets the other.
    private void SyncCurrency(Guid companyId, EntitySchema schema, object?[] values, HashSet<string> given)
    {
        var currencies = Table(companyId, BcSchemas.Currencies);
        var codeIndex = schema.IndexOf("currencyCode");
        var idIndex = schema.IndexOf("currencyId");
        if (given.Contains("currencyCode"))
        {
            var code = (string)(values[codeIndex] ?? string.Empty);
            if (code.Length == 0)
            {
                values[idIndex] = Guid.Empty;
                return;
            }

            var currency = currencies.FindUnique(currencies.Schema.IndexOf("code"), code, except: null) ?? throw RelationError(BcSchemas.Caption(schema), "Currency Code", code, "Currency");
            values[codeIndex] = currency.Values[currencies.Schema.IndexOf("code")];
            values[idIndex] = currency.Values[currencies.Schema.KeyIndex];
        }
        else if (given.Contains("currencyId"))
        {
            var id = (Guid)(values[idIndex] ?? Guid.Empty);
            if (id == Guid.Empty)
            {
                values[codeIndex] = string.Empty;
                return;
            }

            var currency = currencies.Get(id) ?? throw RelationError(BcSchemas.Caption(schema), "Currency Id", id.ToString(), "Currency");
            values[codeIndex] = currency.Values[currencies.Schema.IndexOf("code")];
        }
    }

    private bool Exists(Guid companyId, string set, string column, string value)
    {
        var table = Table(companyId, set);
        return table.FindUnique(table.Schema.IndexOf(column), value, except: null) is not null;
    }

    private static ServiceException RelationError(string table, string field, string value, string related) =>
        new(400, "Application_FieldValidationException",
            $"The field {field} of table {table} contains a value ({value}) that cannot be found in the related table ({related}).");

    // The highest number issued per company table, so the No. Series stays O(1) at 100,000+ records.
    private readonly Dictionary<string, int> _numberHighWater = new(StringComparer.Ordinal);

    private static (string Prefix, int Digits, int Step) NumberSeries(EntitySchema schema) => schema.EntitySet switch
    {
        BcSchemas.Customers => ("C", 5, 10),
        BcSchemas.Vendors => ("V", 5, 10),
        _ => ("CT", 6, 1),
    };

    private string NextNumber(Guid companyId, EntitySchema schema)
    {
        var (prefix, digits, step) = NumberSeries(schema);
        var key = Key(companyId, schema.EntitySet);
        if (!_numberHighWater.TryGetValue(key, out var max))
        {
            var index = schema.IndexOf("number");
            max = Table(companyId, schema.EntitySet).Rows.Select(r => (string?)r.Values[index] ?? string.Empty)
                .Select(n => ParseNumber(n, prefix))
                .DefaultIfEmpty(0)
                .Max();
        }

        max += step;
        _numberHighWater[key] = max;
        return prefix + max.ToString("D" + digits, CultureInfo.InvariantCulture);
    }

    private void NoteNumber(Guid companyId, EntitySchema schema, string? number)
    {
        var key = Key(companyId, schema.EntitySet);
        var value = ParseNumber(number ?? string.Empty, NumberSeries(schema).Prefix);
        if (_numberHighWater.TryGetValue(key, out var max) && value > max)
        {
            _numberHighWater[key] = value;
        }
    }

    private static int ParseNumber(string number, string prefix) =>
        number.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(number.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>
    /// BC keeps a company contact for every customer and vendor, linked by a business relation, and
    /// updates it when the customer or vendor changes (this is what lets CONTACT find its parent).
    /// </summary>
    private void UpdateCompanyContact(Guid companyId, EntitySchema schema, Row row, SandboxIdentity caller)
    {
        var relations = Table(companyId, BcSchemas.ContactsInformation);
        var contacts = Table(companyId, BcSchemas.Contacts);
        var rs = relations.Schema;
        var cs = contacts.Schema;
        var id = IdOf(row, schema);
        var relation = relations.FindUnique(rs.IndexOf("relatedId"), id, except: null);
        var contact = relation is null ? null : contacts.Get((Guid)relation.Values[rs.IndexOf("contactId")]!);
        var values = contact is null ? Defaults(cs) : (object?[])contact.Values.Clone();
        foreach (var field in new[] { "displayName", "addressLine1", "addressLine2", "city", "state", "country", "postalCode", "phoneNumber", "email", "website" })
        {
            values[cs.IndexOf(field)] = row.Values[schema.IndexOf(field)];
        }

        values[cs.IndexOf("type")] = "Company";
        var contactId = contact is null ? Guid.NewGuid() : IdOf(contact, cs);
        values[cs.KeyIndex] = contactId;
        if (contact is null)
        {
            values[cs.IndexOf("number")] = NextNumber(companyId, cs);
        }


        var relatedType = schema.EntitySet == BcSchemas.Customers ? "Customer" : "Vendor";
        values[cs.IndexOf("companyNumber")] = values[cs.IndexOf("number")];
        values[cs.IndexOf("companyName")] = values[cs.IndexOf("displayName")];
        values[cs.IndexOf("searchName")] = ((string?)values[cs.IndexOf("displayName")] ?? string.Empty).ToUpperInvariant();
        values[cs.IndexOf("contactBusinessRelation")] = relatedType;
        values[cs.IndexOf("lastModifiedDateTime")] = row.Values[schema.IndexOf("lastModifiedDateTime")];
        contacts.Put(new Row(values, Store.NextVersion(), caller.ObjectId));

        var relationValues = new object?[rs.Columns.Count];
        relationValues[rs.KeyIndex] = relation?.Values[rs.KeyIndex] ?? Guid.NewGuid();
        relationValues[rs.IndexOf("contactId")] = contactId;
        relationValues[rs.IndexOf("contactNumber")] = values[cs.IndexOf("number")];
        relationValues[rs.IndexOf("contactName")] = values[cs.IndexOf("displayName")];
        relationValues[rs.IndexOf("contactType")] = "Company";
        relationValues[rs.IndexOf("relatedId")] = id;
        relationValues[rs.IndexOf("relatedType")] = relatedType;
        relations.Put(new Row(relationValues, Store.NextVersion(), caller.ObjectId));
    }

    // ---- JSON $batch (§E.4) ---------------------------------------------------------------------

    private ServiceResponse ExecuteBatch(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        if (!body.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "BadRequest_InvalidRequestBody", "A $batch body must be {\"requests\": [ {\"id\", \"method\", \"url\", \"headers\", \"body\"}, … ]}.");
        }

        var items = requests.EnumerateArray().ToList();
        if (items.Count > MaxBatchOperations)
        {
            throw new ServiceException(400, "BadRequest", $"The $batch request has {items.Count} operations; the maximum is {MaxBatchOperations}.");
        }

        var snapshot = string.Equals(request.Header("Isolation"), "snapshot", StringComparison.OrdinalIgnoreCase);
        var results = new List<(string Id, ServiceResponse Response)>();
        if (snapshot)
        {
            // Isolation: snapshot runs the batch in one transaction (use-odata-batch.md): every request runs and answers as
            // it did, and when one failed, none of the changes is kept — the answer is still 200 with every response.
            try
            {
                Store.Atomic(() =>
                {
                    results.AddRange(items.Select(item => ExecuteItem(request, item)));
                    return results.Any(r => r.Response.Status >= 400) ? throw new SnapshotRolledBack() : true;
                });
            }
            catch (SnapshotRolledBack)
            {
            }
        }
        else
        {
            results.AddRange(items.Select(item => ExecuteItem(request, item)));
        }

        return JsonBatch.Respond(results, lowerCaseHeaders: true, "application/json; odata.metadata=minimal");
    }

    /// <summary>The fault answer to one request inside a $batch (method, url), or null to run it; set by the host.</summary>
    public Func<string, string, ServiceResponse?>? InnerFault { get; set; }

    private (string Id, ServiceResponse Response) ExecuteItem(ServiceRequest batch, JsonElement element)
    {
        var item = JsonBatch.Parse(element);
        if (InnerFault?.Invoke(item.Method, item.Url) is { } fault)
        {
            // In BC each request of a $batch succeeds or fails on its own.
            return (item.Id, fault);
        }

        try
        {
            item = WithCompany(item);
        }
        catch (ServiceException ex)
        {
            return (item.Id, Error(ex));
        }

        return (item.Id, Handle(JsonBatch.ToRequest(item, batch, "/api/v2.0/")));
    }

    // An inner URL relative to the company ("customers(…)", as in Microsoft's batch example) names its company in a
    // Company header (the company's name): it becomes companies(<id>)/customers(…).
    private JsonBatch.Item WithCompany(JsonBatch.Item item)
    {
        var url = item.Url.TrimStart('/');
        if (url.StartsWith("companies", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http", StringComparison.OrdinalIgnoreCase) || url.Contains("/api/v2.0/", StringComparison.OrdinalIgnoreCase))
        {
            return item;
        }

        if (!item.Headers.TryGetValue("Company", out var name))
        {
            throw new ServiceException(400, "BadRequest_NoCompany", $"The request '{item.Url}' names no company: write companies(<id>)/{url}, or add a Company header with the company's name.");
        }

        var nameIndex = _companies.Schema.IndexOf("name");
        var company = _companies.Rows.FirstOrDefault(r => string.Equals(r.Values[nameIndex] as string, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ServiceException(404, "Internal_CompanyNotFound", $"Cannot process the request because the company '{name}' cannot be found.");
        return item with { Url = $"companies({company.Values[_companies.Schema.KeyIndex]})/{url}" };
    }

    private sealed class SnapshotRolledBack : Exception
    {
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
