using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Coupling;

/// <summary>Clears failed and skipped state so the next synchronization retries (BC's "Retry" and "Retry All").</summary>
[Cmdlet(VerbsCommon.Reset, "IntegrationCoupling", SupportsShouldProcess = true)]
[OutputType(typeof(CouplingView))]
public sealed class ResetIntegrationCouplingCommand : ConnectedCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string Name { get; set; } = string.Empty;

    /// <summary>One record (its BC id or Dataverse id); default: every failed or skipped record of the mapping.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("BcId")]
    public Guid? Id { get; set; }

    protected override void ProcessRecord()
    {
        var target = Id is { } id ? $"{Name} record {id}" : $"every failed or skipped record of {Name}";
        if (!ShouldProcess(target, "Retry on the next synchronization"))
        {
            return;
        }

        var reset = CouplingService.For(ResolvedConnection).Reset(Name, Id);
        WriteVerbose($"{reset.Count} record(s) of {Name} will be retried on the next synchronization.");
        foreach (var coupling in reset)
        {
            WriteObject(coupling);
        }
    }
}
