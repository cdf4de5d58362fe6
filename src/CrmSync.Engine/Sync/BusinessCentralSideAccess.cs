using System.Text.Json.Nodes;
using CrmSync.BusinessCentral;
using CrmSync.Mapping;

namespace CrmSync.Sync;

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

    // BC processes 5 requests per user at once (more wait in its queue): five slices per identity use them all. BC is read
    // this way only when it is the source, so no writes of the same pass compete; the few lookups wait their turn.
    public override int ReadSlices => ConcurrentRequests;

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
    // records is five full $batch requests in flight together, each counting once against the request limit (per
    // identity: a pool's batches are larger by its size).
    public override int RecordsPerBatch(int requested) => Math.Max(requested, ConcurrentRequests * BusinessCentralClient.MaxBatchOperations);

    private int ConcurrentRequests => 5 * client.PoolSize;

    // Full $batch requests whether or not BC is otherwise idle: its request-count limit is what binds (§3.1).
    public override async Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, bool destinationIdle, CancellationToken cancellationToken)
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
