namespace CrmSync.Sandbox.Hosting;

/// <summary>
/// A breakpoint on the sandbox's requests, for callers that must act at an exact moment of a client's run instead of after
/// a guessed delay (kill a sync process while its k-th write is in flight). The <c>n</c>-th request that matches, and every
/// matching request after it, waits once its body has been read and before the service handles it, until
/// <see cref="ReleaseAsync"/>; each is then either handled (the write lands even if its client is gone and never hears the
/// answer) or dropped unhandled with the connection reset. Requests that do not match pass as usual.
/// </summary>
public sealed class RequestHold : IDisposable
{
    private readonly Func<string, string, string, bool> _matches;
    private readonly int _nth;
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _held = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = new();
    private readonly Action<RequestHold> _remove;
    private int _seen;
    private bool _released;

    internal RequestHold(Func<string, string, string, bool> matches, int nth, Action<RequestHold> remove)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        _matches = matches;
        _nth = nth;
        _remove = remove;
    }

    /// <summary>Completes when the n-th matching request has arrived and is waiting.</summary>
    public Task Reached => _reached.Task;

    /// <summary>The endpoint of the request that reached the hold ("POST $batch"), once it has.</summary>
    public string? ReachedBy { get; private set; }

    /// <summary>Matching requests seen so far.</summary>
    public int Seen => Volatile.Read(ref _seen);

    /// <summary>Completes when <paramref name="count"/> requests are waiting in the hold (the n-th and those after it).</summary>
    public Task HeldAsync(int count)
    {
        lock (_held)
        {
            if (_held.Count >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
            return signal.Task;
        }
    }

    /// <summary>
    /// Lets every held request go on — handled when <paramref name="handle"/>, else dropped — and stops holding new ones.
    /// Completes when each held request has been handled or dropped, so the caller sees the services as they end up.
    /// </summary>
    public async Task ReleaseAsync(bool handle)
    {
        _remove(this);
        Task[] held;
        lock (_held)
        {
            _released = true;
            held = _held.ToArray();
        }

        _release.TrySetResult(handle);
        await Task.WhenAll(held).ConfigureAwait(false);
    }

    /// <summary>Stops holding; requests still held are dropped.</summary>
    public void Dispose()
    {
        _remove(this);
        lock (_held)
        {
            _released = true;
        }

        _release.TrySetResult(false);
    }

    internal bool Matches(string service, string method, string endpoint) => _matches(service, method, endpoint);

    /// <summary>
    /// Called for a matching request before it is handled: null to go on at once; otherwise a wait that answers whether to
    /// handle it, and the completion to signal once it has been handled or dropped.
    /// </summary>
    internal (Task<bool> Handle, TaskCompletionSource Done)? Enter(string endpoint)
    {
        var count = Interlocked.Increment(ref _seen);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_held)
        {
            if (count < _nth || _released)
            {
                return null;
            }

            _held.Add(done.Task);
            foreach (var waiter in _waiters.Where(w => w.Count <= _held.Count).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult();
            }
        }

        if (count == _nth)
        {
            ReachedBy = endpoint;
            _reached.TrySetResult();
        }

        return (_release.Task, done);
    }
}
