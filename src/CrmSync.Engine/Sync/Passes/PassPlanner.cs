using System.Text.Json.Nodes;
using CrmSync.Mapping;
using CrmSync.OData;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// Decides, for a batch of source records, what BC's algorithm does with each (docs/reference/integration.md §C): unchanged,
/// update (only changed fields, field-level conflicts on bidirectional fields), create, couple by matching fields,
/// follow the deletion policy, skip, or fail with the reason. Reads the destination, writes nothing.
/// </summary>
internal sealed class PassPlanner(PassContext pass, FieldTransfer transfer, IReadOnlyList<Guid> integrationUserIds)
{
    private IntegrationTableMapping Mapping => pass.Mapping;

    private bool ToDataverse => pass.ToDataverse;

    public async Task<List<RecordDecision>> PlanAsync(IReadOnlyList<SideRow> rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(r => r.Id).ToList();
        var couplings = pass.CouplingsOfSources(ids);
        var failures = pass.Store.Failures.GetMany(Mapping.Name, pass.Pass, ids);
        var decisions = rows.Select(r => new RecordDecision
        {
            Source = r, Coupling = couplings.TryGetValue(r.Id, out var coupling) ? coupling : null, PreviousFailure = failures.GetValueOrDefault(r.Id),
        }).ToList();
        var needDestination = decisions.Where(d => d.Coupling is { Skipped: false } && SourceChanged(d)).Select(d => d.Coupling!.Value.DestinationId).ToList();
        var destinations = needDestination.Count == 0 ? new Dictionary<Guid, SideRow>() : await pass.Destination.GetByIdsAsync(needDestination, cancellationToken).ConfigureAwait(false);
        foreach (var decision in decisions)
        {
            await DecideAsync(decision, destinations, cancellationToken).ConfigureAwait(false);
        }

        return decisions;
    }

    // Changed = newer modified-on, or (same modified-on, Dataverse stores whole seconds) another row version.
    internal static bool SourceChanged(RecordDecision d)
    {
        var c = d.Coupling!.Value;
        return c.SourceSynchModifiedOn is not { } stored || d.Source.ModifiedOn > stored
            || (c.SourceVersion is not null && d.Source.ETag is not null && d.Source.ETag != c.SourceVersion) || c.LastResult == SyncResult.Failure;
    }

    // A Dataverse row last written by the integration itself has not changed since the last synchronization, whatever its
    // modified-on says: that write is ours (an echo), e.g. from a run killed after writing and before committing.
    private bool DestinationChanged(CouplingView c, SideRow destination) =>
        !WrittenByTheIntegration(destination) &&
        (c.DestinationSynchModifiedOn is not { } stored || destination.ModifiedOn > stored
         || (c.DestinationVersion is not null && destination.ETag is not null && destination.ETag != c.DestinationVersion));

    private bool WrittenByTheIntegration(SideRow destination) =>
        ToDataverse && destination.Data[DataverseSideAccess.ModifiedByColumn] is JsonValue value && value.TryGetValue<string>(out var text)
        && Guid.TryParse(text, out var modifiedBy) && integrationUserIds.Contains(modifiedBy);

