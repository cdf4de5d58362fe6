using System.Collections.Concurrent;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>
/// Engine work runs on the thread pool; what it reports is queued and written by the cmdlet on the
/// pipeline thread (PowerShell's Write* methods must not be called from other threads).
/// </summary>
internal sealed class EngineCall : IEngineLog, IDisposable
{
    private readonly BlockingCollection<(bool Warning, string Message)> _messages = new();

    public void Verbose(string message) => Add(false, message);

    public void Warning(string message) => Add(true, message);

    private void Add(bool warning, string message)
    {
        try
        {
            _messages.Add((warning, message));
        }
        catch (InvalidOperationException)
        {
            // The call finished; late messages have nowhere to go.
        }
    }

    /// <summary>Runs <paramref name="work"/> and pumps its messages to <paramref name="verbose"/>/<paramref name="warning"/> until it ends.</summary>
    public T Run<T>(Func<IEngineLog, Task<T>> work, Action<string> verbose, Action<string> warning)
    {
        var task = Task.Run(() => work(this));
        task.ContinueWith(_ => _messages.CompleteAdding(), TaskScheduler.Default);
        foreach (var (isWarning, message) in _messages.GetConsumingEnumerable())
        {
            (isWarning ? warning : verbose)(message);
        }

        return task.GetAwaiter().GetResult();
    }

    public void Dispose() => _messages.Dispose();
}
