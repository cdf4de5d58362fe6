using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>Reading rows: queries with the OData options the Web API takes, single rows, formatted values and lookup annotations.</summary>
public sealed partial class DataverseService
{
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
            ? new ServiceException(400, "0x80060888", $"The sandbox does not emulate {what}: the query parameter {key} is not supported. Use $select, $filter, $orderby and $top (about_CrmSyncSandbox).")
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
            throw new ServiceException(400, "0x80060888", $"The sandbox does not emulate the query function Microsoft.Dynamics.CRM.{function.Groups["name"].Value}: compare the column with a literal (e.g. modifiedon ge 2026-01-01T00:00:00Z) instead.");
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
        // The invariant culture formats numbers and these dates exactly as en-US does, and exists where the program runs
        // with invariant globalization (as it ships): GetCultureInfo("en-US") throws there.
        var us = System.Globalization.CultureInfo.InvariantCulture;
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
}
