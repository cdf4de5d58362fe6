using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>
/// Full synchronization: every record of the mappings, in dependency order; uncoupled records are created on
/// the other side and coupled whatever "Synch. Only Coupled Records" says (for this run only).
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FullSync", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    HelpUri = "https://github.com/crmsync/crmsync/blob/main/docs/en-US/Invoke-FullSync.md")]
[OutputType(typeof(IntegrationSyncJob))]
public sealed class InvokeFullSyncCommand : SyncCmdlet
{
    /// <summary>Mappings to synchronize (wildcards allowed); default: all, in dependency order.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>
    /// After the run: $true clears "Synch. Only Coupled Records" so scheduled synchronization keeps creating
    /// records for uncoupled rows; $false keeps each mapping's previous setting. Without it you are asked.
    /// </summary>
    [Parameter]
    public bool KeepCreatingNewRecords { get; set; }

    /// <summary>Do not ask; without -KeepCreatingNewRecords the mappings keep their previous setting.</summary>
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

        var previous = mappings.ToDictionary(m => m.Name, m => m.SynchOnlyCoupledRecords);
        var jobs = Synchronize(mappings, fullSync: true, before: (log, engine) =>
        {
            foreach (var risk in engine.DuplicateRisksAsync(mappings, Cancellation).GetAwaiter().GetResult())
            {
                log.Warning(risk);
            }
        });
        if (IsWhatIf || jobs.Count == 0)
        {
            return;
        }

        DecideCreatingNewRecords(mappings, previous);
    }

    // BC asks at the end of a full sync whether scheduled jobs should keep creating records for uncoupled rows.
    private void DecideCreatingNewRecords(IReadOnlyList<IntegrationTableMapping> mappings, IReadOnlyDictionary<string, bool> previous)
    {
        bool keepCreating;
        if (MyInvocation.BoundParameters.ContainsKey(nameof(KeepCreatingNewRecords)))
        {
            keepCreating = KeepCreatingNewRecords;
        }
        else if (Force)
        {
            WriteVerbose("The mappings keep their previous 'Synch. Only Coupled Records' setting.");
            return;
        }
        else
        {
            var onlyCoupled = mappings.Where(m => previous[m.Name]).Select(m => m.Name).ToList();
            if (onlyCoupled.Count == 0)
            {
                return;
            }

            try
            {
                keepCreating = ShouldContinue(
                    $"Scheduled synchronization of {string.Join(", ", onlyCoupled)} now synchronizes only coupled records. Should it also create and couple new records for uncoupled rows from now on (clear 'Synch. Only Coupled Records')?",
                    "Keep creating new records?");
            }
            catch (Exception ex) when (ex is PSInvalidOperationException or System.Management.Automation.Host.HostException or NotImplementedException)
            {
                WriteVerbose("No one can be asked here: the mappings keep their previous setting. Use -KeepCreatingNewRecords in runbooks.");
                return;
            }
        }

        var catalog = new MappingCatalog(ResolvedConnection);
        foreach (var mapping in mappings)
        {
            var target = keepCreating ? false : previous[mapping.Name];
            var plan = catalog.Plan(mapping.Name, new MappingSettingsChange { SynchOnlyCoupledRecords = target });
            if (plan.HasChanges)
            {
                catalog.Apply(plan);
                WriteVerbose($"{mapping.Name}: SynchOnlyCoupledRecords is now {target}.");
            }
        }
    }
}
