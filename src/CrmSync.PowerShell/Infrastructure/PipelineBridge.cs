using System.Collections.Concurrent;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>
/// Engine work runs on the thread pool; everything it reports (messages, progress, objects, errors,
/// ShouldProcess questions) is queued and executed by the cmdlet on the pipeline thread, because
/// PowerShell's Write* and ShouldProcess must not be called from other threads.
/// </summary>
/// <remarks>
/// When the pipeline stops under the cmdlet — <c>Select-Object -First</c> has what it needs, a command downstream
/// throws, Ctrl+C — the Write* call on the pipeline thread throws. The bridge then cancels the engine, answers no
/// more questions, waits for the engine to wind down (it finishes and commits the batch in flight, or none of it)
/// and rethrows, so nothing keeps running once the cmdlet has returned.
/// </remarks>
internal sealed class PipelineBridge : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly CancellationTokenSource _stopped = new();

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

    /// <summary>
    /// Runs <paramref name="function"/> on the pipeline thread and waits for its answer (ShouldProcess). Throws
    /// OperationCanceledException on the engine's thread when the pipeline stopped before answering.
    /// </summary>
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
                throw;
            }
        });
        try
        {
            answer.Task.Wait(_stopped.Token);
        }
        catch (AggregateException ex) when (ex.InnerException is not null)
        {
            // The pipeline thread failed while answering (it stopped): the engine stops too.
            throw new OperationCanceledException("The pipeline stopped.", ex.InnerException, _stopped.Token);
        }

        return answer.Task.Result;
    }

    /// <summary>Runs the engine work and pumps the queue on this (the pipeline) thread until the work ends.</summary>
    /// <param name="work">The engine work; its token is cancelled on Ctrl+C and when the pipeline stops.</param>
    /// <param name="cancellation">The cmdlet's Ctrl+C token.</param>
    public T Run<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellation)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _stopped.Token);
        var task = Task.Run(() => work(linked.Token));
        task.ContinueWith(_ => _queue.CompleteAdding(), TaskScheduler.Default);
        try
        {
            foreach (var action in _queue.GetConsumingEnumerable())
            {
                action();
            }
        }
        catch
        {
            _stopped.Cancel();
            foreach (var _ in _queue.GetConsumingEnumerable())
            {
                // Drained unexecuted: the pipeline is gone; the engine is winding down.
            }

            // Observe the engine's end (normally OperationCanceledException) so it is never left running or unobserved.
            try
            {
                task.GetAwaiter().GetResult();
            }
            catch (Exception)
            {
            }

            throw;
        }

        return task.GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _queue.Dispose();
        _stopped.Dispose();
    }
}

/// <summary>The engine log of one cmdlet call: verbose messages and warnings go through the bridge.</summary>
internal sealed class BridgeLog(PipelineBridge bridge, Action<string> verbose, Action<string> warning) : IEngineLog
{
    public void Verbose(string message) => bridge.Post(() => verbose(message));

    public void Warning(string message) => bridge.Post(() => warning(message));
}
