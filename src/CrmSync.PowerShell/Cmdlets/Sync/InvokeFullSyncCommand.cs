using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>
/// Full synchronization: every record of the mappings, in dependency order; uncoupled records are created on
/// the other side and coupled whatever "Synch. Only Coupled Records" says (for this run only). Business Central
/// asks before a full synchronization starts, so this cmdlet is ConfirmImpact High: it asks once for the run
/// (-Force or -Confirm:$false for runbooks), not per record.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FullSync", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High,
    HelpUri = "https://github.com/crmsync/crmsync/blob/main/docs/en-US/Invoke-FullSync.md")]
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

        var previous = mappings.ToDictionary(m => m.Name, m => m.SynchOnlyCoupledRecords);
        var jobs = Synchronize(mappings, fullSync: true, consent, askPerRecord: false, before: (log, engine) =>
        {
            foreach (var risk in engine.DuplicateRisksAsync(mappings, Cancellation).GetAwaiter().GetResult())
            {
                log.Warning(risk);
            }
        });
        if (consent == Consent.WhatIf || jobs.Count == 0)
        {
            return;
        }

        DecideCreatingNewRecords(mappings, previous);
    }

    // BC asks at the end of a full sync whether scheduled jobs should keep creating records for uncoupled rows.
    // The safer answer, No (keep "Synch. Only Coupled Records"), is the default.
    private void DecideCreatingNewRecords(IReadOnlyList<IntegrationTableMapping> mappings, IReadOnlyDictionary<string, bool> previous)
    {
        bool keepCreating;
        if (MyInvocation.BoundParameters.ContainsKey(nameof(KeepCreatingNewRecords)))
        {
            keepCreating = KeepCreatingNewRecords;
        }
        else
        {
            var onlyCoupled = mappings.Where(m => previous[m.Name]).Select(m => m.Name).ToList();
            if (onlyCoupled.Count == 0)
            {
                return;
            }

            var names = string.Join(", ", onlyCoupled);
            if (Force)
            {
                WriteVerbose($"{names} keep 'Synch. Only Coupled Records' (-Force without -KeepCreatingNewRecords).");
                return;
            }

            if (AskKeepCreating(names) is not { } answer)
            {
                WriteWarning($"No one could be asked whether scheduled synchronization should create new records: {names} keep " +
                    "'Synch. Only Coupled Records' (only coupled records are synchronized). Add -KeepCreatingNewRecords $true to choose otherwise.");
                return;
            }

            keepCreating = answer;
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

    /// <summary>The closing question, default No; null when there is no host that can ask (-NonInteractive, a runbook).</summary>
    private bool? AskKeepCreating(string names)
    {
        var choices = new Collection<ChoiceDescription>
        {
            new("&Yes", "Clear 'Synch. Only Coupled Records': scheduled synchronization also creates and couples records for uncoupled rows."),
            new("&No", "Keep 'Synch. Only Coupled Records': scheduled synchronization updates coupled records only."),
        };
        try
        {
            return Host?.UI?.PromptForChoice("Keep creating new records?",
                $"Scheduled synchronization of {names} now synchronizes only coupled records. Should it also create and couple new records for uncoupled rows from now on?",
                choices, defaultChoice: 1) is { } choice ? choice == 0 : null;
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or HostException or NotImplementedException)
        {
            return null;
        }
    }
}
