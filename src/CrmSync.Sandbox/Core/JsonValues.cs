using System.Globalization;
using System.Text.Json.Nodes;

namespace CrmSync.Sandbox.Core;

/// <summary>Converts between JSON and column values, with the service's type errors.</summary>
public static class JsonValues
{
    /// <summary>Reads a JSON value into a column value; null when the JSON is null. Throws <see cref="ColumnValueException"/>.</summary>
    public static object? Read(Column column, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        object? result = column.Type switch
        {
            ColumnType.String when value.ValueKind == JsonValueKind.String => value.GetString(),
            ColumnType.Int when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var l) => l,
            ColumnType.Decimal when value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) => d,
            ColumnType.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
            ColumnType.Guid when value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out var g) => g,
            ColumnType.DateTime when value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) => t.ToUniversalTime(),
            ColumnType.Json => JsonNode.Parse(value.GetRawText()),
            _ => Invalid(),
        };
        if (result is string s && column.MaxLength > 0 && s.Length > column.MaxLength)
        {
            throw new ColumnValueException(column, tooLong: true, $"The length of the string is {s.Length}, but it must be less than or equal to {column.MaxLength} characters. Value: {s}");
        }

        return result;

        object Invalid() => throw new ColumnValueException(column, tooLong: false, $"Cannot convert the literal '{value.GetRawText()}' to the expected type '{column.EdmType}'.");
    }

    public static void Write(Utf8JsonWriter writer, string name, object? value, DateFormat dates)
    {
        writer.WritePropertyName(name);
        WriteValue(writer, value, dates);
    }

    public static void WriteValue(Utf8JsonWriter writer, object? value, DateFormat dates)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case decimal d:
                writer.WriteNumberValue(d);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case Guid g:
                writer.WriteStringValue(g.ToString("D"));
                break;
            case LookupValue lookup:
                writer.WriteStringValue(lookup.Id.ToString("D"));
                break;
            case DateTimeOffset t:
                writer.WriteStringValue(FormatDate(t, dates));
                break;
            case JsonNode node:
                node.WriteTo(writer);
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    public static string FormatDate(DateTimeOffset value, DateFormat format) => format switch
    {
        DateFormat.Seconds => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        DateFormat.Milliseconds => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        DateFormat.Date => value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
    };

    /// <summary>Truncates to the precision a service stores.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value, DateFormat format) => format switch
    {
        DateFormat.Seconds => new DateTimeOffset(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero),
        DateFormat.Milliseconds => new DateTimeOffset(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero),
        _ => value.ToUniversalTime(),
    };
}

public enum DateFormat
{
    /// <summary>Dataverse: second precision.</summary>
    Seconds,
    /// <summary>BC: millisecond precision.</summary>
    Milliseconds,
    /// <summary>Graph: full precision.</summary>
    Full,
    /// <summary>An Edm.Date property (BC's lastInteractionDate): the day only.</summary>
    Date,
}

/// <summary>A JSON value that does not fit its column.</summary>
public sealed class ColumnValueException(Column column, bool tooLong, string message) : Exception(message)
{
    public Column Column { get; } = column;

    public bool TooLong { get; } = tooLong;
}
