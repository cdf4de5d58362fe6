using CrmSync.BusinessCentral;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>A coupling as admins see it: the mapping, both ids, the last results and whether it is skipped.</summary>
public sealed record CouplingView
{
    public required string MappingName { get; init; }

    public Guid BcId { get; init; }

    public Guid DataverseId { get; init; }

    public SyncResult LastResultToDataverse { get; init; }

    public SyncResult LastResultToBusinessCentral { get; init; }

    public string? LastError { get; init; }

    public bool Skipped { get; init; }

    public DateTimeOffset? BcLastSynchModifiedOn { get; init; }

    public DateTimeOffset? DataverseLastSynchModifiedOn { get; init; }

    public DateTimeOffset CoupledAt { get; init; }

    /// <summary>True for a record that failed before it could be coupled (DataverseId or BcId is then empty).</summary>
    public bool IsPendingFailure { get; init; }

    internal static CouplingView From(IntegrationCoupling c) => new()
    {
        MappingName = c.MappingName, BcId = c.BcId, DataverseId = c.DataverseId, LastResultToDataverse = c.LastSynchCrmResult,
        LastResultToBusinessCentral = c.LastSynchResult, LastError = c.LastErrorMessage, Skipped = c.Skipped,
        BcLastSynchModifiedOn = c.BcLastSynchModifiedOn, DataverseLastSynchModifiedOn = c.DataverseLastSynchModifiedOn, CoupledAt = c.CoupledAt,
    };

    internal static CouplingView From(UncoupledFailure f) => new()
    {
        MappingName = f.MappingName,
        BcId = f.Direction == SyncDirection.ToIntegrationTable ? f.SourceId : Guid.Empty,
        DataverseId = f.Direction == SyncDirection.FromIntegrationTable ? f.SourceId : Guid.Empty,
        LastResultToDataverse = f.Direction == SyncDirection.ToIntegrationTable ? SyncResult.Failure : SyncResult.None,
        LastResultToBusinessCentral = f.Direction == SyncDirection.FromIntegrationTable ? SyncResult.Failure : SyncResult.None,
        LastError = f.Message, Skipped = f.Skipped, CoupledAt = f.FailedAt, IsPendingFailure = true,
    };
}

/// <summary>Lists, creates, removes and resets couplings; match-based coupling (docs/reference/integration.md §A.3, §C.9).</summary>
internal sealed class CouplingService(StateStore store, DataverseClient dataverse, BusinessCentralClient businessCentral)
{
    /// <summary>Couplings in a connection's state, records read as the connection's own identity.</summary>
    public static CouplingService For(CrmSyncConnection connection) => new(connection.Store, connection.Dataverse, connection.BusinessCentral);

    /// <summary>Couplings (and records that failed before being coupled) of a mapping, or of all.</summary>
    public IReadOnlyList<CouplingView> Get(string? mappingName = null, bool failedOrSkippedOnly = false)
    {
        var couplings = store.Couplings.GetAll(mappingName).Select(CouplingView.From)
            .Concat(store.Failures.GetAll(mappingName).Select(CouplingView.From));
        return couplings.Where(c => !failedOrSkippedOnly || c.Skipped || c.LastResultToDataverse == SyncResult.Failure || c.LastResultToBusinessCentral == SyncResult.Failure).ToList();
    }

