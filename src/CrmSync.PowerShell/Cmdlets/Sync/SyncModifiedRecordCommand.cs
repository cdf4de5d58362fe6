using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>Synchronizes the records modified since the last run, for all mappings in dependency order or the ones given.</summary>
[Cmdlet(VerbsData.Sync, "ModifiedRecord", SupportsShouldProcess = true, DefaultParameterSetName = ByNameSet)]
[OutputType(typeof(IntegrationSyncJob))]
public sealed class SyncModifiedRecordCommand : SyncCmdlet
{
    private const string ByNameSet = "ByName";
    private const string ByInputObjectSet = "ByInputObject";

    /// <summary>Mappings to synchronize (wildcards allowed); default: all, in dependency order.</summary>
    [Parameter(Position = 0, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Mapping objects from Get-IntegrationTableMapping.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByInputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public IntegrationTableMapping[] InputObject { get; set; } = Array.Empty<IntegrationTableMapping>();

    protected override void ProcessRecord() =>
        RequestNames(ParameterSetName == ByInputObjectSet ? InputObject.Select(m => m.Name).ToArray() : Name);

    // Gathered first: mappings piped in one by one still run in dependency order, as one run.
    protected override void EndProcessing()
    {
        var mappings = SelectRequestedMappings();
        if (mappings.Count == 0)
        {
            return;
        }

        var consent = AskConsent(string.Join(", ", mappings.Select(m => m.Name)), "Synchronize modified records");
        if (consent != Consent.Declined)
        {
            Synchronize(mappings, consent, askPerRecord: true);
        }
    }
}
