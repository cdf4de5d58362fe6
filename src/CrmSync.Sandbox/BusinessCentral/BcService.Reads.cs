using System.Globalization;
using System.Text;
using Microsoft.OData.UriParser;

namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>Reading entities as API v2.0 serves them: collections with $filter (as AL filters, with their limits), $select, $expand, paging, single entities.</summary>
public sealed partial class BcService
{
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
        // $top caps the whole result, not one page: when the preferred page size cuts it, the next link asks for the rest.
        var rest = options.Top - page.Rows.Count;
        var next = rest <= 0 ? null : page.NextSkipToken;
        var expand = new Expansions(company, BcExpansion.Parse(table.Schema, options.Expand));
        var response = Collection(request, table.Schema, page.Rows, context, options.Select, expand, page.TotalCount, next is null ? null : NextLink(request, context, next, rest));
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

    private static string NextLink(ServiceRequest request, string context, string token, int? top)
    {
        var query = string.Join('&', request.Query.Where(q => q.Key is not "$skiptoken" and not "$top")
            .Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value))
            .Concat(top is { } t ? new[] { "$top=" + t.ToString(CultureInfo.InvariantCulture) } : Array.Empty<string>()));
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
    private static string? OrAcrossFields(QueryToken node)
    {
        switch (node)
        {
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.Or } or:
                var fields = Fields(or).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                return fields.Count > 1 ? string.Join(", ", fields) : OrAcrossFields(or.Left) ?? OrAcrossFields(or.Right);
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And } and:
                return OrAcrossFields(and.Left) ?? OrAcrossFields(and.Right);
            case UnaryOperatorToken not:
                return OrAcrossFields(not.Operand);
            default:
                return null;
        }
    }

    private static IEnumerable<string> Fields(QueryToken node) => node switch
    {
        _ when FilterSyntax.IsPath(node) => new[] { FilterSyntax.Path(node) },
        BinaryOperatorToken binary => Fields(binary.Left).Concat(Fields(binary.Right)),
        UnaryOperatorToken unary => Fields(unary.Operand),
        FunctionCallToken function => FilterSyntax.Arguments(function).SelectMany(Fields),
        InToken @in => Fields(@in.Left),
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
            JsonValues.Write(w, schema.Columns[index].Name, row.Values[index], schema.Columns[index].DateOnly ? DateFormat.Date : DateFormat.Milliseconds);
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
}
