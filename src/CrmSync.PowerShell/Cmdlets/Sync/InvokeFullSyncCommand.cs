using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>
/// Full synchronization: every record of the mappings, in dependency order; uncoupled records are created on
/// the other side and coupled whatever "Synch. Only Coupled Records" says (for this run only). Business Central
/// asks before a full synchronization starts, so this cmdlet is ConfirmImpact High: it asks once for the run
/// (-Force or -Confirm:$false for runbooks), not per record.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FullSync", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(IntegrationSyncJob))]
public sealed class InvokeFullSyncCommand : SyncCmdlet
{
    /// <summary>Mappings to synchronize (wildcards allowed); default: all, in dependency order.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>
    /// After the run: $true clears "Synch. Only Coupled Records" so scheduled synchronization keeps creating
    /// records for uncoupled rows; $false keeps each mapping's previous setting. Without it you are asked.
    /// </summary>
    [Parameter]
    public bool KeepCreatingNewRecords { get; set; }

    /// <summary>Do not ask before the run, nor at its end; without -KeepCreatingNewRecords the mappings keep their previous setting.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() => RequestNames(Name);

    protected override void EndProcessing()
    {
        var mappings = SelectRequestedMappings();
        if (mappings.Count == 0)
        {
            return;
        }

        var consent = AskConsent(string.Join(", ", mappings.Select(m => m.Name)),
            "Full synchronization: create and couple a record on the other side for every uncoupled record", Force);
        if (consent == Consent.Declined)
        {
            return;
        }

        SynchronizeFully(mappings, new FullSyncOptions
        {
            Run = RunOptions(consent),
            KeepCreatingNewRecords = MyInvocation.BoundParameters.ContainsKey(nameof(KeepCreatingNewRecords)) ? KeepCreatingNewRecords : null,
            AskAtEnd = !Force,
        });
    }
}
