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

/// <summary>One identity's use of one service: requests (per endpoint), throttled answers (429), most requests in flight at once.</summary>
public sealed record IdentityStatistics(string Service, Guid? Identity, string? DisplayName, int Requests, int Throttled, int PeakConcurrency, IReadOnlyDictionary<string, int> Endpoints);

/// <summary>What the sandbox counted: requests per endpoint and identity, throttled answers, peak concurrency, a request log.</summary>
public sealed partial class SandboxCounters
{
    private const int MaxLog = 200_000;
    private readonly ConcurrentDictionary<(string Service, string Endpoint, Guid? Identity), int> _requests = new();
    private readonly ConcurrentDictionary<(string Service, Guid? Identity), int> _throttled = new();
    private readonly ConcurrentDictionary<(string Service, Guid? Identity), int> _inFlight = new();
    private readonly ConcurrentDictionary<(string Service, Guid? Identity), int> _peak = new();
    private readonly ConcurrentQueue<RequestLogEntry> _log = new();

    /// <summary>Requests to a service, optionally one endpoint (e.g. "GET accounts") and one identity.</summary>
    public int Requests(string service, string? endpoint = null, Guid? identity = null) =>
        _requests.Where(kv => kv.Key.Service == service && (endpoint is null || kv.Key.Endpoint == endpoint) && (identity is null || kv.Key.Identity == identity))
                 .Sum(kv => kv.Value);

    public IReadOnlyDictionary<string, int> RequestsByEndpoint(string service) =>
        _requests.Where(kv => kv.Key.Service == service).GroupBy(kv => kv.Key.Endpoint).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));

    public int Throttled(string service, Guid? identity = null) =>
        _throttled.Where(kv => kv.Key.Service == service && (identity is null || kv.Key.Identity == identity)).Sum(kv => kv.Value);

    /// <summary>When counting started (the sandbox's start, or the last reset).</summary>
    public DateTimeOffset Since { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Everything counted, per service and identity, with each identity's endpoints: what /_sandbox/statistics serves.</summary>
    public IReadOnlyList<IdentityStatistics> Snapshot(Func<Guid, string?> displayName) =>
        _requests.Keys.Select(k => (k.Service, k.Identity)).Concat(_throttled.Keys).Concat(_peak.Keys).Distinct()
            .OrderBy(k => k.Service, StringComparer.Ordinal).ThenBy(k => k.Identity)
            .Select(k =>
            {
                var endpoints = _requests.Where(kv => kv.Key.Service == k.Service && kv.Key.Identity == k.Identity)
                    .OrderBy(kv => kv.Key.Endpoint, StringComparer.Ordinal).ToDictionary(kv => kv.Key.Endpoint, kv => kv.Value);
                return new IdentityStatistics(k.Service, k.Identity, k.Identity is { } id ? displayName(id) : null, endpoints.Values.Sum(),
                    _throttled.TryGetValue(k, out var throttled) ? throttled : 0, _peak.TryGetValue(k, out var peak) ? peak : 0, endpoints);
            })
            .ToList();

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
        _signIns.Clear();
        _inner.Clear();
        Since = DateTimeOffset.UtcNow;
    }

    internal void Arrive(string service, Guid? identity)
    {
        var current = _inFlight.AddOrUpdate((service, identity), 1, (_, n) => n + 1);
        _peak.AddOrUpdate((service, identity), current, (_, peak) => Math.Max(peak, current));
    }

    private readonly ConcurrentDictionary<string, int> _signIns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Service, string Endpoint), int> _inner = new();

    /// <summary>Requests sent inside $batch requests (those answered one by one), per endpoint such as "POST companies({id})/customers".</summary>
    public int InnerRequests(string service, string endpoint) => _inner.TryGetValue((service, endpoint), out var n) ? n : 0;

    internal void CountInner(string service, string endpoint) => _inner.AddOrUpdate((service, endpoint), 1, (_, n) => n + 1);

    /// <summary>Tokens issued by the tenant's sign-in, per way of signing in (client_secret, client_assertion, device_code, refresh_token, managed_identity, password).</summary>
    public IReadOnlyDictionary<string, int> SignIns => new Dictionary<string, int>(_signIns, StringComparer.Ordinal);

    internal void CountSignIn(string how) => _signIns.AddOrUpdate(how, 1, (_, n) => n + 1);

    internal void Complete(RequestLogEntry entry)
    {
        _inFlight.AddOrUpdate((entry.Service, entry.Identity), 0, (_, n) => n - 1);
        _requests.AddOrUpdate((entry.Service, entry.Endpoint, entry.Identity), 1, (_, n) => n + 1);
        if (entry.Status == 429)
        {
            _throttled.AddOrUpdate((entry.Service, entry.Identity), 1, (_, n) => n + 1);
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
