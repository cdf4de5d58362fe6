using System.Globalization;
using System.Text.Json.Nodes;
using CrmSync.BusinessCentral;
using CrmSync.Dataverse;
using CrmSync.Http;
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

    /// <summary>Rows modified at or after <paramref name="from"/> and before <paramref name="before"/> (open-ended when null): one slice of a read in parallel.</summary>
    public virtual IAsyncEnumerable<SideRow> ReadSliceAsync(DateTimeOffset from, DateTimeOffset? before, string? extraFilter, CancellationToken cancellationToken) =>
        Query(And(InclusionFilter, Modified("ge", from), before is { } end ? Modified("lt", end) : null, extraFilter), descending: false, ReadPageSize, cancellationToken);

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

    /// <summary>Rows per read request of a slice: small enough that the first rows come soon, large enough that the per-request cost is small.</summary>
    public virtual int ReadPageSize => 500;

    /// <summary>Slices read at once when a read is longer than a page (SourceRead).</summary>
    public abstract int ReadSlices { get; }

    public abstract Task<Dictionary<Guid, SideRow>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken);

    public abstract Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, CancellationToken cancellationToken);

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

/// <summary>The Dataverse side: Web API queries ordered by modifiedon, upserts and updates through $batch.</summary>
internal sealed class DataverseSideAccess(IntegrationTableMapping mapping, DataverseClient client) : SyncSideAccess(mapping)
{
    /// <summary>Lookup columns CrmSync writes: navigation property and target entity set (reference/domain.md §D.4).</summary>
    public static readonly IReadOnlyDictionary<string, (string Navigation, string EntitySet)> Lookups = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
    {
        ["transactioncurrencyid"] = ("transactioncurrencyid", "transactioncurrencies"),
        ["ownerid"] = ("ownerid", "systemusers"),
        ["parentcustomerid"] = ("parentcustomerid_account", "accounts"),
        ["primarycontactid"] = ("primarycontactid", "contacts"),
    };

    public override CrmSync.Mapping.SyncSide Side => CrmSync.Mapping.SyncSide.Dataverse;

    public override string? InclusionFilter => Mapping.IntegrationTableFilter;

    public override string EntityName => Mapping.DataverseTable;

    public override string ReadName(string field) => Lookups.ContainsKey(field) ? $"_{field}_value" : field;

    /// <summary>Who last wrote a row: the integration's own writes are echoes, not changes (echo suppression, conflicts).</summary>
    public const string ModifiedByColumn = "_modifiedby_value";

    private string[] Select() => new[] { Mapping.DataverseIdColumn, "modifiedon", ModifiedByColumn, Mapping.DataverseNameColumn }
        .Concat(Mapping.FieldMappings.Where(f => f.Status != FieldMappingStatus.Unavailable && f.DataverseField is not null).Select(f => ReadName(f.DataverseField!)))
        .Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    // Dataverse allows a user 52 concurrent requests; four slices keep reads ahead of the writes (BC takes at most 2,000
    // records/s, §3.1) without holding many pages in memory.
    public override int ReadSlices => 4;

    // modifiedon holds whole seconds.
    protected override string Modified(string op, DateTimeOffset value) =>
        $"modifiedon {op} " + value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    protected override async IAsyncEnumerable<SideRow> Query(string filter, bool descending, int pageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var order = descending ? "desc" : "asc";
        var query = new DataverseQuery(Select())
        {
            Filter = filter,
            OrderBy = $"modifiedon {order},{Mapping.DataverseIdColumn} {order}",
            PageSize = pageSize,
        };
        await foreach (var row in client.QueryAsync(Mapping.DataverseEntitySet, query, cancellationToken).ConfigureAwait(false))
        {
            yield return ToRow(row);
        }
    }

    private SideRow ToRow(JsonObject row) =>
        new(Guid.Parse(row[Mapping.DataverseIdColumn]!.GetValue<string>()), ParseDate(row["modifiedon"]), row, row["@odata.etag"]?.GetValue<string>());

    public override async Task<Dictionary<Guid, SideRow>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, SideRow>();
        foreach (var chunk in Chunks(ids))
        {
            var filter = string.Join(" or ", chunk.Select(id => $"{Mapping.DataverseIdColumn} eq {id}"));
            await foreach (var row in client.QueryAsync(Mapping.DataverseEntitySet, new DataverseQuery(Select()) { Filter = filter }, cancellationToken).ConfigureAwait(false))
            {
                var side = ToRow(row);
                found[side.Id] = side;
            }
        }

