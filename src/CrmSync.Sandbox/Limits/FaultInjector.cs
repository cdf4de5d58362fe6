namespace CrmSync.Sandbox.Limits;

/// <summary>Decides which faults hit a request: queued faults first (deterministic tests), then seeded random ones.</summary>
public sealed class FaultInjector
{
    private readonly object _gate = new();
    private readonly List<QueuedFault> _queued = new();
    private readonly Dictionary<FaultKind, int> _injected = new();
    private volatile FaultOptions _options;
    private int _queuedCount;
    private Random _random;

    public FaultInjector(FaultOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
    }

    public FaultOptions Options
    {
        get => _options;
        set
        {
            lock (_gate)
            {
                _options = value;
                _random = new Random(value.Seed);
            }
        }
    }

    /// <summary>Makes the next <paramref name="count"/> matching requests fail with <paramref name="kind"/>.</summary>
    public void Enqueue(FaultKind kind, int count = 1, Func<string, string, bool>? match = null)
    {
        lock (_gate)
        {
            _queued.Add(new QueuedFault(kind, count, match ?? ((_, _) => true)));
            Volatile.Write(ref _queuedCount, _queued.Count);
        }
    }

    /// <summary>How many faults of each kind hit requests so far.</summary>
    public IReadOnlyDictionary<FaultKind, int> Injected
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<FaultKind, int>(_injected);
            }
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _queued.Clear();
            Volatile.Write(ref _queuedCount, 0);
        }
    }

    /// <summary>The fault for a request (method, path relative to the service), or null.</summary>
    public FaultKind? Next(string method, string path) => Next(method, path, inner: false);

    /// <summary>
    /// The fault for one request inside a $batch, or null: only the kinds a service answers per inner request (5xx, 429).
    /// Queued faults for inner requests match the method as "INNER POST".
    /// </summary>
    public FaultKind? NextInner(string method, string path) => Next("INNER " + method, path, inner: true);

    private static bool AppliesInside(FaultKind kind) => kind is FaultKind.ServerError or FaultKind.ThrottleWithoutRetryAfter or FaultKind.ThrottleWithRetryAfter;

    private FaultKind? Next(string method, string path, bool inner)
    {
        // Most sandboxes inject nothing: answer without the lock every request (and every request in a $batch) would take.
        // Skipping the roll is safe: setting new options reseeds the random sequence anyway.
        if (Volatile.Read(ref _queuedCount) == 0 && _options.InjectsNothing)
        {
            return null;
        }

        lock (_gate)
        {
            for (var i = 0; i < _queued.Count; i++)
            {
                var fault = _queued[i];
                if (fault.Match(method, path) && (!inner || AppliesInside(fault.Kind)))
                {
                    fault.Remaining--;
                    if (fault.Remaining <= 0)
                    {
                        _queued.RemoveAt(i);
                        Volatile.Write(ref _queuedCount, _queued.Count);
                    }

                    return Count(fault.Kind);
                }
            }

            var roll = _random.NextDouble();
            foreach (var (kind, rate) in new[]
            {
                (FaultKind.ServerError, _options.ServerErrorRate),
                (FaultKind.ThrottleWithoutRetryAfter, _options.ThrottleWithoutRetryAfterRate),
                (FaultKind.ThrottleWithRetryAfter, _options.ThrottleWithRetryAfterRate),
                (FaultKind.ResetBeforeCommit, _options.ResetBeforeCommitRate),
                (FaultKind.ResetAfterCommit, _options.ResetAfterCommitRate),
                (FaultKind.SlowResponse, _options.SlowResponseRate),
            })
            {
                if (roll < rate)
                {
                    return inner && !AppliesInside(kind) ? null : Count(kind);
                }

                roll -= rate;
            }

            return null;
        }
    }

    private FaultKind Count(FaultKind kind)
    {
        _injected[kind] = _injected.GetValueOrDefault(kind) + 1;
        return kind;
    }

    private sealed class QueuedFault(FaultKind kind, int remaining, Func<string, string, bool> match)
    {
        public FaultKind Kind { get; } = kind;

        public int Remaining { get; set; } = remaining;

        public Func<string, string, bool> Match { get; } = match;
    }
}
