namespace CrmSync.Http;

/// <summary>
/// Holds every request of one identity to one service until a throttling period is over, so no request is
/// sent before Retry-After expires — not even by other requests running concurrently.
/// </summary>
internal sealed class ThrottleGate(TimeProvider time)
{
    private readonly object _sync = new();
    private DateTimeOffset _notBefore = DateTimeOffset.MinValue;

    public DateTimeOffset NotBefore
    {
        get
        {
            lock (_sync)
            {
                return _notBefore;
            }
        }
    }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = NotBefore - time.GetUtcNow();
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Block(TimeSpan delay)
    {
        lock (_sync)
        {
            var until = time.GetUtcNow() + delay;
            if (until > _notBefore)
            {
                _notBefore = until;
            }
        }
    }
}

/// <summary>Bounds the requests in flight; the limit can change while running (Dataverse's x-ms-dop-hint).</summary>
internal sealed class ConcurrencyGate
{
    private readonly object _sync = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private int _limit;
    private int _inUse;

    public ConcurrencyGate(int limit) => _limit = Math.Max(1, limit);

    public int Limit
    {
        get
        {
            lock (_sync)
            {
                return _limit;
            }
        }

        set
        {
            lock (_sync)
            {
                _limit = Math.Max(1, value);
                ReleaseWaiters();
            }
        }
    }

    public Task EnterAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            if (_inUse < _limit)
            {
                _inUse++;
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(() =>
                {
                    lock (_sync)
                    {
                        if (waiter.TrySetCanceled(cancellationToken))
                        {
                            // A cancelled waiter never took a slot.
                        }
                    }
                });
            }

            return waiter.Task;
        }
    }

    public void Exit()
    {
        lock (_sync)
        {
            _inUse--;
            ReleaseWaiters();
        }
    }

    private void ReleaseWaiters()
    {
        while (_inUse < _limit && _waiters.Count > 0)
        {
            var waiter = _waiters.Dequeue();
            if (waiter.TrySetResult())
            {
                _inUse++;
            }
        }
    }
}
