using System.Management.Automation;
using CrmSync.Connections;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>Base of every CrmSync cmdlet: turns engine errors into ErrorRecords in one place.</summary>
public abstract class CrmSyncCmdlet : PSCmdlet
{
    /// <summary>A non-terminating error for one record; processing continues.</summary>
    protected void WriteEngineError(CrmSyncException exception, object? target = null) =>
        WriteError(ToErrorRecord(exception, target));

    /// <summary>A terminating error: the command cannot go on (bad connection, invalid state file).</summary>
    protected void ThrowEngineError(CrmSyncException exception, object? target = null) =>
        ThrowTerminatingError(ToErrorRecord(exception, target));

    internal static ErrorRecord ToErrorRecord(CrmSyncException exception, object? target = null) =>
        new(exception, exception.ErrorId, ToCategory(exception.Kind), exception.Target ?? target);

    internal static ErrorCategory ToCategory(CrmSyncErrorKind kind) => kind switch
    {
        CrmSyncErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        CrmSyncErrorKind.InvalidData => ErrorCategory.InvalidData,
        CrmSyncErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        CrmSyncErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        CrmSyncErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        CrmSyncErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        CrmSyncErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        CrmSyncErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        CrmSyncErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        _ => ErrorCategory.NotSpecified,
    };
}

/// <summary>Base of cmdlets that work on a connection: -Connection, else the runspace's current one.</summary>
public abstract class ConnectedCmdlet : CrmSyncCmdlet
{
    /// <summary>The connection to use; defaults to the one from Connect-CrmSync, else the default local connection.</summary>
    [Parameter]
    [ValidateNotNull]
    public CrmSyncConnection? Connection { get; set; }

    private CrmSyncConnection? _resolved;

    protected CrmSyncConnection ResolvedConnection
    {
        get
        {
            if (_resolved is null)
            {
                try
                {
                    _resolved = Connection ?? DefaultConnection.GetOrOpenDefault();
                }
                catch (CrmSyncException ex)
                {
                    ThrowEngineError(ex);
                }
            }

            return _resolved!;
        }
    }
}
