namespace CrmSync.Sandbox.Limits;

public enum FaultKind
{
    /// <summary>500/503 with the service's error body.</summary>
    ServerError,
    /// <summary>429 without a Retry-After header.</summary>
    ThrottleWithoutRetryAfter,
    /// <summary>429 with Retry-After: 1 (seconds).</summary>
    ThrottleWithRetryAfter,
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

    public double ThrottleWithRetryAfterRate { get; init; }

    public double ResetBeforeCommitRate { get; init; }

    public double ResetAfterCommitRate { get; init; }

    public double SlowResponseRate { get; init; }

    public TimeSpan SlowResponseDelay { get; init; } = TimeSpan.FromSeconds(5);

    public static FaultOptions None { get; } = new();

    /// <summary>No random fault can happen (every rate is 0).</summary>
    public bool InjectsNothing => ServerErrorRate + ThrottleWithoutRetryAfterRate + ThrottleWithRetryAfterRate + ResetBeforeCommitRate + ResetAfterCommitRate + SlowResponseRate <= 0;

    /// <summary>
    /// A share of requests failing at random, spread evenly over every kind of fault: 5xx, 429 with and without
    /// Retry-After, a reset before and after the service commits, and a response slower than <paramref name="slowDelay"/>.
    /// </summary>
    public static FaultOptions AtRate(double rate, int seed, TimeSpan? slowDelay = null)
    {
        if (rate is < 0 or > 0.5 || double.IsNaN(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The fault rate is a share of requests from 0 to 0.5 (0.05 = 5 %).");
        }

        var each = rate / 6;
        return new FaultOptions
        {
            Seed = seed, ServerErrorRate = each, ThrottleWithoutRetryAfterRate = each, ThrottleWithRetryAfterRate = each,
            ResetBeforeCommitRate = each, ResetAfterCommitRate = each, SlowResponseRate = each,
            SlowResponseDelay = slowDelay ?? TimeSpan.FromSeconds(5),
        };
    }
}
