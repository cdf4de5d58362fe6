using System.Collections.Concurrent;
using Azure.Core;

namespace CrmSync.Auth;

/// <summary>
/// Caches one token per scope and refreshes it shortly before it expires (one acquisition per resource
/// per token lifetime: reference/limits-and-reliability.md §6). Failures name the identity, never a secret.
/// </summary>
public sealed class TokenCache
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly TokenCredential _credential;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, AccessToken> _tokens = new(StringComparer.OrdinalIgnoreCase);
    private int _acquisitions;

    internal TokenCache(TokenCredential credential, string identity)
    {
        _credential = credential;
        Identity = identity;
    }

    public string Identity { get; }

    /// <summary>How many tokens were acquired (tests: one per scope per lifetime).</summary>
    public int Acquisitions => _acquisitions;

    public async ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken)
    {
        if (_tokens.TryGetValue(scope, out var cached) && !IsStale(cached))
        {
            return cached.Token;
        }

        var gate = _locks.GetOrAdd(scope, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_tokens.TryGetValue(scope, out cached) && !IsStale(cached))
            {
                return cached.Token;
            }

            AccessToken token;
            try
            {
                token = await _credential.GetTokenAsync(new TokenRequestContext(new[] { scope }), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not CrmSyncException and not OperationCanceledException)
            {
                // Azure.Identity messages name the tenant and client, not the secret.
                throw new CrmSyncException("AuthenticationFailed", CrmSyncErrorKind.PermissionDenied,
                    $"Signing in as {Identity} for {scope} failed: {ex.Message}", Identity, ex);
            }

            Interlocked.Increment(ref _acquisitions);
            _tokens[scope] = token;
            return token.Token;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Forgets a token the service rejected, so the next request acquires a new one.</summary>
    public void Invalidate(string scope) => _tokens.TryRemove(scope, out _);

    private static bool IsStale(AccessToken token) => token.ExpiresOn - DateTimeOffset.UtcNow <= RefreshMargin;
}
