using System.Globalization;
using System.Text.Json.Nodes;
using CrmSync.Dataverse;
using CrmSync.Mapping;

namespace CrmSync.Sync;

/// <summary>The Dataverse side: Web API queries ordered by modifiedon, upserts and updates through $batch.</summary>
internal sealed class DataverseSideAccess(IntegrationTableMapping mapping, DataverseClient client) : SyncSideAccess(mapping)
{
    /// <summary>Lookup columns CrmSync writes: navigation property and target entity set (docs/reference/integration.md §D.4).</summary>
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

    // Dataverse allows a user 52 concurrent requests; four slices per identity keep reads ahead of the writes (BC takes at
    // most 2,000 records/s per identity, §3.1) without holding many pages in memory.
    public override int ReadSlices => 4 * client.PoolSize;

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

    public override async Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, bool destinationIdle, CancellationToken cancellationToken)
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
        // request only, and every write is an idempotent upsert, so their order does not matter. A small batch (the start of a
        // pass, a slow source) is spread thin only when nothing else is being written: each request costs server time of its own.
        var fewest = destinationIdle ? MinRecordsPerRequestWhenIdle : MinRecordsPerRequest;
        var chunkSize = Math.Max(fewest, (int)Math.Ceiling(operations.Count / (double)MaxRequestsPerBatch));
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
    // large enough that the per-request cost is small against the per-record execution time (docs/reference/limits.md
    // §3.1: the execution-time bound grows with B), and with the next batches' writes queued behind them the service is never idle. A pool
    // of identities has that many times the limits, so its batches are that many times larger.
    public override int RecordsPerBatch(int requested) => Math.Max(requested, MaxRequestsPerBatch * RecordsPerRequest);

    /// <summary>Requests one engine batch is spread over at most (four per identity), and the fewest records worth a request of their own (while other batches are written; when none is).</summary>
    private int MaxRequestsPerBatch => 4 * client.PoolSize;
    private const int RecordsPerRequest = 500;
    private const int MinRecordsPerRequest = 100;
    private const int MinRecordsPerRequestWhenIdle = 10;
}
