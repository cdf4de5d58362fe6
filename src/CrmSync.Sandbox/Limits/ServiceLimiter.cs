using System.Diagnostics;

namespace CrmSync.Sandbox.Limits;

/// <summary>Why a request was refused by service protection.</summary>
public enum LimitBreach
{
    None,
    RequestCount,
    ExecutionTime,
    Concurrency,
    QueueFull,
    QueueTimeout,
}

public readonly record struct LimitDecision(LimitBreach Breach, TimeSpan? RetryAfter)
{
    public bool Admitted => Breach == LimitBreach.None;
}

/// <summary>
/// Enforces one service's per-identity limits: requests per sliding window, execution time per window
/// (Dataverse), concurrency refused at once (Dataverse) or queued (BC).
/// </summary>
public sealed class ServiceLimiter
{
    private readonly Dictionary<Guid, IdentityState> _states = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ServiceLimiter(ServiceLimits limits) => Limits = limits;

    /// <summary>Changeable at run time (tests tighten limits on a running sandbox).</summary>
    public ServiceLimits Limits { get; set; }

    public async Task<LimitDecision> EnterAsync(Guid identity, CancellationToken cancellationToken)
    {
        var limits = Limits;
        IdentityState state;
        lock (_states)
        {
            if (!_states.TryGetValue(identity, out state!))
            {
                state = new IdentityState();
                _states[identity] = state;
            }
        }

        SemaphoreSlim? slot = null;
        lock (state)
        {
            var now = _clock.Elapsed;
            Prune(state, now, limits.Window);
            if (limits.RequestsPerWindow is { } max && state.Admitted.Count >= max)
            {
                return new LimitDecision(LimitBreach.RequestCount, RetryAfter(state.Admitted.Peek() + limits.Window - now));
            }

            if (limits.ExecutionTimeBudget is { } budget && state.ExecutionTotal >= budget)
            {
                return new LimitDecision(LimitBreach.ExecutionTime, RetryAfter(state.Execution.Peek().At + limits.Window - now));
            }

            if (limits.MaxConcurrent is { } concurrent)
            {
                if (limits.MaxQueued is null)
                {
                    if (state.InFlight >= concurrent)
                    {
                        return new LimitDecision(LimitBreach.Concurrency, TimeSpan.FromSeconds(1));
                    }
                }
                else
                {
                    if (state.InFlight + state.Waiting >= concurrent + limits.MaxQueued.Value)
                    {
                        return new LimitDecision(LimitBreach.QueueFull, null);
                    }

                    state.Slots ??= new SemaphoreSlim(concurrent, concurrent);
                    slot = state.Slots;
                    state.Waiting++;
                }
            }

            if (slot is null)
            {
                state.InFlight++;
                state.Admitted.Enqueue(now);
            }
        }

        if (slot is not null)
        {
            bool entered;
            try
            {
                entered = await slot.WaitAsync(limits.QueueTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (state)
                {
                    state.Waiting--;
                }

                throw;
            }

            lock (state)
            {
                state.Waiting--;
                if (!entered)
                {
                    return new LimitDecision(LimitBreach.QueueTimeout, TimeSpan.FromSeconds(1));
                }

                state.InFlight++;
                state.Admitted.Enqueue(_clock.Elapsed);
                state.HoldsSlot++;
            }
        }

        return new LimitDecision(LimitBreach.None, null);
    }

    /// <summary>Requests waiting in the queue for a slot (BC), over all identities.</summary>
    public int Queued
    {
        get
        {
            lock (_states)
            {
                return _states.Values.Sum(state =>
                {
                    lock (state)
                    {
                        return state.Waiting;
                    }
                });
            }
        }
    }

    /// <summary>Ends an admitted request; its duration counts toward the execution-time budget.</summary>
    public void Exit(Guid identity, TimeSpan executionTime)
    {
        IdentityState? state;
        lock (_states)
        {
            _states.TryGetValue(identity, out state);
        }

        if (state is null)
        {
            return;
        }

        lock (state)
        {
            state.InFlight--;
            state.Execution.Enqueue((_clock.Elapsed, executionTime));
            state.ExecutionTotal += executionTime;
            if (state.HoldsSlot > 0)
            {
                state.HoldsSlot--;
                state.Slots!.Release();
            }
        }
    }

    private static void Prune(IdentityState state, TimeSpan now, TimeSpan window)
    {
        while (state.Admitted.Count > 0 && state.Admitted.Peek() <= now - window)
        {
            state.Admitted.Dequeue();
        }

        while (state.Execution.Count > 0 && state.Execution.Peek().At <= now - window)
        {
            state.ExecutionTotal -= state.Execution.Dequeue().Duration;
        }
    }

    // Retry-After is whole seconds, rounded up, at least 1.
    private static TimeSpan RetryAfter(TimeSpan wait) => TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds)));

    private sealed class IdentityState
    {
        public Queue<TimeSpan> Admitted { get; } = new();

        public Queue<(TimeSpan At, TimeSpan Duration)> Execution { get; } = new();

        public TimeSpan ExecutionTotal { get; set; }

        public int InFlight { get; set; }

        public int Waiting { get; set; }

        public int HoldsSlot { get; set; }

        public SemaphoreSlim? Slots { get; set; }
    }
}
