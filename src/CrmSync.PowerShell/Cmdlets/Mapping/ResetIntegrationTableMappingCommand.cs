using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Mapping;

/// <summary>Restores standard mappings to BC's default settings and field mappings (BC's "Use Default Synchronization Setup").</summary>
[Cmdlet(VerbsCommon.Reset, "IntegrationTableMapping", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByNameSet,
    HelpUri = "https://github.com/crmsync/crmsync/blob/main/docs/en-US/Reset-IntegrationTableMapping.md")]
[OutputType(typeof(IntegrationTableMapping))]
public sealed class ResetIntegrationTableMappingCommand : ConnectedCmdlet
{
    private const string ByNameSet = "ByName";
    private const string ByInputObjectSet = "ByInputObject";

    /// <summary>Mappings to reset; default: all five standard mappings.</summary>
    [Parameter(Position = 0, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Mapping objects from Get-IntegrationTableMapping.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByInputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public IntegrationTableMapping[] InputObject { get; set; } = Array.Empty<IntegrationTableMapping>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var catalog = new MappingCatalog(ResolvedConnection);
        var names = ParameterSetName == ByInputObjectSet ? InputObject.Select(m => m.Name) : Name ?? StandardMappings.Names;
        foreach (var name in names)
        {
            MappingChangePlan plan;
            try
            {
                plan = catalog.PlanReset(name);
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex, name);
                continue;
            }

            if (!plan.HasChanges)
            {
                WriteVerbose($"Mapping '{plan.Before.Name}' already has its default settings.");
                if (PassThru)
                {
                    WriteObject(plan.Before);
                }

                continue;
            }

            if (!ShouldProcess($"Integration table mapping '{plan.Before.Name}'", $"Reset to defaults: {plan.Describe()}"))
            {
                continue;
            }

            try
            {
                var saved = catalog.Reset(plan);
                if (PassThru)
                {
                    WriteObject(saved);
                }
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex, plan.Before);
            }
        }
    }
}
