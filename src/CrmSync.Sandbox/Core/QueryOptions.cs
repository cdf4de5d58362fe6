using System.Globalization;
using System.Text;
using Microsoft.OData.UriParser;

namespace CrmSync.Sandbox.Core;

/// <summary>The OData system query options of one request.</summary>
public sealed record QueryOptions
{
    public IReadOnlyList<string>? Select { get; init; }

    public string? Filter { get; init; }

    public IReadOnlyList<(string Column, bool Descending)> OrderBy { get; init; } = Array.Empty<(string, bool)>();

    public int? Top { get; init; }

    public int? Skip { get; init; }

    public bool Count { get; init; }

    public string? SkipToken { get; init; }

    /// <summary>The raw $expand text: only a service that serves navigation properties accepts it (BC).</summary>
    public string? Expand { get; init; }

    /// <summary>
    /// Parses the query string. Every parameter is either understood or refused by the service (never ignored, which would
    /// answer 200 with a wrong result): system query options outside <paramref name="supported"/>, parameter aliases
    /// (<c>@p1</c>) and any other parameter, such as Dataverse's <c>fetchXml</c>, <c>savedQuery</c> and <c>userQuery</c>.
    /// </summary>
    public static QueryOptions Parse(IEnumerable<KeyValuePair<string, string>> query, ISet<string> supported, Func<string, ServiceException> unsupported)
    {
        var options = new QueryOptions();
        foreach (var (key, value) in query)
        {
            if (!supported.Contains(key))
            {
                throw unsupported(key);
            }

            options = key switch
            {
                "$select" => options with { Select = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "$filter" => options with { Filter = value },
                "$orderby" => options with { OrderBy = ParseOrderBy(value) },
                "$top" => options with { Top = ParseCount(key, value) },
                "$skip" => options with { Skip = ParseCount(key, value) },
                "$count" => options with { Count = string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) },
                "$skiptoken" => options with { SkipToken = value },
                "$expand" => options with { Expand = value },
                _ => throw unsupported(key),
            };
        }

        return options;
    }

    private static IReadOnlyList<(string, bool)> ParseOrderBy(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part =>
            {
                var pieces = part.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var descending = pieces.Length > 1 && pieces[1].Equals("desc", StringComparison.OrdinalIgnoreCase);
                if (pieces.Length > 2 || (pieces.Length == 2 && !descending && !pieces[1].Equals("asc", StringComparison.OrdinalIgnoreCase)))
                {
                    throw new ServiceException(400, "BadRequest", $"The $orderby item '{part}' is not valid: use '<property> [asc|desc]'.");
                }

                return (pieces[0], descending);
            })
            .ToList();

    private static int ParseCount(string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new ServiceException(400, "BadRequest", $"Invalid value '{value}' for {key}: a non-negative integer is required.");
}

/// <summary>One page of a query result.</summary>
public sealed record QueryPage(IReadOnlyList<Row> Rows, string? NextSkipToken, int? TotalCount);

/// <summary>
/// Runs filter, order and server-driven paging over a table. Pages are keyed on the last row's sort
/// values and id (like Dataverse's paging cookie), so rows inserted or changed between pages do not
/// shift later pages.
/// </summary>
public static class QueryRunner
{
    public static QueryPage Run(
        EntityTable table,
        QueryOptions options,
        int pageSize,
        FilterCompiler compiler)
    {
        var schema = table.Schema;
        var filter = options.Filter is null ? null : ParseFilter(options.Filter);
        var predicate = Predicate(filter, compiler);
        var keys = options.OrderBy.Select(o => (Get: compiler.Resolve(o.Column).Get, o.Descending)).ToList();
        if (keys.Count == 0 && schema.DefaultOrder is not null)
        {
            var index = schema.IndexOf(schema.DefaultOrder);
            keys.Add((row => row.Values[index], false));
        }

        var keyIndex = schema.KeyIndex;
        keys.Add((row => row.Values[keyIndex], false));
        var comparer = Comparer<Row>.Create((a, b) =>
        {
            foreach (var (get, descending) in keys)
            {
                var c = ValueComparer.Compare(get(a), get(b));
                if (c != 0)
                {
                    return descending ? -c : c;
                }
            }

            return 0;
        });

        var after = options.SkipToken is null ? null : DecodeSkipToken(options.SkipToken, keys.Count);
        var needed = (long)(options.Skip ?? 0) + pageSize + 1;

        // An explicit $orderby (a paged change read) on columns of the row itself, and no $count: read from the table's ordered snapshot, from the skip
        // token on, until the page is full.
        var columns = options.OrderBy.Select(o => schema.IndexOf(o.Column)).ToList();
        if (!options.Count && columns.Count > 0 && columns.All(c => c >= 0) &&
            table.Ordered(string.Join(",", options.OrderBy.Select(o => o.Column + (o.Descending ? " desc" : string.Empty))), keys) is { } sorted)
        {
            var first = after is not null ? FirstAfter(sorted, keys, after)
                : !options.OrderBy[0].Descending && LowerBound(filter, options.OrderBy[0].Column) is { } bound ? FirstAtOrAbove(sorted, keys[0].Get, bound)
                : 0;
            var matches = new List<Row>();
            for (var i = first; i < sorted.Length && matches.Count < needed; i++)
            {
                if (predicate(sorted[i]))
                {
                    matches.Add(sorted[i]);
                }
            }

            return Page(matches, options, pageSize, keys, total: null);
        }

        // A page needs only the rows after the skip token, and of those only the first skip + page + 1 in order (the
        // extra one says whether there is a next page): a bounded heap, not a sort of every match.
        var heap = new PriorityQueue<Row, Row>(Comparer<Row>.Create((a, b) => comparer.Compare(b, a)));
        var total = 0;
        foreach (var row in table.Rows)
        {
            if (!predicate(row))
            {
                continue;
            }

            total++;
            if (after is not null && CompareToToken(row, keys, after) <= 0)
            {
                continue;
            }

            if (heap.Count < needed)
            {
                heap.Enqueue(row, row);
            }
            else if (comparer.Compare(row, heap.Peek()) < 0)
            {
                heap.EnqueueDequeue(row, row);
            }
        }

        var ordered = new List<Row>(heap.Count);
        while (heap.Count > 0)
        {
            ordered.Add(heap.Dequeue());
        }

        ordered.Reverse();
        return Page(ordered, options, pageSize, keys, options.Count ? total : null);
    }

