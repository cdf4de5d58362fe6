using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;
using CrmSync.Sandbox.Seed;

namespace CrmSync.Sandbox.Tests;

/// <summary>A started sandbox plus a plain HttpClient that talks to it over real HTTP.</summary>
public sealed class SandboxClient : IAsyncDisposable
{
    private readonly Dictionary<(Guid, SandboxAudience), string> _tokens = new();

    private SandboxClient(SandboxHost host)
    {
        Host = host;
        Http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };
    }

    public SandboxHost Host { get; }

    public HttpClient Http { get; }

    public SampleData Sample => Host.Sample!;

    public static async Task<SandboxClient> StartAsync(SandboxOptions? options = null) =>
        new(await SandboxHost.StartAsync(options ?? new SandboxOptions { DataverseUserSyncDelay = TimeSpan.Zero }));

    public string Token(SandboxIdentity identity, SandboxAudience audience = SandboxAudience.All)
    {
        if (!_tokens.TryGetValue((identity.ObjectId, audience), out var token))
        {
            token = Host.IssueToken(identity, audience);
            _tokens[(identity.ObjectId, audience)] = token;
        }

        return token;
    }

    public Task<Reply> Dataverse(HttpMethod method, string path, object? body = null, SandboxIdentity? caller = null, params (string Name, string Value)[] headers) =>
        SendAsync(method, Host.DataverseApiUrl + path, body, caller ?? Sample.SetupApp, headers);

    public Task<Reply> Bc(HttpMethod method, string path, object? body = null, SandboxIdentity? caller = null, params (string Name, string Value)[] headers) =>
        SendAsync(method, Host.BusinessCentralApiUrl + path, body, caller ?? Sample.SetupApp, headers);

    public Task<Reply> Graph(HttpMethod method, string path, object? body = null, SandboxIdentity? caller = null, params (string Name, string Value)[] headers) =>
        SendAsync(method, Host.GraphUrl + "/" + path, body, caller ?? Sample.SetupApp, headers);

    public string Company => $"companies({Sample.CompanyId})";

    public async Task<Reply> SendAsync(HttpMethod method, string url, object? body, SandboxIdentity? caller, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (caller is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(caller));
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body is not null)
        {
            request.Content = body is HttpContent content ? content : new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply(response.StatusCode, response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase), text,
            response.Content.Headers.ContentType?.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}

public sealed record Reply(HttpStatusCode Status, IReadOnlyDictionary<string, string> Headers, string Body, string? ContentType)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string ErrorCode => Json.GetProperty("error").GetProperty("code").GetString()!;

    public string ErrorMessage => Json.GetProperty("error").GetProperty("message").GetString()!;

    public IReadOnlyList<JsonElement> Values => Json.GetProperty("value").EnumerateArray().ToList();

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => $"{(int)Status} {Body}";
}
