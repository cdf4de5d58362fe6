using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Mapping;

/// <summary>Restores standard mappings to BC's default settings and field mappings (BC's "Use Default Synchronization Setup").</summary>
[Cmdlet(VerbsCommon.Reset, "IntegrationTableMapping", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByNameSet)]
[OutputType(typeof(IntegrationTableMapping))]
public sealed class ResetIntegrationTableMappingCommand : MappingCmdlet
{
    private const string ByNameSet = "ByName";
    private const string ByInputObjectSet = "ByInputObject";

    /// <summary>Mappings to reset; default: all five standard mappings.</summary>
    [Parameter(Position = 0, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Mapping objects from Get-IntegrationTableMapping.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByInputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public IntegrationTableMapping[] InputObject { get; set; } = Array.Empty<IntegrationTableMapping>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var names = ParameterSetName == ByInputObjectSet ? InputObject.Select(m => m.Name) : Name ?? StandardMappings.Names;
        ApplyPlans(names, (catalog, name) => catalog.PlanReset(name), (catalog, plan) => catalog.Reset(plan), "Reset to defaults", PassThru);
    }
}
