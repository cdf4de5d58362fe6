using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Mapping;

/// <summary>Changes the settings of integration table mappings.</summary>
[Cmdlet(VerbsCommon.Set, "IntegrationTableMapping", SupportsShouldProcess = true, DefaultParameterSetName = ByNameSet)]
[OutputType(typeof(IntegrationTableMapping))]
public sealed class SetIntegrationTableMappingCommand : MappingCmdlet
{
    private const string ByNameSet = "ByName";
    private const string ByInputObjectSet = "ByInputObject";

    /// <summary>Names of the mappings to change.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Mapping objects from Get-IntegrationTableMapping.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByInputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public IntegrationTableMapping[] InputObject { get; set; } = Array.Empty<IntegrationTableMapping>();

    [Parameter]
    public SyncDirection Direction { get; set; }

    /// <summary>$true: uncoupled records are skipped; $false: they are created and coupled.</summary>
    [Parameter]
    public bool SynchOnlyCoupledRecords { get; set; }

    /// <summary>BC-side OData filter; empty string clears it.</summary>
    [Parameter]
    [AllowEmptyString]
    public string? TableFilter { get; set; }

    /// <summary>Dataverse-side OData filter; empty string clears it.</summary>
    [Parameter]
    [AllowEmptyString]
    public string? IntegrationTableFilter { get; set; }

    [Parameter]
    public UpdateConflictResolution UpdateConflictResolution { get; set; }

    [Parameter]
    public DeletionConflictResolution DeletionConflictResolution { get; set; }

    /// <summary>Mappings that must be synchronized first; an empty array clears them.</summary>
    [Parameter]
    [AllowEmptyCollection]
    public string[]? Dependency { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var change = BuildChange();
        var names = ParameterSetName == ByInputObjectSet ? InputObject.Select(m => m.Name) : Name;
        ApplyPlans(names, (catalog, name) => catalog.Plan(name, change), (catalog, plan) => catalog.Apply(plan), "Set", PassThru);
    }

    private MappingSettingsChange BuildChange()
    {
        var bound = MyInvocation.BoundParameters;
        return new MappingSettingsChange
        {
            Direction = bound.ContainsKey(nameof(Direction)) ? Direction : null,
            SynchOnlyCoupledRecords = bound.ContainsKey(nameof(SynchOnlyCoupledRecords)) ? SynchOnlyCoupledRecords : null,
            TableFilter = bound.ContainsKey(nameof(TableFilter)) ? TableFilter ?? string.Empty : null,
            IntegrationTableFilter = bound.ContainsKey(nameof(IntegrationTableFilter)) ? IntegrationTableFilter ?? string.Empty : null,
            UpdateConflictResolution = bound.ContainsKey(nameof(UpdateConflictResolution)) ? UpdateConflictResolution : null,
            DeletionConflictResolution = bound.ContainsKey(nameof(DeletionConflictResolution)) ? DeletionConflictResolution : null,
            Dependencies = bound.ContainsKey(nameof(Dependency)) ? Dependency ?? Array.Empty<string>() : null,
        };
    }
}
