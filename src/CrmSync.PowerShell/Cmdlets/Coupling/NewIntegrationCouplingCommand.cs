using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Coupling;

/// <summary>Couples a BC record and a Dataverse row, or couples a mapping's records by matching fields.</summary>
[Cmdlet(VerbsCommon.New, "IntegrationCoupling", SupportsShouldProcess = true, DefaultParameterSetName = ExplicitSet)]
[OutputType(typeof(CouplingView), ParameterSetName = new[] { ExplicitSet })]
[OutputType(typeof(MatchResult), ParameterSetName = new[] { MatchSet })]
public sealed class NewIntegrationCouplingCommand : MappingCmdlet
{
    private const string ExplicitSet = "Explicit";
    private const string MatchSet = "MatchBased";

    /// <summary>The mapping, e.g. CUSTOMER.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string Name { get; set; } = string.Empty;

    /// <summary>The BC record's id (SystemId).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExplicitSet, ValueFromPipelineByPropertyName = true)]
    public Guid BcId { get; set; }

    /// <summary>The Dataverse row's id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExplicitSet, ValueFromPipelineByPropertyName = true)]
    public Guid DataverseId { get; set; }

    /// <summary>Couple every uncoupled BC record to the one Dataverse row with equal match fields.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MatchSet)]
    public SwitchParameter MatchBased { get; set; }

    /// <summary>Fields to match on (BC field names, API names or Dataverse columns); default: the mapping's match fields.</summary>
    [Parameter(ParameterSetName = MatchSet)]
    [ValidateNotNullOrEmpty]
    public string[]? MatchOn { get; set; }

    protected override void ProcessRecord()
    {
        var service = CouplingService.For(ResolvedConnection);
        try
        {
            if (MatchBased)
            {
                var results = RunEngine((bridge, log, cancel) => service.CoupleByMatchAsync(Name, MatchOn, (target, action) => bridge.Invoke(() => ShouldProcess(target, action)), cancel));
                foreach (var result in results)
                {
                    WriteObject(result);
                }

                return;
            }

            if (ShouldProcess($"{Name}: Business Central {BcId}", $"Couple to Dataverse {DataverseId}"))
            {
                WriteObject(RunEngine((log, cancel) => service.CoupleAsync(Name, BcId, DataverseId, cancel)));
            }
        }
        catch (CrmSyncException ex)
        {
            WriteEngineError(ex, Name);
        }
    }
}
