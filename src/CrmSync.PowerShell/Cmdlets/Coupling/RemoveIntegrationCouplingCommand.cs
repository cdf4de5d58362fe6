using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Coupling;

/// <summary>Uncouples records (BC's "Remove Coupling"); no data changes on either side.</summary>
[Cmdlet(VerbsCommon.Remove, "IntegrationCoupling", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByBcIdSet)]
[OutputType(typeof(void))]
public sealed class RemoveIntegrationCouplingCommand : ConnectedCmdlet
{
    private const string ByBcIdSet = "ByBcId";
    private const string ByDataverseIdSet = "ByDataverseId";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string Name { get; set; } = string.Empty;

    /// <summary>The coupled BC record's id; binds from coupling objects.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByBcIdSet, ValueFromPipelineByPropertyName = true)]
    public Guid BcId { get; set; }

    /// <summary>The coupled Dataverse row's id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByDataverseIdSet)]
    public Guid DataverseId { get; set; }

    protected override void ProcessRecord()
    {
        var bc = ParameterSetName == ByBcIdSet ? BcId : (Guid?)null;
        var dv = ParameterSetName == ByDataverseIdSet ? DataverseId : (Guid?)null;
        if (!ShouldProcess($"{Name} coupling of {(bc is null ? "Dataverse " + dv : "Business Central " + bc)}", "Remove the coupling"))
        {
            return;
        }

        if (!CouplingService.For(ResolvedConnection).Remove(Name, bc, dv))
        {
            WriteEngineError(new CrmSyncException("CouplingNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"{Name} has no coupling for {(bc is null ? "Dataverse row " + dv : "Business Central record " + bc)}. Get-IntegrationCoupling -Name {Name} lists them."), (object?)bc ?? dv);
        }
    }
}
