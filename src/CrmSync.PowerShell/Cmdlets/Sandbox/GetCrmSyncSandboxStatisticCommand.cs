using System.Management.Automation;
using CrmSync.SandboxControl;

namespace CrmSync.PowerShell.Cmdlets.Sandbox;

/// <summary>
/// What a synchronization costs in API calls: the sandbox's counters per service and identity (requests, per endpoint,
/// throttled answers, peak concurrency), as served at /_sandbox/statistics.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CrmSyncSandboxStatistic")]
[OutputType(typeof(SandboxStatistic))]
public sealed class GetCrmSyncSandboxStatisticCommand : SandboxStatisticCmdlet
{
    /// <summary>Only these services.</summary>
    [Parameter]
    [ValidateSet("Dataverse", "BusinessCentral", "Graph", IgnoreCase = true)]
    public string[]? Service { get; set; }

    protected override void ProcessRecord()
    {
        var url = ResolveSandboxUrl();
        try
        {
            foreach (var statistic in RunEngine((_, cancel) => SandboxStatistics.GetAsync(url, cancel))
                         .Where(s => Service is null || Service.Contains(s.Service, StringComparer.OrdinalIgnoreCase)))
            {
                WriteObject(statistic);
            }
        }
        catch (CrmSyncException ex)
        {
            WriteEngineError(ex, url);
        }
    }
}
