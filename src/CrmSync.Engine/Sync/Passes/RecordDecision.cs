namespace CrmSync.Sync.Passes;

/// <summary>What a pass decided for one source record, and, once written, what the destination answered.</summary>
internal sealed class RecordDecision
{
    public required SideRow Source { get; init; }

    public CouplingView? Coupling { get; set; }

    /// <summary>The record's failure while uncoupled, as the batch was planned (a lease keeps other passes of the mapping away until it commits).</summary>
    public CrmSync.State.UncoupledFailure? PreviousFailure { get; init; }

    public SideRow? Destination { get; set; }

    public SyncAction Action { get; set; }

    public string? Message { get; set; }

    public SideWrite? Write { get; set; }

    public IReadOnlyList<string> ChangedFields { get; set; } = Array.Empty<string>();

    /// <summary>Coupled in this run by matching fields.</summary>
    public bool Coupled { get; set; }

    /// <summary>The coupling goes: its destination record was deleted.</summary>
    public bool Uncoupled { get; set; }

    public Guid? DestinationId { get; set; }

    public DateTimeOffset? DestinationModifiedOn { get; set; }

    public string? DestinationVersion { get; set; }

    /// <summary>
    /// The failure says nothing about the record (throttling, a service error, a lost connection): it is retried on the
    /// next run like any failure, but never counts toward "Skipped after the same error twice".
    /// </summary>
    public bool Transient { get; private set; }

    public void Fail(string message, bool transient = false)
    {
        Action = SyncAction.Fail;
        Message = message;
        Transient = transient;
        Write = null;
    }
}