    // The page out of the first skip + page + 1 matches in order, and the next link when there are more.
    private static QueryPage Page(List<Row> ordered, QueryOptions options, int pageSize, List<(Func<Row, object?> Get, bool Descending)> keys, int? total)
    {
        var start = Math.Min(options.Skip ?? 0, ordered.Count);
        var take = Math.Min(ordered.Count - start, pageSize);
        var page = ordered.GetRange(start, take);
        string? next = null;
        if (start + take < ordered.Count && page.Count > 0)
        {
            next = EncodeSkipToken(keys.Select(k => k.Get(page[^1])).ToList());
        }

        return new QueryPage(page, next, total);
    }

    // The first row of the ordered snapshot strictly after the skip token (rows in order compare ascending to it).
    private static int FirstAfter(Row[] sorted, List<(Func<Row, object?> Get, bool Descending)> keys, IReadOnlyList<object?> after)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (CompareToToken(sorted[middle], keys, after) <= 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>
    /// The highest literal the filter's top-level "and" terms require <paramref name="column"/> to be at or above ("column ge
    /// x", "column gt x"), or null: rows below it cannot match, so a scan in ascending order of that column may start there, as
    /// a database seeks an index (a slice of a change read: "modified ge a and modified lt b").
    /// </summary>
    internal static object? LowerBound(QueryToken? filter, string column)
    {
        switch (filter)
        {
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And } and:
                var (left, right) = (LowerBound(and.Left, column), LowerBound(and.Right, column));
                return left is null ? right : right is null ? left : ValueComparer.Compare(left, right) >= 0 ? left : right;
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.GreaterThanOrEqual or BinaryOperatorKind.GreaterThan, Right: LiteralToken literal } comparison
                when FilterSyntax.IsPath(comparison.Left) && string.Equals(FilterSyntax.Path(comparison.Left), column, StringComparison.Ordinal):
                return FilterSyntax.Value(literal);
            default:
                return null;
        }
    }

    // The first row of an ascending snapshot whose first sort value is at or above the bound (nulls sort first and match no bound).
    private static int FirstAtOrAbove(Row[] sorted, Func<Row, object?> firstKey, object bound)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (firstKey(sorted[middle]) is not { } value || ValueComparer.Compare(value, bound) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>The rows a $filter keeps (every row when there is none).</summary>
    public static Func<Row, bool> Predicate(string? filter, FilterCompiler compiler) =>
        Predicate(filter is null ? null : ParseFilter(filter), compiler);

    /// <summary>The rows a parsed $filter keeps (every row when there is none).</summary>
    public static Func<Row, bool> Predicate(QueryToken? filter, FilterCompiler compiler) =>
        filter is null ? _ => true : compiler.Compile(filter);

    public static QueryToken ParseFilter(string filter) => FilterSyntax.Parse(filter);

    private static int CompareToToken(Row row, List<(Func<Row, object?> Get, bool Descending)> keys, IReadOnlyList<object?> after)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            var c = ValueComparer.Compare(keys[i].Get(row), after[i]);
            if (c != 0)
            {
                return keys[i].Descending ? -c : c;
            }
        }

        return 0;
    }

    // The token carries typed sort values so the next page starts strictly after the last row.
    private static string EncodeSkipToken(IReadOnlyList<object?> values)
    {
        var parts = values.Select(v => ValueComparer.Normalize(v) switch
        {
            null => new[] { "n", string.Empty },
            string s => new[] { "s", s },
            decimal d => new[] { "d", d.ToString(CultureInfo.InvariantCulture) },
            bool b => new[] { "b", b ? "1" : "0" },
            Guid g => new[] { "g", g.ToString() },
            DateTimeOffset t => new[] { "t", t.UtcTicks.ToString(CultureInfo.InvariantCulture) },
            var other => new[] { "s", other.ToString() ?? string.Empty },
        }).ToList();
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(parts))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static IReadOnlyList<object?> DecodeSkipToken(string token, int expected)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - (base64.Length % 4)) % 4);
            var parts = JsonSerializer.Deserialize<string[][]>(Encoding.UTF8.GetString(Convert.FromBase64String(base64)))!;
            if (parts.Length != expected)
            {
                throw new FormatException();
            }

            return parts.Select(p => (object?)(p[0] switch
            {
                "n" => null,
                "s" => p[1],
                "d" => decimal.Parse(p[1], CultureInfo.InvariantCulture),
                "b" => p[1] == "1",
                "g" => Guid.Parse(p[1]),
                "t" => new DateTimeOffset(long.Parse(p[1], CultureInfo.InvariantCulture), TimeSpan.Zero),
                _ => throw new FormatException(),
            })).ToList();
        }
        catch (Exception ex) when (ex is FormatException or JsonException or IndexOutOfRangeException or NullReferenceException)
        {
            throw new ServiceException(400, "BadRequest", "The $skiptoken is not valid: follow @odata.nextLink unchanged, with the same query options.");
        }
    }
}
