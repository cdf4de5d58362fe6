using System.Management.Automation;
using CrmSync.Accounts;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>What the account setup cmdlets share: running AccountSetup with ShouldProcess, progress and messages on the pipeline thread.</summary>
public abstract class SetupCmdlet : ConnectedCmdlet
{
    private const int SetupActivity = 1;

    /// <summary>Runs account setup work; engine errors end the command with their ErrorRecord; null when stopped with Ctrl+C.</summary>
    internal T? RunSetup<T>(Func<AccountSetup, PipelineBridge, CancellationToken, Task<T>> work)
        where T : class
    {
        var connection = ResolvedConnection;
        try
        {
            return RunEngine((bridge, log, cancel) =>
            {
                connection.Log.Target = log;
                var setup = new AccountSetup(connection, new Observer(this, bridge));
                return work(setup, bridge, cancel);
            });
        }
        catch (OperationCanceledException)
        {
            WriteWarning("Stopped. Steps already done stay done; running the command again finishes the rest.");
            return null;
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex);
            return null;
        }
        finally
        {
            connection.Log.Target = null;
            WriteProgress(new ProgressRecord(SetupActivity, "Account setup", "Done") { RecordType = ProgressRecordType.Completed });
        }
    }

    private sealed class Observer(SetupCmdlet cmdlet, PipelineBridge bridge) : ISetupObserver
    {
        public bool ShouldProcess(string target, string action) => bridge.Invoke(() => cmdlet.ShouldProcess(target, action));

        public void Progress(string activity, string status, int percent) => bridge.Post(() =>
            cmdlet.WriteProgress(new ProgressRecord(SetupActivity, activity, status) { PercentComplete = Math.Clamp(percent, 0, 100) }));
    }
}
