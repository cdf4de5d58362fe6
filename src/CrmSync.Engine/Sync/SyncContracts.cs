using CrmSync.Mapping;

namespace CrmSync.Sync;

/// <summary>What happened (or, with -WhatIf, would happen) to one record.</summary>
public enum SyncAction
{
    Insert,
    Modify,
    Couple,
    Unchanged,

    /// <summary>Skipped after the same error twice, or an update conflict resolved for the other side (counted as Skipped, as BC does).</summary>
    Skip,
    Fail,

    /// <summary>The coupled record was deleted on the other side and the coupling removed (counted as Deleted).</summary>
    Uncouple,

    /// <summary>Left alone and not counted: not coupled while the mapping synchronizes only coupled records, or not confirmed.</summary>
    Ignore,
}

/// <summary>One record of a synchronization: reported for failures, and for every planned write with -WhatIf.</summary>
public sealed record SyncRecordResult
{
    public required string MappingName { get; init; }

    public SyncDirection Direction { get; init; }

    public required Guid SourceId { get; init; }

    public Guid? DestinationId { get; init; }

    /// <summary>How people know the source record, e.g. "C10000 Adatum Corporation".</summary>
    public required string SourceKey { get; init; }

    public SyncAction Action { get; init; }

    public string? Message { get; init; }

    public IReadOnlyList<string> ChangedFields { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{MappingName} {Direction} {SourceKey}: {Action}{(Message is null ? string.Empty : " — " + Message)}";
}

/// <summary>How a synchronization runs.</summary>
public sealed record SyncOptions
{
    /// <summary>Full synchronization: all records (not only modified ones), uncoupled ones created and coupled whatever "Synch. Only Coupled Records" says.</summary>
    public bool FullSync { get; init; }

    /// <summary>Plan only: nothing is written to the services or the state store.</summary>
    public bool WhatIf { get; init; }

    /// <summary>Source records per batch: one $batch of writes, one state commit.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Who runs this synchronization, in leases and in the job log; default: the machine and process.</summary>
    public string Worker { get; init; } = DefaultWorker;

    /// <summary>How long a lease on a mapping lasts without renewal (renewed at a third of it while the work runs).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long to wait for a mapping another worker holds; zero skips it (with a warning).</summary>
    public TimeSpan LeaseWait { get; init; } = TimeSpan.Zero;

    public static string DefaultWorker { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Run first inside every batch commit's transaction: on a shared state, proves the lease is still held (or throws).</summary>
    internal Action? CommitFence { get; init; }
}

/// <summary>What a full synchronization decides at its end, as Business Central asks it.</summary>
public sealed record FullSyncOptions
{
    /// <summary>How the run itself goes (what-if, batch size, worker and leases); FullSync is implied.</summary>
    public SyncOptions Run { get; init; } = new();

    public bool WhatIf => Run.WhatIf;

    /// <summary>
    /// After the run: true clears "Synch. Only Coupled Records" so scheduled synchronization keeps creating records for
    /// uncoupled rows; false keeps each mapping's previous setting; null asks (<see cref="AskAtEnd"/>).
    /// </summary>
    public bool? KeepCreatingNewRecords { get; init; }

    /// <summary>Ask the closing question when <see cref="KeepCreatingNewRecords"/> is null; false keeps the setting without asking (-Force).</summary>
    public bool AskAtEnd { get; init; } = true;
}

/// <summary>How the engine reports back to its caller, one observer per call (the cmdlet writes it all on the pipeline thread).</summary>
public interface ISyncObserver : IEngineLog
{
    /// <summary>Asked before every write; false means "do not write" (-WhatIf, or -Confirm answered No).</summary>
    bool ShouldProcess(string target, string action);

    /// <summary>
    /// A yes/no question beyond ShouldProcess, asked once (Business Central's closing question of a full synchronization).
    /// The answer defaults to No; null when nobody can answer (no interactive host, a runbook).
    /// </summary>
    bool? ShouldContinue(string caption, string question, string yesMeans, string noMeans);

    void Progress(string mappingName, SyncDirection direction, int processed, string status);

    void RecordFailed(SyncRecordResult result);

    void JobCompleted(CrmSync.State.IntegrationSyncJob job);
}