    /// <summary>
    /// Couples a BC record and a Dataverse row explicitly. The next synchronization copies values in the
    /// direction the mapping's update-conflict policy favours (BC wins → to Dataverse, Dataverse wins →
    /// to BC); with no policy it copies nothing until one side changes.
    /// </summary>
    public async Task<CouplingView> CoupleAsync(string mappingName, Guid bcId, Guid dataverseId, CancellationToken cancellationToken)
    {
        var mapping = new MappingCatalog(store).Get(mappingName);
        if (store.Couplings.GetByBcId(mapping.Name, bcId) is { } existing)
        {
            throw new CrmSyncException("CouplingExists", CrmSyncErrorKind.InvalidOperation,
                $"The {mapping.BcTable} {bcId} is already coupled to {mapping.DataverseTable} {existing.DataverseId} in {mapping.Name}. Remove-IntegrationCoupling first.", bcId);
        }

        if (store.Couplings.GetByDataverseId(mapping.Name, dataverseId) is { } other)
        {
            throw new CrmSyncException("CouplingExists", CrmSyncErrorKind.InvalidOperation,
                $"The {mapping.DataverseTable} {dataverseId} is already coupled to {mapping.BcTable} {other.BcId} in {mapping.Name}. Remove-IntegrationCoupling first.", dataverseId);
        }

        var bc = (await new BusinessCentralSideAccess(mapping, businessCentral).GetByIdsAsync(new[] { bcId }, cancellationToken).ConfigureAwait(false)).Values.FirstOrDefault()
            ?? throw new CrmSyncException("RecordNotFound", CrmSyncErrorKind.ObjectNotFound, $"There is no {mapping.BcTable} with id {bcId} in Business Central. Check -BcId: it is the record's id in the Business Central API ({mapping.BcEntitySet}), not its number.", bcId);
        var dv = (await new DataverseSideAccess(mapping, dataverse).GetByIdsAsync(new[] { dataverseId }, cancellationToken).ConfigureAwait(false)).Values.FirstOrDefault()
            ?? throw new CrmSyncException("RecordNotFound", CrmSyncErrorKind.ObjectNotFound, $"There is no {mapping.DataverseTable} with id {dataverseId} in Dataverse. Check -DataverseId: it is the row's {mapping.DataverseIdColumn}.", dataverseId);
        var coupling = Coupled(mapping, bc, dv);
        store.InTransaction(() =>
        {
            store.Couplings.Save(coupling);
            store.Failures.Remove(mapping.Name, SyncDirection.ToIntegrationTable, bcId);
            store.Failures.Remove(mapping.Name, SyncDirection.FromIntegrationTable, dataverseId);
        });
        return CouplingView.From(coupling);
    }

    // The side the conflict policy favours is left "changed" so the next sync copies it; the other side is current.
    private static IntegrationCoupling Coupled(IntegrationTableMapping mapping, SideRow bc, SideRow dv) => new()
    {
        MappingName = mapping.Name,
        BcId = bc.Id,
        DataverseId = dv.Id,
        BcLastSynchModifiedOn = mapping.UpdateConflictResolution == UpdateConflictResolution.SendUpdateToIntegration ? null : bc.ModifiedOn,
        BcVersion = mapping.UpdateConflictResolution == UpdateConflictResolution.SendUpdateToIntegration ? null : bc.ETag,
        DataverseLastSynchModifiedOn = mapping.UpdateConflictResolution == UpdateConflictResolution.GetUpdateFromIntegration ? null : dv.ModifiedOn,
        DataverseVersion = mapping.UpdateConflictResolution == UpdateConflictResolution.GetUpdateFromIntegration ? null : dv.ETag,
        CoupledAt = DateTimeOffset.UtcNow,
    };

    /// <summary>
    /// Match-based coupling: every uncoupled BC record in the mapping's filter is coupled to the one uncoupled
    /// Dataverse row whose match fields are equal (case-insensitive). No match or several matches are reported.
    /// </summary>
    public async Task<IReadOnlyList<MatchResult>> CoupleByMatchAsync(string mappingName, IReadOnlyList<string>? matchOn, Func<string, string, bool> shouldProcess, CancellationToken cancellationToken)
    {
        var mapping = new MappingCatalog(store).Get(mappingName);
        var fields = MatchFields(mapping, matchOn);
        var bcSide = new BusinessCentralSideAccess(mapping, businessCentral);
        var dvSide = new DataverseSideAccess(mapping, dataverse);
        var results = new List<MatchResult>();
        await foreach (var bc in bcSide.ReadAsync(null, null, bcSide.ReadPageSize, cancellationToken).ConfigureAwait(false))
        {
            if (store.Couplings.GetByBcId(mapping.Name, bc.Id) is not null)
            {
                continue;
            }

            var key = $"{bc.Data[mapping.BcKeyField]} {bc.Data["displayName"]}".Trim();
            var conditions = fields.Select(f => (f, Value: bc.Data[f.BcField!])).ToList();
            if (conditions.Any(c => FieldTransfer.IsEmpty(c.Value)))
            {
                results.Add(new MatchResult(mapping.Name, bc.Id, key, null, $"Not matched: {string.Join(", ", conditions.Where(c => FieldTransfer.IsEmpty(c.Value)).Select(c => c.f.BcFieldCaption))} is empty."));
                continue;
            }

            var filter = string.Join(" and ", conditions.Select(c => $"{dvSide.ReadName(c.f.DataverseField!)} eq {SyncSideAccess.Literal(c.Value)}"));
            var matches = (await dvSide.FindAsync(filter, cancellationToken).ConfigureAwait(false)).Where(m => store.Couplings.GetByDataverseId(mapping.Name, m.Id) is null).ToList();
            if (matches.Count != 1)
            {
                results.Add(new MatchResult(mapping.Name, bc.Id, key, null, matches.Count == 0 ? "Not matched: no uncoupled Dataverse row has the same values." : $"Not matched: {matches.Count} Dataverse rows have the same values."));
                continue;
            }

            if (!shouldProcess($"{mapping.Name} {mapping.BcTable} {key}", $"Couple to {mapping.DataverseTable} {matches[0].Id}"))
            {
                continue;
            }

            store.Couplings.Save(Coupled(mapping, bc, matches[0]));
            results.Add(new MatchResult(mapping.Name, bc.Id, key, matches[0].Id, "Coupled"));
        }

        return results;
    }

