namespace CrmSync;

/// <summary>What kind of failure an engine error is; the cmdlets map it to a PowerShell ErrorCategory in one place.</summary>
public enum CrmSyncErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ResourceBusy,
    ResourceUnavailable,
    InvalidOperation,
    PermissionDenied,
    LimitsExceeded,
    ConnectionError,
    ResourceExists,
}

/// <summary>
/// An engine failure with a stable error id (scripts catch on it), a kind and the record that failed.
/// Messages name the record, the field and the fix.
/// </summary>
public class CrmSyncException : Exception
{
    public CrmSyncException(string errorId, CrmSyncErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    /// <summary>Stable identifier, e.g. <c>MappingNotFound</c>.</summary>
    public string ErrorId { get; }

    public CrmSyncErrorKind Kind { get; }

    /// <summary>The record (mapping, coupling, row) the error is about.</summary>
    public object? Target { get; }
}
