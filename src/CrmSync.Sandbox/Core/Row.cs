namespace CrmSync.Sandbox.Core;

/// <summary>
/// An immutable row version. Updates replace the row, so readers never see a half-written row and
/// undoing a change (change sets, snapshot batches) restores the previous instance.
/// </summary>
public sealed class Row
{
    public Row(object?[] values, long version, Guid modifiedBy)
    {
        Values = values;
        Version = version;
        ModifiedBy = modifiedBy;
    }

    public object?[] Values { get; }

    /// <summary>Row version (Dataverse versionnumber, the etag).</summary>
    public long Version { get; }

    /// <summary>The identity that last wrote the row.</summary>
    public Guid ModifiedBy { get; }

    public object? this[int index] => Values[index];
}
