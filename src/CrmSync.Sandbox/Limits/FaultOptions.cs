namespace CrmSync.Sandbox.Limits;

public enum FaultKind
{
    /// <summary>500/503 with the service's error body.</summary>
    ServerError,
    /// <summary>429 without a Retry-After header.</summary>
    ThrottleWithoutRetryAfter,
    /// <summary>The connection is dropped before the request is processed (nothing written).</summary>
    ResetBeforeCommit,
    /// <summary>The request is processed (and written), then the connection is dropped before the response.</summary>
    ResetAfterCommit,
    /// <summary>The response is delayed by SlowResponseDelay.</summary>
    SlowResponse,
}

/// <summary>Random, seedable fault injection for one service (rates are per request, 0..1).</summary>
public sealed record FaultOptions
{
    public int Seed { get; init; } = 12345;

    public double ServerErrorRate { get; init; }

    public double ThrottleWithoutRetryAfterRate { get; init; }

    public double ResetBeforeCommitRate { get; init; }

    public double ResetAfterCommitRate { get; init; }

    public double SlowResponseRate { get; init; }

    public TimeSpan SlowResponseDelay { get; init; } = TimeSpan.FromSeconds(5);

    public static FaultOptions None { get; } = new();
}
