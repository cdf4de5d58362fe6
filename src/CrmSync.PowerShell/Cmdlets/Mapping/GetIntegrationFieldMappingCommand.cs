using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Mapping;

/// <summary>Lists the field mappings of integration table mappings.</summary>
[Cmdlet(VerbsCommon.Get, "IntegrationFieldMapping")]
[OutputType(typeof(IntegrationFieldMapping))]
public sealed class GetIntegrationFieldMappingCommand : MappingCmdlet
{
    /// <summary>Table mapping names (wildcards allowed); binds from mapping objects on the pipeline.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only field mappings with this status.</summary>
    [Parameter]
    public FieldMappingStatus[]? Status { get; set; }

    protected override void ProcessRecord() => RequestNames(Name);

    protected override void EndProcessing()
    {
        foreach (var field in SelectRequestedMappings().SelectMany(m => m.FieldMappings))
        {
            if (Status is null || Status.Contains(field.Status))
            {
                WriteObject(field);
            }
        }
    }
}
