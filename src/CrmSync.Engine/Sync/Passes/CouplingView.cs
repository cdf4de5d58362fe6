using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// A coupling as one pass sees it: its source and destination sides instead of BC and Dataverse, so the
/// sync algorithm reads the same in both directions. BC → Dataverse: source = BC; Dataverse → BC: source = Dataverse.
/// </summary>
internal readonly record struct CouplingView(IntegrationCoupling Coupling, bool ToDataverse)
{
    public Guid SourceId => ToDataverse ? Coupling.BcId : Coupling.DataverseId;

    public Guid DestinationId => ToDataverse ? Coupling.DataverseId : Coupling.BcId;

    /// <summary>The source's modified-on as of the last synchronization.</summary>
    public DateTimeOffset? SourceSynchModifiedOn => ToDataverse ? Coupling.BcLastSynchModifiedOn : Coupling.DataverseLastSynchModifiedOn;

    public DateTimeOffset? DestinationSynchModifiedOn => ToDataverse ? Coupling.DataverseLastSynchModifiedOn : Coupling.BcLastSynchModifiedOn;

    public string? SourceVersion => ToDataverse ? Coupling.BcVersion : Coupling.DataverseVersion;

    public string? DestinationVersion => ToDataverse ? Coupling.DataverseVersion : Coupling.BcVersion;

    /// <summary>The result of the last write in this pass's direction.</summary>
    public SyncResult LastResult => ToDataverse ? Coupling.LastSynchCrmResult : Coupling.LastSynchResult;

    /// <summary>The last error writing in this pass's direction.</summary>
    public string? LastError => ToDataverse ? Coupling.LastErrorToDataverse : Coupling.LastErrorToBusinessCentral;

    public bool Skipped => Coupling.Skipped;

    public static IntegrationCoupling New(string mappingName, bool toDataverse, Guid sourceId, Guid destinationId) => new()
    {
        MappingName = mappingName,
        BcId = toDataverse ? sourceId : destinationId,
        DataverseId = toDataverse ? destinationId : sourceId,
        CoupledAt = DateTimeOffset.UtcNow,
    };

    /// <summary>
    /// After a successful write (or a check that found nothing to write): both sides' modified-on and versions as they are
    /// now, so our own write does not look like a change next time (§C.4). This direction's last error goes; the other's stays.
    /// </summary>
    public IntegrationCoupling Succeeded(Guid jobId, DateTimeOffset? sourceModifiedOn, string? sourceVersion, DateTimeOffset? destinationModifiedOn, string? destinationVersion)
    {
        var (bcModifiedOn, bcVersion, dataverseModifiedOn, dataverseVersion) = ToDataverse
            ? (sourceModifiedOn, sourceVersion, destinationModifiedOn, destinationVersion)
            : (destinationModifiedOn, destinationVersion, sourceModifiedOn, sourceVersion);
        var c = Coupling with
        {
            BcLastSynchModifiedOn = Later(Coupling.BcLastSynchModifiedOn, bcModifiedOn),
            BcVersion = bcVersion ?? Coupling.BcVersion,
            DataverseLastSynchModifiedOn = Later(Coupling.DataverseLastSynchModifiedOn, dataverseModifiedOn),
            DataverseVersion = dataverseVersion ?? Coupling.DataverseVersion,
        };
        c = ToDataverse
            ? c with { LastSynchCrmResult = SyncResult.Success, LastSynchCrmJobId = jobId, LastErrorToDataverse = null }
            : c with { LastSynchResult = SyncResult.Success, LastSynchJobId = jobId, LastErrorToBusinessCentral = null };
        return c with { LastErrorMessage = c.LastErrorToDataverse ?? c.LastErrorToBusinessCentral };
    }

    /// <summary>The source was read again unchanged: only its modified-on and version move on.</summary>
    public IntegrationCoupling SourceSeen(DateTimeOffset sourceModifiedOn, string? sourceVersion) => ToDataverse
        ? Coupling with { BcLastSynchModifiedOn = Later(Coupling.BcLastSynchModifiedOn, sourceModifiedOn), BcVersion = sourceVersion ?? Coupling.BcVersion }
        : Coupling with { DataverseLastSynchModifiedOn = Later(Coupling.DataverseLastSynchModifiedOn, sourceModifiedOn), DataverseVersion = sourceVersion ?? Coupling.DataverseVersion };

    public IntegrationCoupling Failed(Guid jobId, string message, bool skipped) => ToDataverse
        ? Coupling with { LastSynchCrmResult = SyncResult.Failure, LastSynchCrmJobId = jobId, LastErrorMessage = message, LastErrorToDataverse = message, Skipped = skipped }
        : Coupling with { LastSynchResult = SyncResult.Failure, LastSynchJobId = jobId, LastErrorMessage = message, LastErrorToBusinessCentral = message, Skipped = skipped };

    private static DateTimeOffset? Later(DateTimeOffset? stored, DateTimeOffset? value) =>
        value is null ? stored : stored is null || value > stored ? value : stored;
}
