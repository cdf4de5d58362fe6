using System.Globalization;
using System.Text.Json.Nodes;
using CrmSync.Mapping;

namespace CrmSync.Sync;

/// <summary>A record as read from one side: id, modified-on, the fields CrmSync maps, and its etag.</summary>
internal sealed record SideRow(Guid Id, DateTimeOffset ModifiedOn, JsonObject Data, string? ETag);

/// <summary>A write to one side: create (with the id it must get, when the side accepts one) or update of changed fields.</summary>
internal sealed record SideWrite(Guid? Id, bool Create, JsonObject Values, string? ETag, int Index);

internal sealed record SideWriteResult(SideWrite Write, Guid? Id, DateTimeOffset? ModifiedOn, JsonObject? Row, CrmSyncException? Error)
{
    public string? ETag => Row?["@odata.etag"]?.GetValue<string>();
}

/// <summary>
/// One side of a mapping (Business Central or Dataverse): how its rows are read, found and written.
/// The sync algorithm is written once against this, for both directions.
/// </summary>
internal abstract class SyncSideAccess
{
    protected SyncSideAccess(IntegrationTableMapping mapping) => Mapping = mapping;

    protected IntegrationTableMapping Mapping { get; }

    public abstract CrmSync.Mapping.SyncSide Side { get; }

    /// <summary>The mapping's inclusion filter on this side.</summary>
    public abstract string? InclusionFilter { get; }

    public abstract string EntityName { get; }

    /// <summary>How the side reads a mapped field (Dataverse lookups as _x_value).</summary>
    public abstract string ReadName(string field);

    /// <summary>
    /// Rows (within the inclusion filter) modified at or after <paramref name="modifiedFrom"/>, ordered by modified-on and id,
    /// <paramref name="pageSize"/> per request. At or after: a row committed late with a modified-on exactly the overlap
    /// behind the watermark (a whole second on Dataverse) is still read.
    /// </summary>
    public virtual IAsyncEnumerable<SideRow> ReadAsync(DateTimeOffset? modifiedFrom, string? extraFilter, int pageSize, CancellationToken cancellationToken) =>
        Query(And(InclusionFilter, modifiedFrom is { } from ? Modified("ge", from) : null, extraFilter), descending: false, pageSize, cancellationToken);

    /// <summary>Rows modified at or after <paramref name="from"/> and before <paramref name="before"/> (open-ended when null), <paramref name="pageSize"/> per request: one slice of a read in parallel.</summary>
    public virtual IAsyncEnumerable<SideRow> ReadSliceAsync(DateTimeOffset from, DateTimeOffset? before, string? extraFilter, int pageSize, CancellationToken cancellationToken) =>
        Query(And(InclusionFilter, Modified("ge", from), before is { } end ? Modified("lt", end) : null, extraFilter), descending: false, pageSize, cancellationToken);

    /// <summary>The latest modified-on of the rows (one request for one row), or null when there are none.</summary>
    public virtual async Task<DateTimeOffset?> LastModifiedAsync(string? extraFilter, CancellationToken cancellationToken)
    {
        await foreach (var row in Query(And(InclusionFilter, extraFilter), descending: true, 1, cancellationToken).ConfigureAwait(false))
        {
            return row.ModifiedOn;
        }

        return null;
    }

    /// <summary>Rows matching <paramref name="filter"/>, ordered by modified-on and id, <paramref name="pageSize"/> per request.</summary>
    protected abstract IAsyncEnumerable<SideRow> Query(string filter, bool descending, int pageSize, CancellationToken cancellationToken);

    /// <summary>A comparison of this side's modified-on column with a value (gt, ge, lt), at the precision the side stores.</summary>
    protected abstract string Modified(string op, DateTimeOffset value);

    /// <summary>Most rows per read request of a slice (SourceRead sizes them to the service's speed, up to this): large enough that the per-request cost is small.</summary>
    public virtual int ReadPageSize => 500;

    /// <summary>Slices read at once when a read is longer than a page (SourceRead).</summary>
    public abstract int ReadSlices { get; }

    public abstract Task<Dictionary<Guid, SideRow>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken);

    /// <summary>Writes records; <paramref name="destinationIdle"/>: nothing else is being written, so small requests that use every slot are worth their per-request cost.</summary>
    public abstract Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, bool destinationIdle, CancellationToken cancellationToken);

    /// <summary>Source records per engine batch (one state commit) when this side is written: <paramref name="requested"/> by default.</summary>
    public virtual int RecordsPerBatch(int requested) => requested;

    /// <summary>Rows (within the inclusion filter) matching an extra filter: match-based coupling.</summary>
    public async Task<List<SideRow>> FindAsync(string filter, CancellationToken cancellationToken)
    {
        var rows = new List<SideRow>();
        await foreach (var row in ReadAsync(null, filter, 11, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
            if (rows.Count > 10)
            {
                break;
            }
        }

        return rows;
    }

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await foreach (var _ in ReadAsync(null, null, 1, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    /// <summary>A filter literal for a value of this side.</summary>
    public static string Literal(JsonNode? value) => value switch
    {
        null => "null",
        JsonValue v when v.TryGetValue<string>(out var s) => Guid.TryParse(s, out var g) && s.Length == 36 ? g.ToString() : "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        JsonValue v => v.ToJsonString(),
        _ => "null",
    };

    protected static string And(params string?[] filters)
    {
        var parts = filters.Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => "(" + f + ")").ToList();
        return parts.Count == 0 ? string.Empty : string.Join(" and ", parts);
    }

    protected static IEnumerable<Guid[]> Chunks(IEnumerable<Guid> ids, int size = 40) => ids.Distinct().Chunk(size);

    protected static DateTimeOffset ParseDate(JsonNode? node) =>
        DateTimeOffset.Parse(node?.GetValue<string>() ?? throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, "A record came back without its modified-on value."),
            CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
