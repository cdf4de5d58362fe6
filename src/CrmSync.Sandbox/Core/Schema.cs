using System.Text.Json.Nodes;

namespace CrmSync.Sandbox.Core;

/// <summary>The type of a column, as the emulated service's metadata (Edm) declares it.</summary>
public enum ColumnType
{
    String,
    Int,
    Decimal,
    Bool,
    Guid,
    DateTime,
    /// <summary>A Dataverse lookup: the value is a <see cref="LookupValue"/>.</summary>
    Lookup,
    /// <summary>A Graph complex or collection value: the value is a <see cref="JsonNode"/>.</summary>
    Json,
}

/// <summary>A Dataverse lookup value: the referenced row and its entity set.</summary>
public sealed record LookupValue(Guid Id, string EntitySet);

/// <summary>One column of an emulated table.</summary>
public sealed record Column(string Name, ColumnType Type)
{
    /// <summary>Maximum string length (0 = unlimited).</summary>
    public int MaxLength { get; init; }

    /// <summary>Set by the service only (modifiedon, lastModifiedDateTime, computed names).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Never returned (Graph passwordProfile).</summary>
    public bool WriteOnly { get; init; }

    /// <summary>
    /// For an OData enum property (BC options): its member names as the service spells them in JSON and
    /// filters, a blank option encoded as <c>_x0020_</c>. The first member is the default.
    /// </summary>
    public IReadOnlyList<string>? EnumMembers { get; init; }

    /// <summary>For a collection of complex values (Graph assignedLicenses): the shape of one element, for any/all filters.</summary>
    public EntitySchema? ElementSchema { get; init; }

    /// <summary>For lookups: navigation property name → target entity set (several for polymorphic lookups).</summary>
    public IReadOnlyDictionary<string, string>? Navigation { get; init; }

    /// <summary>For a date-time column: an Edm.Date property (a day, no time), written as yyyy-MM-dd.</summary>
    public bool DateOnly { get; init; }

    public string EdmType => Type switch
    {
        ColumnType.DateTime when DateOnly => "Edm.Date",
        ColumnType.String => "Edm.String",
        ColumnType.Int => "Edm.Int32",
        ColumnType.Decimal => "Edm.Decimal",
        ColumnType.Bool => "Edm.Boolean",
        ColumnType.Guid or ColumnType.Lookup => "Edm.Guid",
        ColumnType.DateTime => "Edm.DateTimeOffset",
        _ => "Edm.Untyped",
    };
}

/// <summary>An emulated table: its columns, key and rules.</summary>
public sealed class EntitySchema
{
    private readonly Dictionary<string, int> _index;

    public EntitySchema(string logicalName, string entitySet, string key, IEnumerable<Column> columns)
    {
        LogicalName = logicalName;
        EntitySet = entitySet;
        Key = key;
        Columns = columns.ToArray();
        _index = Columns.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        if (!_index.ContainsKey(key))
        {
            throw new ArgumentException($"Key column {key} is not a column of {logicalName}.");
        }
    }

    public string LogicalName { get; }

    public string EntitySet { get; }

    public string Key { get; }

    public IReadOnlyList<Column> Columns { get; }

    /// <summary>Columns whose values must be unique (case-insensitive for strings).</summary>
    public IReadOnlyList<string> UniqueColumns { get; init; } = Array.Empty<string>();

    /// <summary>Columns a create must supply.</summary>
    public IReadOnlyList<string> RequiredOnCreate { get; init; } = Array.Empty<string>();

    /// <summary>The column used for the default order (the key when null).</summary>
    public string? DefaultOrder { get; init; }

    public int KeyIndex => _index[Key];

    public int IndexOf(string column) => _index.TryGetValue(column, out var i) ? i : -1;

    public Column? Find(string column) => _index.TryGetValue(column, out var i) ? Columns[i] : null;

    /// <summary>Finds the lookup column behind a navigation property (e.g. parentcustomerid_account).</summary>
    public (Column Column, string EntitySet)? FindNavigation(string navigationProperty)
    {
        foreach (var column in Columns.Where(c => c.Navigation is not null))
        {
            if (column.Navigation!.TryGetValue(navigationProperty, out var set))
            {
                return (column, set);
            }
        }

        return null;
    }
}

/// <summary>Property resolution shared by BC and Graph: every readable column by its name.</summary>
public static class PlainProperties
{
    public static PropertyResolver For(EntitySchema schema) => path =>
    {
        var index = schema.IndexOf(path);
        if (index < 0 || schema.Columns[index].WriteOnly)
        {
            return null;
        }

        var column = schema.Columns[index];
        return new PropertyAccess(row => row.Values[index], column.Type) { EnumMembers = column.EnumMembers, ElementSchema = column.ElementSchema };
    };
}
