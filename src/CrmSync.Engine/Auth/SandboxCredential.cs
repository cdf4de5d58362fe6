using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;

namespace CrmSync.Auth;

/// <summary>
/// Client credentials against the sandbox's token endpoint (MSAL insists on https authorities). MSAL is not in the way
/// here, so this credential caches as MSAL would: one token per scope, refreshed shortly before it expires, one
/// request at a time per scope (docs/reference/limits.md §6).
/// </summary>
internal sealed class SandboxCredential(string tokenUrl, string clientId, SecretText secret, HttpClient http) : TokenCredential
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, AccessToken> _tokens = new(StringComparer.OrdinalIgnoreCase);
    private int _acquisitions;

    /// <summary>Tokens requested from the endpoint (tests: one per scope per lifetime).</summary>
    public int Acquisitions => Volatile.Read(ref _acquisitions);

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var scope = string.Join(' ', requestContext.Scopes);
        if (_tokens.TryGetValue(scope, out var cached) && !IsStale(cached))
        {
            return cached;
        }

        var gate = _locks.GetOrAdd(scope, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_tokens.TryGetValue(scope, out cached) && !IsStale(cached))
            {
                return cached;
            }

            var token = await RequestAsync(scope, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _acquisitions);
            _tokens[scope] = token;
            return token;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Invalidate(string scope) => _tokens.TryRemove(scope, out _);

    private static bool IsStale(AccessToken token) => token.ExpiresOn - DateTimeOffset.UtcNow <= RefreshMargin;

    private async Task<AccessToken> RequestAsync(string scope, CancellationToken cancellationToken)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret.Reveal(),
            ["scope"] = scope,
        });
        using var response = await http.PostAsync(tokenUrl, form, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (!response.IsSuccessStatusCode)
        {
            var description = root.TryGetProperty("error_description", out var d) ? d.GetString() : body;
            // Classified like Azure.Identity's failures (TokenSource): the AADSTS code says what is wrong and the fix.
            throw new InvalidOperationException($"The sandbox token endpoint refused application {clientId}: {description}");
        }

        return new AccessToken(root.GetProperty("access_token").GetString()!, DateTimeOffset.UtcNow.AddSeconds(root.GetProperty("expires_in").GetInt32()));
    }
}
