using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Coupling;

/// <summary>Couplings between BC records and Dataverse rows, and records that failed before they could be coupled.</summary>
[Cmdlet(VerbsCommon.Get, "IntegrationCoupling")]
[OutputType(typeof(CouplingView))]
public sealed class GetIntegrationCouplingCommand : MappingCmdlet
{
    /// <summary>Mappings (wildcards allowed); default: all.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only failed or skipped records (BC's Coupled Data Synchronization Errors).</summary>
    [Parameter]
    public SwitchParameter FailedOnly { get; set; }

    protected override void ProcessRecord() => RequestNames(Name);

    protected override void EndProcessing()
    {
        var service = CouplingService.For(ResolvedConnection);
        foreach (var mapping in SelectRequestedMappings())
        {
            foreach (var coupling in service.Get(mapping.Name, FailedOnly))
            {
                WriteObject(coupling);
            }
        }
    }
}
