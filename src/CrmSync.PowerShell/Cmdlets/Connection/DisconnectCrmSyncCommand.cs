using System.Management.Automation;
using CrmSync.Connections;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>Closes a connection and releases its state file.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "CrmSync")]
[OutputType(typeof(CrmSyncConnection))]
public sealed class DisconnectCrmSyncCommand : CrmSyncCmdlet
{
    /// <summary>The connection to close; default: the current one.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public CrmSyncConnection? Connection { get; set; }

    /// <summary>Return the closed connection.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var connection = Connection ?? DefaultConnection.Get();
        if (connection is null)
        {
            WriteVerbose("No connection is open in this session.");
            return;
        }

        connection.Dispose();
        DefaultConnection.Clear(connection);
        WriteVerbose($"Disconnected '{connection.Name}'; {connection.StatePath} is released.");
        if (PassThru)
        {
            WriteObject(connection);
        }
    }
}
