using System.Management.Automation;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.SandboxControl;

namespace CrmSync.PowerShell.Cmdlets.Sandbox;

/// <summary>Stops sandboxes started with Start-CrmSyncSandbox.</summary>
[Cmdlet(VerbsLifecycle.Stop, "CrmSyncSandbox", SupportsShouldProcess = true, DefaultParameterSetName = ByIdSet)]
[OutputType(typeof(void))]
public sealed class StopCrmSyncSandboxCommand : CrmSyncCmdlet
{
    private const string ByIdSet = "ById";
    private const string AllSet = "All";

    /// <summary>Process ids of the sandboxes; binds from Start-CrmSyncSandbox's output.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByIdSet, ValueFromPipelineByPropertyName = true)]
    public int[] ProcessId { get; set; } = Array.Empty<int>();

    /// <summary>Stop every sandbox started from this session.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var ids = All ? SandboxProcess.Running : ProcessId;
        foreach (var id in ids)
        {
            if (!ShouldProcess($"Sandbox process {id}", "Stop"))
            {
                continue;
            }

            try
            {
                SandboxProcess.StopAsync(id).GetAwaiter().GetResult();
                WriteVerbose($"Sandbox process {id} stopped.");
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex, id);
            }
        }
    }
}
