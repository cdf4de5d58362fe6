using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Limits;

/// <summary>One request as the sandbox saw it.</summary>
public sealed record RequestLogEntry(
    DateTimeOffset ReceivedAt,
    DateTimeOffset CompletedAt,
    string Service,
    Guid? Identity,
    string Method,
    string Endpoint,
    int Status,
    TimeSpan? RetryAfter);

/// <summary>What the sandbox counted: requests per endpoint and identity, throttled answers, peak concurrency, a request log.</summary>
public sealed partial class SandboxCounters
{
    private const int MaxLog = 200_000;
    private readonly ConcurrentDictionary<(string Service, string Endpoint, Guid? Identity), int> _requests = new();
    private readonly ConcurrentDictionary<string, int> _throttled = new();
    private readonly ConcurrentDictionary<(string Service, Guid? Identity), int> _inFlight = new();
    private readonly ConcurrentDictionary<(string Service, Guid? Identity), int> _peak = new();
    private readonly ConcurrentQueue<RequestLogEntry> _log = new();

    /// <summary>Requests to a service, optionally one endpoint (e.g. "GET accounts") and one identity.</summary>
    public int Requests(string service, string? endpoint = null, Guid? identity = null) =>
        _requests.Where(kv => kv.Key.Service == service && (endpoint is null || kv.Key.Endpoint == endpoint) && (identity is null || kv.Key.Identity == identity))
                 .Sum(kv => kv.Value);

    public IReadOnlyDictionary<string, int> RequestsByEndpoint(string service) =>
        _requests.Where(kv => kv.Key.Service == service).GroupBy(kv => kv.Key.Endpoint).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));

    public int Throttled(string service) => _throttled.TryGetValue(service, out var n) ? n : 0;

    /// <summary>Most requests one identity had in flight at once (arrival to completion, throttled ones included).</summary>
    public int PeakConcurrency(string service, Guid? identity = null) =>
        _peak.Where(kv => kv.Key.Service == service && (identity is null || kv.Key.Identity == identity)).Select(kv => kv.Value).DefaultIfEmpty(0).Max();

    public IReadOnlyList<RequestLogEntry> Log => _log.ToArray();

    public void Reset()
    {
        _requests.Clear();
        _throttled.Clear();
        _peak.Clear();
        _log.Clear();
    }

    internal void Arrive(string service, Guid? identity)
    {
        var current = _inFlight.AddOrUpdate((service, identity), 1, (_, n) => n + 1);
        _peak.AddOrUpdate((service, identity), current, (_, peak) => Math.Max(peak, current));
    }

    internal void Complete(RequestLogEntry entry)
    {
        _inFlight.AddOrUpdate((entry.Service, entry.Identity), 0, (_, n) => n - 1);
        _requests.AddOrUpdate((entry.Service, entry.Endpoint, entry.Identity), 1, (_, n) => n + 1);
        if (entry.Status == 429)
        {
            _throttled.AddOrUpdate(entry.Service, 1, (_, n) => n + 1);
        }

        _log.Enqueue(entry);
        while (_log.Count > MaxLog && _log.TryDequeue(out _))
        {
        }
    }

    /// <summary>"PATCH accounts(0b1f…)" → "PATCH accounts({id})".</summary>
    public static string EndpointOf(string method, string path)
    {
        var normalized = IdPattern().Replace(path.Split('?')[0], "({id})");
        return $"{method} {normalized}";
    }

    [GeneratedRegex(@"\([^)]*\)")]
    private static partial Regex IdPattern();
}
