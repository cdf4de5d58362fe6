using System.Text.Json.Nodes;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// Crash recovery for BC creates (BC has no idempotent create): a create announced but never committed is looked for in
/// BC; if BC has the record, it is coupled; otherwise the announcement is forgotten and the source row, which the
/// watermark did not pass, is read again. It runs for a mapping before any of its passes: the BC → Dataverse pass would
/// otherwise take such a record for a new one and copy it back, a duplicate on both sides.
/// </summary>
internal sealed class PendingCreateRecovery(IntegrationTableMapping mapping, StateStore store, SyncSideAccess businessCentral, SyncOptions options, ISyncObserver observer)
{
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        foreach (var pending in store.PendingWrites.GetAll(mapping.Name).Where(p => p.Side == SyncSide.BusinessCentral && p.Operation == "Create"))
        {
            var dataverseId = Guid.Parse(pending.SourceId);
            if (store.Couplings.GetByDataverseId(mapping.Name, dataverseId) is null && pending.Marker is not null && JsonNode.Parse(pending.Marker) is JsonObject values)
            {
                var match = await FindCreatedAsync(pending, values, cancellationToken).ConfigureAwait(false);
                if (match is not null && !options.WhatIf)
                {
                    // Coupled as of the BC record's version: the next Dataverse → BC pass compares the source with it as usual.
                    store.Couplings.Save(CouplingView.New(mapping.Name, toDataverse: false, dataverseId, match.Id) with
                    {
                        BcLastSynchModifiedOn = match.ModifiedOn,
                        BcVersion = match.ETag,
                        LastSynchResult = SyncResult.Success,
                    });
                    observer.Verbose($"{mapping.Name}: coupled {businessCentral.EntityName} {match.Id}, created by an interrupted run, to Dataverse {dataverseId}.");
                }
            }

            if (!options.WhatIf)
            {
                store.PendingWrites.Remove(pending.Id);
            }
        }
    }

    // The record the interrupted run created: same key value, modified since shortly before the announcement, not coupled,
    // and carrying every value that was sent.
    private async Task<SideRow?> FindCreatedAsync(PendingWrite pending, JsonObject values, CancellationToken cancellationToken)
    {
        var keyField = values.ContainsKey("displayName") ? "displayName" : values.Select(kv => kv.Key).FirstOrDefault(k => values[k] is JsonValue v && v.TryGetValue<string>(out _));
        if (keyField is null)
        {
            return null;
        }

        var since = pending.CreatedAt - TimeSpan.FromSeconds(5);
        var candidates = await businessCentral.FindAsync($"{keyField} eq {SyncSideAccess.Literal(values[keyField])} and lastModifiedDateTime ge {since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}", cancellationToken).ConfigureAwait(false);
        return candidates.FirstOrDefault(c => store.Couplings.GetByBcId(mapping.Name, c.Id) is null &&
            values.Where(kv => kv.Value is JsonValue).All(kv => !c.Data.ContainsKey(kv.Key) || FieldTransfer.SameValue(kv.Value, c.Data[kv.Key])));
    }
}
