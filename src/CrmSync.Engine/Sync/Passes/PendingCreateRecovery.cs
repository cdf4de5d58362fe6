using System.Text.Json.Nodes;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// Crash recovery for BC creates (BC has no idempotent create): a create announced but never committed is looked for in
/// BC; if BC has the record, it is coupled; otherwise the announcement is forgotten and the source row, which the
/// watermark did not pass, is read again.
/// </summary>
internal sealed class PendingCreateRecovery(PassContext pass)
{
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = pass.Store;
        foreach (var pending in store.GetPendingWrites(pass.Mapping.Name).Where(p => p.Side == SyncSide.BusinessCentral && p.Operation == "Create"))
        {
            var sourceId = Guid.Parse(pending.SourceId);
            if (pass.CouplingOfSource(sourceId) is null && pending.Marker is not null && JsonNode.Parse(pending.Marker) is JsonObject values)
            {
                var match = await FindCreatedAsync(pending, values, cancellationToken).ConfigureAwait(false);
                if (match is not null && !pass.Options.WhatIf)
                {
                    var coupling = pass.NewCoupling(sourceId, match.Id).Coupling with
                    {
                        BcLastSynchModifiedOn = match.ModifiedOn, BcVersion = match.ETag, LastSynchResult = SyncResult.Success, LastSynchJobId = pass.JobId,
                    };
                    store.SaveCoupling(coupling);
                    pass.Observer.Verbose($"{pass.Mapping.Name}: coupled {pass.Destination.EntityName} {match.Id}, created by an interrupted run, to Dataverse {sourceId}.");
                }
            }

            pass.Save(() => store.RemovePendingWrite(pending.Id));
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
        var candidates = await pass.Destination.FindAsync($"{keyField} eq {SyncSideAccess.Literal(values[keyField])} and lastModifiedDateTime ge {since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}", cancellationToken).ConfigureAwait(false);
        return candidates.FirstOrDefault(c => !pass.IsDestinationCoupled(c.Id) &&
            values.Where(kv => kv.Value is JsonValue).All(kv => !c.Data.ContainsKey(kv.Key) || FieldTransfer.SameValue(kv.Value, c.Data[kv.Key])));
    }
}
