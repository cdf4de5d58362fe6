using System.Text.Json;

namespace CrmSync.SandboxControl;

/// <summary>What one identity cost one of the sandbox's services since counting started: requests, throttled answers, peak concurrency.</summary>
public sealed record SandboxStatistic
{
    /// <summary>Dataverse, BusinessCentral or Graph.</summary>
    public required string Service { get; init; }

    /// <summary>The Entra object id of the caller; null for requests without a valid token.</summary>
    public Guid? IdentityId { get; init; }

    /// <summary>The caller's display name (e.g. "Business Central Integration"), or "(anonymous)".</summary>
    public required string Identity { get; init; }

    public int Requests { get; init; }

    /// <summary>Requests answered 429 (service protection).</summary>
    public int Throttled { get; init; }

    /// <summary>Most requests this identity had in flight at once.</summary>
    public int PeakConcurrency { get; init; }

    /// <summary>Requests per endpoint, ids folded: "GET accounts", "PATCH accounts({id})", "POST $batch".</summary>
    public IReadOnlyDictionary<string, int> Endpoints { get; init; } = new Dictionary<string, int>();

    /// <summary>When counting started: the sandbox's start, or the last Clear-CrmSyncSandboxStatistic.</summary>
    public DateTimeOffset Since { get; init; }
}

/// <summary>The sandbox's counters over HTTP: GET /_sandbox/statistics, DELETE to start counting anew.</summary>
public static class SandboxStatistics
{
    public static async Task<IReadOnlyList<SandboxStatistic>> GetAsync(string baseUrl, CancellationToken cancellationToken = default)
    {
        var json = await SendAsync(baseUrl, HttpMethod.Get, cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var since = root.GetProperty("since").GetDateTimeOffset();
        return root.GetProperty("services").EnumerateArray().Select(s => new SandboxStatistic
        {
            Service = s.GetProperty("service").GetString()!,
            IdentityId = s.GetProperty("identity").ValueKind == JsonValueKind.Null ? null : s.GetProperty("identity").GetGuid(),
            Identity = s.GetProperty("displayName").GetString() ?? (s.GetProperty("identity").ValueKind == JsonValueKind.Null ? "(anonymous)" : s.GetProperty("identity").GetString()!),
            Requests = s.GetProperty("requests").GetInt32(),
            Throttled = s.GetProperty("throttled").GetInt32(),
            PeakConcurrency = s.GetProperty("peakConcurrency").GetInt32(),
            Endpoints = s.GetProperty("endpoints").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetInt32()),
            Since = since,
        }).ToList();
    }

    public static Task ClearAsync(string baseUrl, CancellationToken cancellationToken = default) =>
        SendAsync(baseUrl, HttpMethod.Delete, cancellationToken);

    private static async Task<string> SendAsync(string baseUrl, HttpMethod method, CancellationToken cancellationToken)
    {
        var uri = SandboxProcess.SandboxUri(baseUrl, "_sandbox/statistics");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.SendAsync(new HttpRequestMessage(method, uri), cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? body
                : throw new CrmSyncException("SandboxStatisticsUnavailable", CrmSyncErrorKind.ResourceUnavailable, $"The sandbox at {baseUrl} answered {(int)response.StatusCode} for its statistics: {body}", baseUrl);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw new CrmSyncException("SandboxUnreachable", CrmSyncErrorKind.ConnectionError, $"No CrmSync sandbox answered at {baseUrl}: {ex.Message} Start one with Start-CrmSyncSandbox.", baseUrl, ex);
        }
    }
}
