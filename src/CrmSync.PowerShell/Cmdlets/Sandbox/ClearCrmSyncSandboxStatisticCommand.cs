using System.Management.Automation;
using CrmSync.SandboxControl;

namespace CrmSync.PowerShell.Cmdlets.Sandbox;

/// <summary>Starts the sandbox's counters anew, so the next Get-CrmSyncSandboxStatistic shows what one run cost.</summary>
[Cmdlet(VerbsCommon.Clear, "CrmSyncSandboxStatistic", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class ClearCrmSyncSandboxStatisticCommand : SandboxStatisticCmdlet
{
    protected override void ProcessRecord()
    {
        var url = ResolveSandboxUrl();
        if (!ShouldProcess(url, "Clear the sandbox's request counters"))
        {
            return;
        }

        try
        {
            RunEngine(async (_, cancel) =>
            {
                await SandboxStatistics.ClearAsync(url, cancel).ConfigureAwait(false);
                return true;
            });
        }
        catch (CrmSyncException ex)
        {
            WriteEngineError(ex, url);
        }
    }
}