        return found;
    }

    public override async Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, CancellationToken cancellationToken)
    {
        if (writes.Count == 0)
        {
            return Array.Empty<SideWriteResult>();
        }

        // Creates are upserts to a deterministic id: repeating one (after a crash or a lost answer) cannot duplicate.
        var operations = writes.Select(w => new DataverseBatchOperation("PATCH", $"{Mapping.DataverseEntitySet}({w.Id})?$select={Mapping.DataverseIdColumn},modifiedon", w.Values)
        {
            IfMatch = w.Create ? null : w.ETag ?? "*",
            ReturnRepresentation = true,
        }).ToList();
        // Dataverse runs the requests of one $batch one after another; several smaller $batch requests at once use the
        // concurrency it allows per user (52, x-ms-dop-hint; the handler's gate keeps to it). Each record is in one
        // request only, and every write is an idempotent upsert, so their order does not matter.
        var chunkSize = Math.Max(MinRecordsPerRequest, (int)Math.Ceiling(operations.Count / (double)MaxRequestsPerBatch));
        var chunks = operations.Select((operation, index) => (operation, index)).Chunk(chunkSize).ToList();
        var answers = await Task.WhenAll(chunks.Select(async chunk =>
        {
            var results = await client.ExecuteBatchAsync(chunk.Select(c => c.operation).ToList(), DataverseBatchMode.ContinueOnError, cancellationToken).ConfigureAwait(false);
            return results.Select(r => (Index: chunk[r.Index].index, Result: r));
        })).ConfigureAwait(false);
        return answers.SelectMany(a => a).OrderBy(a => a.Index).Select(a => a.Result.Succeeded
            ? new SideWriteResult(writes[a.Index], writes[a.Index].Id, a.Result.Body?["modifiedon"] is { } m ? ParseDate(m) : null, a.Result.Body, null)
            : new SideWriteResult(writes[a.Index], writes[a.Index].Id, null, null, a.Result.Error)).ToList();
    }

    // An engine batch of 2,000 is four $batch requests of 500 (the sandbox's and Microsoft's sample x-ms-dop-hint is 4):
    // large enough that the per-request cost is small against the per-record execution time (limits-and-reliability.md
    // §3.1: X_exec grows with B), and with the next batches' writes queued behind them the service is never idle.
    public override int RecordsPerBatch(int requested) => Math.Max(requested, MaxRequestsPerBatch * RecordsPerRequest);

    /// <summary>Requests one engine batch is spread over at most, and the fewest records worth a request of their own.</summary>
    private const int MaxRequestsPerBatch = 4;
    private const int RecordsPerRequest = 500;
    private const int MinRecordsPerRequest = 10;
}

/// <summary>The Business Central side: API v2.0 queries ordered by lastModifiedDateTime, creates and updates through JSON $batch.</summary>
internal sealed class BusinessCentralSideAccess(IntegrationTableMapping mapping, BusinessCentralClient client) : SyncSideAccess(mapping)
{
    public override CrmSync.Mapping.SyncSide Side => CrmSync.Mapping.SyncSide.BusinessCentral;

    public override string? InclusionFilter => Mapping.TableFilter;

    public override string EntityName => Mapping.BcTable;

    public override string ReadName(string field) => field;

    private string[] Select() => new[] { "id", "lastModifiedDateTime", Mapping.BcKeyField, "displayName" }
        .Concat(Mapping.FieldMappings.Where(f => f.Status != FieldMappingStatus.Unavailable && f.BcField is not null).Select(f => f.BcField!))
        .Distinct(StringComparer.Ordinal).ToArray();

    // BC processes 5 requests per user at once (more wait in its queue): five slices use them all. BC is read this way only
    // when it is the source, so no writes of the same pass compete; the few lookups wait their turn.
    public override int ReadSlices => 5;

    protected override string Modified(string op, DateTimeOffset value) => BcQuery.Modified(op, value);

    protected override async IAsyncEnumerable<SideRow> Query(string filter, bool descending, int pageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var order = descending ? "desc" : "asc";
        var query = new BcQuery
        {
            Select = Select(),
            Filter = filter,
            OrderBy = $"lastModifiedDateTime {order},id {order}",
            PageSize = pageSize,
        };
        await foreach (var row in client.ListAsync(Mapping.BcEntitySet, query, cancellationToken).ConfigureAwait(false))
        {
            yield return ToRow(row);
        }
    }

    private static SideRow ToRow(JsonObject row) =>
        new(Guid.Parse(row["id"]!.GetValue<string>()), ParseDate(row["lastModifiedDateTime"]), row, row["@odata.etag"]?.GetValue<string>());

    public override async Task<Dictionary<Guid, SideRow>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, SideRow>();
        foreach (var chunk in Chunks(ids))
        {
            var filter = string.Join(" or ", chunk.Select(id => $"id eq {id}"));
            await foreach (var row in client.ListAsync(Mapping.BcEntitySet, new BcQuery { Select = Select(), Filter = filter }, cancellationToken).ConfigureAwait(false))
            {
                var side = ToRow(row);
                found[side.Id] = side;
            }
        }

        return found;
    }

    // BC processes 5 requests per user at once (more are queued) and a $batch holds 100 operations: a batch of 500
    // records is five full $batch requests in flight together, each counting once against the request limit.
    public override int RecordsPerBatch(int requested) => Math.Max(requested, ConcurrentRequests * BusinessCentralClient.MaxBatchOperations);

    private const int ConcurrentRequests = 5;

    public override async Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, CancellationToken cancellationToken)
    {
        // Each record is in one request only. Creates were announced as pending writes before this (crash safety), and
        // updates carry If-Match, so requests running at once cannot duplicate or overwrite one another.
        var answers = await Task.WhenAll(writes.Chunk(BusinessCentralClient.MaxBatchOperations).Select(async chunk =>
        {
            var operations = chunk.Select(w => w.Create
                ? new BcBatchOperation("POST", $"companies({client.CompanyId})/{Mapping.BcEntitySet}", w.Values)
                : new BcBatchOperation("PATCH", $"companies({client.CompanyId})/{Mapping.BcEntitySet}({w.Id})", w.Values) { IfMatch = w.ETag ?? "*" }).ToList();
            var results = await client.ExecuteBatchAsync(operations, snapshot: false, cancellationToken).ConfigureAwait(false);
            return results.Select(a => a.Succeeded
                ? new SideWriteResult(chunk[a.Index], Guid.Parse(a.Body!["id"]!.GetValue<string>()), ParseDate(a.Body["lastModifiedDateTime"]), a.Body, null)
                : new SideWriteResult(chunk[a.Index], chunk[a.Index].Id, null, null, a.Error));
        })).ConfigureAwait(false);
        return answers.SelectMany(a => a).ToList();
    }
}
