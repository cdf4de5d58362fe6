using CrmSync.Mapping;

namespace CrmSync.State;

/// <summary>Result of the last write in one direction (BC's "Last Synch. Result": ' ', Success, Failure).</summary>
public enum SyncResult
{
    None = 0,
    Success = 1,
    Failure = 2,
}

/// <summary>What a job did (BC table 5338 field 14).</summary>
public enum SyncJobType
{
    Synchronization = 0,
    Coupling = 1,
    Uncoupling = 2,
}

/// <summary>
/// A coupling between a BC record (its SystemId, the API's <c>id</c>) and a Dataverse row, modelled on
/// BC's table 5331 "CRM Integration Record" (docs/reference/integration.md §A.3).
/// </summary>
public sealed record IntegrationCoupling
{
    public required string MappingName { get; init; }

    /// <summary>BC SystemId (the BC API v2.0 <c>id</c>).</summary>
    public required Guid BcId { get; init; }

    /// <summary>Dataverse row id.</summary>
    public required Guid DataverseId { get; init; }

    /// <summary>BC lastModifiedDateTime as of the last sync ("Last Synch. Modified On").</summary>
    public DateTimeOffset? BcLastSynchModifiedOn { get; init; }

    /// <summary>Dataverse modifiedon as of the last sync ("Last Synch. CRM Modified On").</summary>
    public DateTimeOffset? DataverseLastSynchModifiedOn { get; init; }

    /// <summary>BC row version (etag) as of the last sync: a change within the same millisecond is still seen.</summary>
    public string? BcVersion { get; init; }

    /// <summary>Dataverse row version (etag) as of the last sync: modifiedon has whole seconds only.</summary>
    public string? DataverseVersion { get; init; }

    /// <summary>Result of the last write into BC (Dataverse → BC).</summary>
    public SyncResult LastSynchResult { get; init; }

    public Guid? LastSynchJobId { get; init; }

    /// <summary>Result of the last write into Dataverse (BC → Dataverse).</summary>
    public SyncResult LastSynchCrmResult { get; init; }

    public Guid? LastSynchCrmJobId { get; init; }

    /// <summary>The message of the last failure in either direction (what an admin reads first).</summary>
    public string? LastErrorMessage { get; init; }

    /// <summary>The last failure writing into Dataverse: the same error twice in a row in this direction skips the record.</summary>
    public string? LastErrorToDataverse { get; init; }

    /// <summary>The last failure writing into BC: the same error twice in a row in this direction skips the record.</summary>
    public string? LastErrorToBusinessCentral { get; init; }

    /// <summary>Excluded from synchronization until reset (same error twice in a row).</summary>
    public bool Skipped { get; init; }

    public DateTimeOffset CoupledAt { get; init; }
}

/// <summary>One synchronization job per mapping and direction (BC table 5338 "Integration Synch. Job").</summary>
public sealed record IntegrationSyncJob
{
    public required Guid Id { get; init; }

    public required string MappingName { get; init; }

    public SyncDirection Direction { get; init; }

    public SyncJobType Type { get; init; }

    public DateTimeOffset StartTime { get; init; }

    /// <summary>Null while the job runs.</summary>
    public DateTimeOffset? FinishTime { get; init; }

    public string? Message { get; init; }

    public int Inserted { get; init; }

    public int Modified { get; init; }

    public int Deleted { get; init; }

    public int Unchanged { get; init; }

    public int Skipped { get; init; }

    public int Failed { get; init; }

    public int Coupled { get; init; }

    public int Uncoupled { get; init; }

    /// <summary>Requests the job sent to Dataverse (retries included): what it cost against the service's limits.</summary>
    public int DataverseRequests { get; init; }

    /// <summary>Requests the job sent to Business Central (retries included).</summary>
    public int BusinessCentralRequests { get; init; }

    /// <summary>Which worker ran the job (machine and process, or the name given with -Worker).</summary>
    public string? Worker { get; init; }
}

/// <summary>One failed record of a job (BC table 5339 "Integration Synch. Job Errors").</summary>
public sealed record IntegrationSyncError
{
    public long Id { get; init; }

    public required Guid JobId { get; init; }

    public required string MappingName { get; init; }

    public SyncDirection Direction { get; init; }

    /// <summary>Id of the record that was read.</summary>
    public string? SourceId { get; init; }

    /// <summary>Id of the record that was (to be) written, when known.</summary>
    public string? DestinationId { get; init; }

    public required string Message { get; init; }

    public string? Detail { get; init; }

    public DateTimeOffset Time { get; init; }
}

/// <summary>
/// A write announced before it is sent (docs/ARCHITECTURE.md, "Reliability by construction": a pending-write record before every BC create), so a
/// killed run can be reconciled without duplicates.
/// </summary>
public sealed record PendingWrite
{
    public long Id { get; init; }

    public required string MappingName { get; init; }

    /// <summary>The side being written.</summary>
    public SyncSide Side { get; init; }

    /// <summary>Id of the source record the write comes from.</summary>
    public required string SourceId { get; init; }

    /// <summary>Create, Update, ...</summary>
    public required string Operation { get; init; }

    /// <summary>What identifies the written record if the service committed it (e.g. a correlation value).</summary>
    public string? Marker { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// A source record that failed before it was coupled (BC only tracks failures on couplings; CrmSync also
/// keeps these so a failed new record is retried instead of being left behind by the watermark).
/// </summary>
public sealed record UncoupledFailure
{
    public required string MappingName { get; init; }

    /// <summary>The pass that failed: ToIntegrationTable (source BC) or FromIntegrationTable (source Dataverse).</summary>
    public SyncDirection Direction { get; init; }

    public required Guid SourceId { get; init; }

    public required string Message { get; init; }

    public int FailureCount { get; init; }

    public bool Skipped { get; init; }

    public Guid? LastJobId { get; init; }

    public DateTimeOffset FailedAt { get; init; }
}
