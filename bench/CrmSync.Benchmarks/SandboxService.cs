using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CrmSync.SandboxControl;

namespace CrmSync.Benchmarks;

/// <summary>What the sandbox's counters said about one service (GET /_sandbox/statistics, summed over identities).</summary>
public sealed record ServiceCounts(int Requests, int Throttled, int PeakConcurrency, IReadOnlyDictionary<string, int> Endpoints)
{
    public static ServiceCounts None { get; } = new(0, 0, 0, new Dictionary<string, int>());
}

/// <summary>The counters of every service; a service that was not asked counts zero.</summary>
public sealed record SandboxCounts(IReadOnlyDictionary<string, ServiceCounts> Services)
{
    public ServiceCounts Of(string service) => Services.TryGetValue(service, out var counts) ? counts : ServiceCounts.None;

    public int Throttled => Services.Values.Sum(c => c.Throttled);
}

/// <summary>
/// The sandbox as an outside client sees it: a child process (so the benchmark's memory is the engine's alone), its
/// counters over HTTP, and requests signed in as one of its sample applications.
/// </summary>
public sealed class SandboxService : IAsyncDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false });
    private readonly Dictionary<(Guid, string), string> _tokens = new();

    private SandboxService(SandboxInstance instance) => Instance = instance;

    public SandboxInstance Instance { get; }

    public string DataverseApiUrl => Instance.DataverseUrl.TrimEnd('/') + "/api/data/v9.2/";

    public string CompanyUrl => $"{Instance.BusinessCentralApiUrl.TrimEnd('/')}/companies({Instance.CompanyId})/";

    public static async Task<SandboxService> StartAsync(SandboxStartOptions options) =>
        new(await SandboxProcess.StartAsync(options with { SandboxPath = Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll") }));

    public async Task<SandboxCounts> CountsAsync()
    {
        var statistics = await _http.GetFromJsonAsync<JsonObject>(Instance.BaseUrl.TrimEnd('/') + "/_sandbox/statistics")
            ?? throw new InvalidOperationException("The sandbox answered no statistics.");
        return new SandboxCounts(statistics["services"]!.AsArray().Select(s => s!.AsObject()).GroupBy(s => s["service"]!.GetValue<string>()).ToDictionary(
            g => g.Key,
            g => new ServiceCounts(
                g.Sum(s => s["requests"]!.GetValue<int>()), g.Sum(s => s["throttled"]!.GetValue<int>()), g.Max(s => s["peakConcurrency"]!.GetValue<int>()),
                g.SelectMany(s => s["endpoints"]!.AsObject()).GroupBy(e => e.Key).ToDictionary(e => e.Key, e => e.Sum(x => x.Value!.GetValue<int>())))));
    }

    public async Task ResetCountsAsync() =>
        (await _http.DeleteAsync(Instance.BaseUrl.TrimEnd('/') + "/_sandbox/statistics")).EnsureSuccessStatusCode();

    /// <summary>A request as the sample setup application (integration: the sample integration application).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, object? body = null, bool integration = false, string? ifMatch = null)
    {
        var (clientId, secret) = integration ? (Instance.IntegrationAppClientId!.Value, Instance.IntegrationAppClientSecret!) : (Instance.SetupAppClientId!.Value, Instance.SetupAppClientSecret!);
        var scope = url.StartsWith(Instance.DataverseUrl, StringComparison.OrdinalIgnoreCase) ? Instance.DataverseUrl.TrimEnd('/') + "/.default"
            : url.StartsWith(Instance.GraphUrl, StringComparison.OrdinalIgnoreCase) ? "https://graph.microsoft.com/.default"
            : "https://api.businesscentral.dynamics.com/.default";
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(clientId, secret, scope));
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {url} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return response;
    }

    private async Task<string> TokenAsync(Guid clientId, string secret, string scope)
    {
        if (_tokens.TryGetValue((clientId, scope), out var cached))
        {
            return cached;
        }

        using var response = await _http.PostAsync(Instance.TokenUrl, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId.ToString(), ["client_secret"] = secret, ["scope"] = scope,
        }));
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
        _tokens[(clientId, scope)] = token;
        return token;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await SandboxProcess.StopAsync(Instance.ProcessId);
    }
}