    private async Task DecideAsync(RecordDecision d, Dictionary<Guid, SideRow> destinations, CancellationToken cancellationToken)
    {
        if (d.Coupling?.Skipped == true || d.PreviousFailure?.Skipped == true)
        {
            d.Action = SyncAction.Skip;
            d.Message = "Skipped after the same error twice; Reset-IntegrationCoupling retries it.";
            return;
        }

        if (d.Coupling is { } coupling)
        {
            if (!SourceChanged(d))
            {
                d.Action = SyncAction.Unchanged;
                return;
            }

            if (!destinations.TryGetValue(coupling.DestinationId, out var destination))
            {
                await FollowDeletionPolicyAsync(d, cancellationToken).ConfigureAwait(false);
                return;
            }

            d.Destination = destination;
            d.DestinationId = destination.Id;
            await PlanUpdateAsync(d, coupling, destination, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Mapping.SynchOnlyCoupledRecords && !pass.Options.FullSync)
        {
            d.Action = SyncAction.Ignore;
            d.Message = "Not coupled, and the mapping synchronizes only coupled records.";
            return;
        }

        if (await MatchAsync(d, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await PlanCreateAsync(d, cancellationToken).ConfigureAwait(false);
    }

    // The coupled destination record is gone (§C.13).
    private async Task FollowDeletionPolicyAsync(RecordDecision d, CancellationToken cancellationToken)
    {
        switch (Mapping.DeletionConflictResolution)
        {
            case DeletionConflictResolution.RemoveCoupling:
                d.Action = SyncAction.Uncouple;
                d.Uncoupled = true;
                return;
            case DeletionConflictResolution.RestoreRecords:
                d.Uncoupled = true;
                d.Coupling = null;
                await PlanCreateAsync(d, cancellationToken).ConfigureAwait(false);
                return;
            default:
                d.Fail($"The {pass.Source.EntityName} record cannot be updated because it is coupled to a deleted {pass.Destination.EntityName} record. Set DeletionConflictResolution to RestoreRecords or RemoveCoupling, or remove the coupling.");
                return;
        }
    }

    private async Task PlanUpdateAsync(RecordDecision d, CouplingView coupling, SideRow destination, CancellationToken cancellationToken)
    {
        var computed = await transfer.ComputeAsync(d.Source, destination, cancellationToken).ConfigureAwait(false);
        if (computed.Failure is not null)
        {
            d.Fail(computed.Failure);
            return;
        }

        // Field-level conflict: both sides changed and a bidirectional field really differs (§C.6).
        if (Mapping.Direction == SyncDirection.Bidirectional && computed.BidirectionalDifferences.Count > 0 && DestinationChanged(coupling, destination))
        {
            var field = computed.BidirectionalDifferences[0];
            var wins = Mapping.UpdateConflictResolution switch
            {
                UpdateConflictResolution.SendUpdateToIntegration => ToDataverse,
                UpdateConflictResolution.GetUpdateFromIntegration => !ToDataverse,
                _ => (bool?)null,
            };
            if (wins is null)
            {
                d.Fail($"Cannot update a record in the {pass.Destination.EntityName} table. The mapping between {Name(field, pass.Source)} field on the {pass.Source.EntityName} table and the {Name(field, pass.Destination)} field on the {pass.Destination.EntityName} table is bi-directional, and one or both values have changed since the last synchronization.");
                return;
            }

            if (wins == false)
            {
                d.Action = SyncAction.Skip;
                d.Message = $"Update conflict resolved in favour of {(ToDataverse ? "Dataverse" : "Business Central")}.";
                return;
            }
        }

        d.ChangedFields = computed.ChangedFields;
        if (computed.Changes.Count == 0)
        {
            d.Action = SyncAction.Unchanged;
            d.DestinationModifiedOn = destination.ModifiedOn;
            d.DestinationVersion = destination.ETag;
            return;
        }

        d.Action = SyncAction.Modify;
        d.Write = new SideWrite(destination.Id, Create: false, computed.Changes, destination.ETag, 0);
    }

    private async Task PlanCreateAsync(RecordDecision d, CancellationToken cancellationToken)
    {
        var computed = await transfer.ComputeAsync(d.Source, null, cancellationToken).ConfigureAwait(false);
        if (computed.Failure is not null)
        {
            d.Fail(computed.Failure);
            return;
        }

        var values = computed.Changes;
        foreach (var (field, value) in TemplateValues())
        {
            if (!values.ContainsKey(field))
            {
                values[field] = value;
            }
        }

        if (Mapping.BcEntitySet == "salespeoplePurchasers" && !ToDataverse && !values.ContainsKey("code"))
        {
            values["code"] = await pass.Lookups.NextSalespersonCodeAsync(cancellationToken).ConfigureAwait(false);
        }

        if (Mapping.DataverseTable == "transactioncurrency" && ToDataverse)
        {
            // BC fills these from its exchange rates, which BC API v2.0 does not expose here (about_CrmSync).
            values["exchangerate"] ??= 1m;
            values["currencyprecision"] ??= 2;
        }

        d.Action = SyncAction.Insert;
        d.ChangedFields = computed.ChangedFields;
        // Dataverse takes the id we give: a create repeated after a crash upserts the same row. BC assigns its own.
        var id = ToDataverse ? DeterministicIds.ForDataverse(Mapping.Name, d.Source.Id) : (Guid?)null;
        d.DestinationId = id;
        d.Write = new SideWrite(id, Create: true, values, null, 0);
    }

    // A new record must satisfy the destination's inclusion filter, as BC's configuration templates ensure:
    // the filter's "field eq value" conditions become its initial values (e.g. customertypecode = 3).
    private IEnumerable<(string Field, JsonNode? Value)> TemplateValues()
    {
        if (pass.Destination.InclusionFilter is not { } filter)
        {
            yield break;
        }

        var stack = new Stack<FilterNode>();
        stack.Push(FilterExpression.Parse(filter));
        while (stack.Count > 0)
        {
            switch (stack.Pop())
            {
                case LogicalNode { Operator: "and" } and:
                    stack.Push(and.Left);
                    stack.Push(and.Right);
                    break;
                case ComparisonNode { Operator: "eq", Left: PropertyNode property, Right: LiteralNode literal } when !property.Path.StartsWith('_'):
                    yield return (property.Path, literal.Value switch
                    {
                        null => null,
                        decimal number when number == Math.Truncate(number) => JsonValue.Create((long)number),
                        decimal number => JsonValue.Create(number),
                        bool b => JsonValue.Create(b),
                        var other => JsonValue.Create(other.ToString()),
                    });
                    break;
            }
        }
    }

    // Match-based coupling on the fields marked for it, priority group by group (§C.9).
    private async Task<bool> MatchAsync(RecordDecision d, CancellationToken cancellationToken)
    {
        var groups = Mapping.FieldMappings.Where(f => f.UseForMatchBasedCoupling && f.Status != FieldMappingStatus.Unavailable && f.BcField is not null && f.DataverseField is not null)
            .GroupBy(f => f.MatchPriority).OrderBy(g => g.Key).ToList();
        foreach (var group in groups)
        {
            var conditions = new List<string>();
            foreach (var field in group)
            {
                var value = d.Source.Data[pass.Source.ReadName(ToDataverse ? field.BcField! : field.DataverseField!)];
                if (FieldTransfer.IsEmpty(value))
                {
                    conditions.Clear();
                    break;
                }

                conditions.Add($"{pass.Destination.ReadName(ToDataverse ? field.DataverseField! : field.BcField!)} eq {SyncSideAccess.Literal(value)}");
            }

            if (conditions.Count == 0)
            {
                continue;
            }

            var matches = (await pass.Destination.FindAsync(string.Join(" and ", conditions), cancellationToken).ConfigureAwait(false))
                .Where(m => !pass.IsDestinationCoupled(m.Id))
                .ToList();
            if (matches.Count > 1)
            {
                d.Fail($"{matches.Count} {pass.Destination.EntityName} records match on {string.Join(", ", group.Select(f => f.BcFieldCaption))}; couple the right one with New-IntegrationCoupling.");
                return true;
            }

            if (matches.Count == 1)
            {
                var match = matches[0];
                pass.ClaimDestination(match.Id);
                d.Coupled = true;
                d.Destination = match;
                d.DestinationId = match.Id;
                d.Coupling = pass.NewCoupling(d.Source.Id, match.Id);
                var computed = await transfer.ComputeAsync(d.Source, match, cancellationToken).ConfigureAwait(false);
                if (computed.Failure is not null)
                {
                    d.Fail(computed.Failure);
                    return true;
                }

                d.ChangedFields = computed.ChangedFields;
                d.Action = computed.Changes.Count == 0 ? SyncAction.Couple : SyncAction.Modify;
                d.DestinationModifiedOn = match.ModifiedOn;
                d.DestinationVersion = match.ETag;
                d.Write = computed.Changes.Count == 0 ? null : new SideWrite(match.Id, Create: false, computed.Changes, match.ETag, 0);
                return true;
            }
        }

        return false;
    }

    private static string Name(IntegrationFieldMapping field, SyncSideAccess side) =>
        side.Side == SyncSide.BusinessCentral ? field.BcFieldCaption : field.DataverseField ?? field.BcFieldCaption;
}
