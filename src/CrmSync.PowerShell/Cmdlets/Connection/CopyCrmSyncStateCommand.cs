using System.Management.Automation;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>
/// Moves a connection's state from its SQLite file into a PostgreSQL database: mappings, watermarks, couplings, jobs
/// and their errors, failures, pending writes and settings, in one transaction (all or nothing). The file must not be
/// in use (Disconnect-CrmSync first); the database must hold no synchronization history yet.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "CrmSyncState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StateCopyResult))]
public sealed class CopyCrmSyncStateCommand : CrmSyncCmdlet
{
    /// <summary>The SQLite state file to copy (Get-CrmSyncConnection shows a connection's StatePath).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The PostgreSQL database to copy into, as for Connect-CrmSync -StateConnectionString.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? DestinationConnectionString { get; set; }

    protected override void ProcessRecord()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path!);
        try
        {
            if (!File.Exists(path))
            {
                throw new CrmSyncException("StateFileNotFound", CrmSyncErrorKind.ObjectNotFound,
                    $"There is no state file '{path}'. Get-CrmSyncConnection shows the StatePath of a connection.", path);
            }

            var destination = StateStore.DescribePostgres(DestinationConnectionString!);
            if (!ShouldProcess(destination, $"Copy the CrmSync state of '{path}'"))
            {
                return;
            }

            using var source = StateStore.Open(path);
            using var target = StateStore.OpenPostgres(DestinationConnectionString!);
            var result = StateCopy.Copy(source, target, part =>
                WriteProgress(new ProgressRecord(1, "Copying the CrmSync state", $"{part} → {destination}")));
            WriteProgress(new ProgressRecord(1, "Copying the CrmSync state", "Done") { RecordType = ProgressRecordType.Completed });
            WriteObject(result);
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex, path);
        }
    }
}
