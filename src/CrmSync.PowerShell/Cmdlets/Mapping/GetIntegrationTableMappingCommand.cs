using System.Management.Automation;
using CrmSync.Mapping;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Mapping;

/// <summary>Lists integration table mappings in dependency order.</summary>
[Cmdlet(VerbsCommon.Get, "IntegrationTableMapping")]
[OutputType(typeof(IntegrationTableMapping))]
public sealed class GetIntegrationTableMappingCommand : MappingCmdlet
{
    /// <summary>Mapping names; wildcards allowed.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord() => RequestNames(Name);

    // Names are gathered first so the output keeps the dependency order whatever order they came in.
    protected override void EndProcessing()
    {
        foreach (var mapping in SelectRequestedMappings())
        {
            WriteObject(mapping);
        }
    }
}
