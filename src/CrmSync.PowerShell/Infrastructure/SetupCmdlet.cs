using System.Management.Automation;
using CrmSync.Accounts;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>What the account setup cmdlets share: running a setup with ShouldProcess, progress and messages on the pipeline thread.</summary>
public abstract class SetupCmdlet : ConnectedCmdlet
{
    private const int SetupActivity = 1;

    /// <summary>Runs account setup work; engine errors end the command with their ErrorRecord; null when stopped with Ctrl+C.</summary>
    internal T? RunSetup<T>(Func<ISetupObserver, PipelineBridge, CancellationToken, Task<T>> work)
        where T : class =>
        RunConnected(SetupActivity, "Account setup", "Stopped. Steps already done stay done; running the command again finishes the rest.",
            (bridge, log, cancel) => work(new Observer(this, bridge, log), bridge, cancel));

    /// <summary>One non-terminating error per failed step, so a partial result is never silent; the result is the target.</summary>
    protected void WriteFailedSteps(IEnumerable<SetupStep> steps, string errorId, string subject, string? hint, object result)
    {
        foreach (var failed in steps.Where(s => s.Outcome == StepOutcome.Failed))
        {
            WriteEngineError(new CrmSyncException(errorId, CrmSyncErrorKind.InvalidOperation, $"{subject}: {failed.Name} failed — {failed.Detail}{(hint is null ? null : " " + hint)}", result));
        }
    }

    private sealed class Observer(SetupCmdlet cmdlet, PipelineBridge bridge, IEngineLog log) : ISetupObserver
    {
        public void Verbose(string message) => log.Verbose(message);

        public void Warning(string message) => log.Warning(message);

        public bool ShouldProcess(string target, string action) => bridge.Invoke(() => cmdlet.ShouldProcess(target, action));

        public void Progress(string activity, string status, int percent) => bridge.Post(() =>
            cmdlet.WriteProgress(new ProgressRecord(SetupActivity, activity, status) { PercentComplete = Math.Clamp(percent, 0, 100) }));
    }
}
