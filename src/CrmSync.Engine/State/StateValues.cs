using System.Data.Common;
using System.Globalization;

namespace CrmSync.State;

/// <summary>How values are written to and read from state columns.</summary>
internal static class StateValues
{
    public static string? GetNullableString(DbDataReader r, string column)
    {
        var ordinal = r.GetOrdinal(column);
        return r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
    }

    // Dates are stored as UTC ISO 8601 with 7 fractional digits, so text order is time order.
    public static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static string? FormatNullable(DateTimeOffset? value) => value is null ? null : Format(value.Value);

    public static string Format(Guid value) => value.ToString("D");

    public static string? FormatNullable(Guid? value) => value?.ToString("D");

    public static DateTimeOffset ParseDate(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static DateTimeOffset? ParseNullableDate(string? value) => value is null ? null : ParseDate(value);

    public static Guid? ParseNullableGuid(string? value) => value is null ? null : Guid.Parse(value);
}
