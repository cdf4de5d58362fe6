using System.Management.Automation;
using CrmSync.Connections;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>Shows this runspace's current connection.</summary>
[Cmdlet(VerbsCommon.Get, "CrmSyncConnection")]
[OutputType(typeof(CrmSyncConnection))]
public sealed class GetCrmSyncConnectionCommand : CrmSyncCmdlet
{
    protected override void EndProcessing()
    {
        if (DefaultConnection.Get() is { } connection)
        {
            WriteObject(connection);
            return;
        }

        WriteVerbose($"Not connected. Cmdlets use the default local connection, state file {CrmSyncPaths.DefaultStatePath(CrmSyncPaths.DefaultConnectionName)}, until you run Connect-CrmSync.");
    }
}
