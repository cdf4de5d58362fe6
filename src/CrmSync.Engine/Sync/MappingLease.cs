using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>
/// A worker's lease on one mapping while it synchronizes it (both directions: the two passes share the mapping's
/// couplings). Renewed in the background at a third of its duration; when a renewal finds the lease lost (this worker
/// stalled past its expiry and another took over) the work is cancelled with <c>LeaseLost</c> — it resumes elsewhere
/// from the committed batches, without duplicates.
/// </summary>
internal sealed class MappingLease : IAsyncDisposable
{
    private readonly StateStore _store;
    private readonly string _mapping;
    private readonly string _worker;
    private readonly TimeSpan _duration;
    private readonly CancellationTokenSource _lost;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    private MappingLease(StateStore store, string mapping, string worker, TimeSpan duration, CancellationToken cancellationToken)
    {
        _store = store;
        _mapping = mapping;
        _worker = worker;
        _duration = duration;
        _lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _renewal = RenewAsync();
    }

    /// <summary>Cancelled when the run is, or when the lease was lost.</summary>
    public CancellationToken Token => _lost.Token;

    public bool Lost { get; private set; }

    /// <summary>
    /// Takes the lease on a mapping; when another worker holds it, waits up to <see cref="SyncOptions.LeaseWait"/>
    /// for it, else says so and returns null (the mapping is skipped this run).
    /// </summary>
    public static async Task<MappingLease?> AcquireAsync(StateStore store, string mapping, SyncOptions options, ISyncObserver observer, CancellationToken cancellationToken)
    {
        var waitUntil = DateTimeOffset.UtcNow + options.LeaseWait;
        while (true)
        {
            var (acquired, lease) = store.Leases.TryAcquire(mapping, options.Worker, options.LeaseDuration, store.CurrentTime());
            if (acquired)
            {
                return new MappingLease(store, mapping, options.Worker, options.LeaseDuration, cancellationToken);
            }

            if (DateTimeOffset.UtcNow >= waitUntil)
            {
                observer.Warning($"{mapping} is being synchronized by {lease.Holder} (its lease runs until {lease.ExpiresAt:u}); skipped this run. " +
                    "Add -LeaseWaitSeconds to wait for it instead.");
                return null;
            }

            observer.Verbose($"{mapping}: waiting for {lease.Holder}'s lease (until {lease.ExpiresAt:u}).");
            // Asked again every 2 s at most, and not more often than every 100 ms near the end of the wait.
            var pause = TimeSpan.FromTicks(Math.Clamp((waitUntil - DateTimeOffset.UtcNow).Ticks, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(2).Ticks));
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Renews the lease now, inside the caller's transaction; throws <c>LeaseLost</c> when it is no longer held.</summary>
    public void Fence()
    {
        if (Lost || !_store.Leases.Renew(_mapping, _worker, _duration, _store.CurrentTime()))
        {
            Lost = true;
            _lost.Cancel();
            throw LostError();
        }
    }

    /// <summary>The error for work stopped because the lease was lost.</summary>
    public CrmSyncException LostError() => new("LeaseLost", CrmSyncErrorKind.ResourceBusy,
        $"{_mapping}: the lease of {_worker} expired before it was renewed and another worker took it over; this worker stopped. " +
        "What was committed stays; the other worker carries on from there. A worker that stalls this long needs a longer lease (-LeaseSeconds).", _mapping);

    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(_duration / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!_store.Leases.Renew(_mapping, _worker, _duration, _store.CurrentTime()))
                {
                    Lost = true;
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
        if (!Lost)
        {
            _store.Leases.Release(_mapping, _worker);
        }

        _stop.Dispose();
        _lost.Dispose();
    }
}
