namespace CrmSync.Sandbox.Limits;

/// <summary>
/// Service-protection limits and latency of one emulated service, per identity
/// (docs/reference/limits.md §0–1). Null means unlimited.
/// </summary>
public sealed record ServiceLimits
{
    /// <summary>Requests per identity per sliding window (Dataverse and BC: 6,000 per 5 minutes).</summary>
    public int? RequestsPerWindow { get; init; }

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Requests processed at once per identity (Dataverse 52: over is refused at once; BC 5: over is queued).</summary>
    public int? MaxConcurrent { get; init; }

    /// <summary>BC only: requests that may wait for a slot (95); beyond that, 429.</summary>
    public int? MaxQueued { get; init; }

    /// <summary>BC only: a request queued this long gets 503 (8 minutes online).</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromMinutes(8);

    /// <summary>Dataverse only: combined execution time per identity per window (20 minutes).</summary>
    public TimeSpan? ExecutionTimeBudget { get; init; }

    /// <summary>Whether a 429 carries Retry-After (Dataverse and Graph do; BC documents it only for 502/503).</summary>
    public bool SendRetryAfter { get; init; } = true;

    /// <summary>Server time of every request (the emulator's own work counts toward it; it waits out the rest).</summary>
    public TimeSpan LatencyPerRequest { get; init; }

    /// <summary>Server time per record read or written, on top of <see cref="LatencyPerRequest"/>.</summary>
    public TimeSpan LatencyPerRecord { get; init; }

    public static ServiceLimits Unlimited { get; } = new();
}

/// <summary>The limits of all three services.</summary>
public sealed record SandboxLimits
{
    public ServiceLimits Dataverse { get; init; } = ServiceLimits.Unlimited;

    public ServiceLimits BusinessCentral { get; init; } = ServiceLimits.Unlimited;

    public ServiceLimits Graph { get; init; } = ServiceLimits.Unlimited;

    /// <summary>These limits with another server time per record on Dataverse and Business Central.</summary>
    public SandboxLimits WithRecordLatency(TimeSpan perRecord) => this with
    {
        Dataverse = Dataverse with { LatencyPerRecord = perRecord },
        BusinessCentral = BusinessCentral with { LatencyPerRecord = perRecord },
    };

    /// <summary>No limits, no latency: fast tests.</summary>
    public static SandboxLimits Unlimited { get; } = new() { BusinessCentral = ServiceLimits.Unlimited with { SendRetryAfter = false } };

    /// <summary>The documented online defaults with modest latency (docs/reference/limits.md §0).</summary>
    public static SandboxLimits Realistic { get; } = new()
    {
        Dataverse = new ServiceLimits
        {
            RequestsPerWindow = 6000,
            Window = TimeSpan.FromMinutes(5),
            MaxConcurrent = 52,
            ExecutionTimeBudget = TimeSpan.FromMinutes(20),
            SendRetryAfter = true,
            LatencyPerRequest = TimeSpan.FromMilliseconds(15),
            LatencyPerRecord = TimeSpan.FromMilliseconds(1),
        },
        BusinessCentral = new ServiceLimits
        {
            RequestsPerWindow = 6000,
            Window = TimeSpan.FromMinutes(5),
            MaxConcurrent = 5,
            MaxQueued = 95,
            QueueTimeout = TimeSpan.FromMinutes(8),
            SendRetryAfter = false,
            LatencyPerRequest = TimeSpan.FromMilliseconds(20),
            LatencyPerRecord = TimeSpan.FromMilliseconds(1),
        },
        Graph = new ServiceLimits
        {
            // Identity and access, small tenant: 3,500 resource units per 10 s (a GET costs 1; writes more).
            RequestsPerWindow = 3500,
            Window = TimeSpan.FromSeconds(10),
            SendRetryAfter = true,
            LatencyPerRequest = TimeSpan.FromMilliseconds(10),
        },
    };
}
