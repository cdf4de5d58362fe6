using System.Management.Automation;
using CrmSync.Connections;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>Opens a CrmSync connection and makes it the current one for this runspace.</summary>
[Cmdlet(VerbsCommunications.Connect, "CrmSync", HelpUri = "https://github.com/crmsync/crmsync/blob/main/docs/en-US/Connect-CrmSync.md")]
[OutputType(typeof(CrmSyncConnection))]
public sealed class ConnectCrmSyncCommand : CrmSyncCmdlet
{
    /// <summary>Connection name; also names the default state file.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = CrmSyncPaths.DefaultConnectionName;

    /// <summary>SQLite state file; default: &lt;state directory&gt;/&lt;name&gt;.db.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StatePath { get; set; }

    /// <summary>Return the connection.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var statePath = StatePath is null ? null : GetUnresolvedProviderPathFromPSPath(StatePath);
        CrmSyncConnection connection;
        try
        {
            // Reconnecting to the file this runspace already holds must not trip over our own lock.
            var targetPath = Path.GetFullPath(statePath ?? CrmSyncPaths.DefaultStatePath(Name));
            if (DefaultConnection.Get() is { } current && string.Equals(targetPath, current.StatePath, StringComparison.Ordinal))
            {
                DefaultConnection.CloseCurrent();
            }

            connection = CrmSyncConnection.Open(Name, statePath);
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex, statePath ?? Name);
            return;
        }

        DefaultConnection.Set(connection);
        WriteVerbose($"Connected '{connection.Name}' with state file {connection.StatePath}.");
        if (PassThru)
        {
            WriteObject(connection);
        }
    }
}
