using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// Writes a batch's decisions to the destination: asks ShouldProcess per record (-WhatIf, -Confirm), announces BC creates
/// before sending them (crash safety), and records what the destination answered on each decision.
/// </summary>
internal sealed class PassWriter(PassContext pass)
{
    /// <param name="destinationIdle">No other batch is being written: the destination may spread this one over all its request slots.</param>
    public async Task WriteAsync(List<RecordDecision> decisions, bool destinationIdle, CancellationToken cancellationToken)
    {
        var writes = new List<(RecordDecision Decision, SideWrite Write)>();
        foreach (var decision in decisions.Where(d => d.Write is not null || d.Action == SyncAction.Couple || d.Action == SyncAction.Uncouple))
        {
            if (!pass.Observer.ShouldProcess($"{pass.Mapping.Name} {pass.Source.EntityName} {pass.Key(decision.Source)}", Describe(decision)))
            {
                if (decision.Action is SyncAction.Insert or SyncAction.Couple || decision.Coupled)
                {
                    RehearseCoupling(decision);
                }

                decision.Action = SyncAction.Ignore;
                decision.Message = pass.Options.WhatIf ? "What if: not written." : "Not confirmed.";
                decision.Write = null;
                decision.Coupled = false;
                decision.Uncoupled = false;
                continue;
            }

            if (decision.Write is { } write)
            {
                writes.Add((decision, write with { Index = writes.Count }));
            }
        }

        if (writes.Count == 0)
        {
            return;
        }

        if (!pass.ToDataverse)
        {
            AnnounceBcCreates(writes.Where(w => w.Write.Create).ToList());
        }

        var results = await pass.Destination.WriteAsync(writes.Select(w => w.Write).ToList(), destinationIdle, cancellationToken).ConfigureAwait(false);
        foreach (var result in results)
        {
            var decision = writes[result.Write.Index].Decision;
            if (result.Error is not null)
            {
                decision.Fail(result.Error is Http.ServiceRequestException service ? service.ServiceMessage : result.Error.Message, IsTransient(result.Error));
                continue;
            }

            decision.DestinationId = result.Id;
            decision.DestinationModifiedOn = result.ModifiedOn;
            decision.DestinationVersion = result.ETag;
        }
    }

    // 429 and 5xx (throttling, a busy or failing server) and a request that could not be sent say nothing about the record.
    private static bool IsTransient(CrmSyncException error) =>
        error is Http.ServiceRequestException { StatusCode: 429 or >= 500 } || error.Kind == CrmSyncErrorKind.ConnectionError;

    private string Describe(RecordDecision decision)
    {
        var entity = pass.Destination.EntityName;
        var action = decision.Action switch
        {
            SyncAction.Insert => $"Create {entity}",
            SyncAction.Couple => $"Couple to {entity} {decision.DestinationId}",
            SyncAction.Uncouple => "Remove the coupling to a deleted record",
            _ => $"Update {entity} {decision.DestinationId}" + (decision.Coupled ? " (coupled by matching fields)" : string.Empty),
        };
        return decision.ChangedFields.Count > 0 ? action + ": " + string.Join(", ", decision.ChangedFields) : action;
    }

    // A BC create cannot carry our id: announce it first, so a crash between create and commit is reconciled, not
    // repeated (PendingCreateRecovery).
    private void AnnounceBcCreates(IReadOnlyList<(RecordDecision Decision, SideWrite Write)> creates)
    {
        if (creates.Count == 0)
        {
            return;
        }

        pass.Store.InTransaction(() =>
        {
            foreach (var (decision, write) in creates)
            {
                pass.Store.PendingWrites.Add(new PendingWrite
                {
                    MappingName = pass.Mapping.Name, Side = SyncSide.BusinessCentral, SourceId = decision.Source.Id.ToString(), Operation = "Create",
                    Marker = write.Values.ToJsonString(), CreatedAt = DateTimeOffset.UtcNow,
                });
            }
        });
    }

    // -WhatIf: the coupling this decision would make, so the records that depend on it rehearse as they would run.
    // A BC record that would be created has no id yet: a stand-in id serves the rehearsal.
    private void RehearseCoupling(RecordDecision decision)
    {
        if (!pass.Options.WhatIf)
        {
            return;
        }

        var destination = decision.DestinationId ?? Guid.NewGuid();
        var (bcId, dataverseId) = pass.ToDataverse ? (decision.Source.Id, destination) : (destination, decision.Source.Id);
        pass.Lookups.RehearseCoupling(pass.Mapping.Name, bcId, dataverseId, newBcRecord: !pass.ToDataverse && decision.DestinationId is null);
    }
}
