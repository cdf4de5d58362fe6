using System.Collections.Concurrent;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>
/// Engine work runs on the thread pool; everything it reports (messages, progress, objects, errors,
/// ShouldProcess questions) is queued and executed by the cmdlet on the pipeline thread, because
/// PowerShell's Write* and ShouldProcess must not be called from other threads.
/// </summary>
internal sealed class PipelineBridge : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();

    /// <summary>Queues work for the pipeline thread.</summary>
    public void Post(Action action)
    {
        try
        {
            _queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The call already ended: late messages have nowhere to go.
        }
    }

    /// <summary>Runs <paramref name="function"/> on the pipeline thread and waits for its answer (ShouldProcess).</summary>
    public T Invoke<T>(Func<T> function)
    {
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                answer.SetResult(function());
            }
            catch (Exception ex)
            {
                answer.SetException(ex);
            }
        });
        return answer.Task.GetAwaiter().GetResult();
    }

    /// <summary>Runs the engine work and pumps the queue on this (the pipeline) thread until the work ends.</summary>
    public T Run<T>(Func<Task<T>> work)
    {
        var task = Task.Run(work);
        task.ContinueWith(_ => _queue.CompleteAdding(), TaskScheduler.Default);
        foreach (var action in _queue.GetConsumingEnumerable())
        {
            action();
        }

        return task.GetAwaiter().GetResult();
    }

    public void Dispose() => _queue.Dispose();
}

/// <summary>The engine log of one cmdlet call: verbose messages and warnings go through the bridge.</summary>
internal sealed class BridgeLog(PipelineBridge bridge, Action<string> verbose, Action<string> warning) : IEngineLog
{
    public void Verbose(string message) => bridge.Post(() => verbose(message));

    public void Warning(string message) => bridge.Post(() => warning(message));
}