    private static IReadOnlyList<IntegrationFieldMapping> MatchFields(IntegrationTableMapping mapping, IReadOnlyList<string>? matchOn)
    {
        var usable = mapping.FieldMappings.Where(f => f.Status != FieldMappingStatus.Unavailable && f.BcField is not null && f.DataverseField is not null).ToList();
        if (matchOn is { Count: > 0 })
        {
            return matchOn.Select(name => usable.FirstOrDefault(f => string.Equals(f.BcFieldCaption, name, StringComparison.OrdinalIgnoreCase) || string.Equals(f.BcField, name, StringComparison.OrdinalIgnoreCase) || string.Equals(f.DataverseField, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new CrmSyncException("MatchFieldNotFound", CrmSyncErrorKind.InvalidArgument,
                    $"Mapping '{mapping.Name}' has no usable field mapping '{name}'. Use one of: {string.Join(", ", usable.Select(f => f.BcFieldCaption).Distinct())}.", name)).ToList();
        }

        var configured = usable.Where(f => f.UseForMatchBasedCoupling).ToList();
        return configured.Count > 0 ? configured : throw new CrmSyncException("MatchFieldsMissing", CrmSyncErrorKind.InvalidArgument,
            $"Mapping '{mapping.Name}' has no field mappings marked for match-based coupling. Say which fields to match with -MatchOn, e.g. -MatchOn Name.", mapping);
    }

    /// <summary>Removes couplings (BC's "Remove Coupling"); no data changes.</summary>
    public bool Remove(string mappingName, Guid? bcId, Guid? dataverseId)
    {
        var coupling = bcId is { } b ? store.Couplings.GetByBcId(mappingName, b) : dataverseId is { } d ? store.Couplings.GetByDataverseId(mappingName, d) : null;
        return coupling is not null && store.Couplings.Remove(mappingName, coupling.BcId);
    }

    /// <summary>Clears failed and skipped state so the next sync retries (BC's "Retry" / "Retry All"); returns what was reset.</summary>
    public IReadOnlyList<CouplingView> Reset(string mappingName, Guid? id = null)
    {
        var reset = new List<CouplingView>();
        store.InTransaction(() =>
        {
            foreach (var coupling in store.Couplings.GetAll(mappingName).Where(c => id is null || c.BcId == id || c.DataverseId == id))
            {
                if (coupling.Skipped || coupling.LastSynchResult == SyncResult.Failure || coupling.LastSynchCrmResult == SyncResult.Failure)
                {
                    // Keep the Failure results: failed records are candidates of the next run whether or not they changed.
                    var cleared = coupling with { Skipped = false, LastErrorMessage = null, LastErrorToDataverse = null, LastErrorToBusinessCentral = null };
                    store.Couplings.Save(cleared);
                    reset.Add(CouplingView.From(cleared));
                }
            }

            foreach (var failure in store.Failures.GetAll(mappingName).Where(f => id is null || f.SourceId == id))
            {
                var cleared = failure with { Skipped = false, FailureCount = 0, Message = string.Empty };
                store.Failures.Save(cleared);
                reset.Add(CouplingView.From(cleared));
            }
        });
        return reset;
    }
}

/// <summary>The outcome of match-based coupling for one BC record.</summary>
public sealed record MatchResult(string MappingName, Guid BcId, string BcKey, Guid? DataverseId, string Outcome);
