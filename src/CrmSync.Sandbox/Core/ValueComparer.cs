using System.Globalization;

namespace CrmSync.Sandbox.Core;

/// <summary>Equality and ordering of column values as OData filters and sorting see them (strings case-insensitive).</summary>
public static class ValueComparer
{
    public static bool AreEqual(object? a, object? b) => Compare(a, b) == 0;

    /// <summary>Orders values; nulls first. Values of unrelated types order by type name (never equal).</summary>
    public static int Compare(object? a, object? b)
    {
        // The common cases of sorting and paging by modified time and id, before the general rules.
        if (a is DateTimeOffset firstTime && b is DateTimeOffset secondTime)
        {
            return firstTime.CompareTo(secondTime);
        }

        if (a is Guid firstId && b is Guid secondId)
        {
            return firstId.CompareTo(secondId);
        }

        a = Normalize(a);
        b = Normalize(b);
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : -1) : 1;
        }

        return (a, b) switch
        {
            (string x, string y) => string.Compare(x, y, StringComparison.OrdinalIgnoreCase),
            (decimal x, decimal y) => x.CompareTo(y),
            (bool x, bool y) => x.CompareTo(y),
            (Guid x, Guid y) => x.CompareTo(y),
            (DateTimeOffset x, DateTimeOffset y) => x.CompareTo(y),
            (Guid x, string y) when Guid.TryParse(y, out var g) => x.CompareTo(g),
            (string x, Guid y) when Guid.TryParse(x, out var g) => g.CompareTo(y),
            (DateTimeOffset x, string y) when TryDate(y, out var d) => x.CompareTo(d),
            (string x, DateTimeOffset y) when TryDate(x, out var d) => d.CompareTo(y),
            _ => string.CompareOrdinal(a.GetType().Name, b.GetType().Name) is var c && c != 0 ? c : -1,
        };
    }

    /// <summary>Numbers become decimal, lookups their id.</summary>
    public static object? Normalize(object? value) => value switch
    {
        int i => (decimal)i,
        long l => (decimal)l,
        double d => (decimal)d,
        float f => (decimal)f,
        LookupValue lookup => lookup.Id,
        _ => value,
    };

    private static bool TryDate(string text, out DateTimeOffset date) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date);
}
