using Azure.Core;

namespace CrmSync.Auth;

/// <summary>
/// The tokens of one identity, asked of its credential for every request. Azure.Identity's credentials cache in
/// memory and refresh before expiry themselves (MSAL; ManagedIdentityCredential caches per instance), so nothing is
/// cached twice here; the sandbox's own credential keeps a cache of its own (<see cref="SandboxCredential"/>).
/// Failures name the identity, never a secret.
/// </summary>
public sealed class TokenSource
{
    private readonly TokenCredential _credential;

    internal TokenSource(TokenCredential credential, string identity)
    {
        _credential = credential;
        Identity = identity;
    }

    public string Identity { get; }

    /// <summary>Tokens requested from the token endpoint so far, where the credential counts them (the sandbox's).</summary>
    internal int? Acquisitions => (_credential as SandboxCredential)?.Acquisitions;

    /// <summary>The sign-in this source stands for (tenant, client id, authority), for the fixes its failures name.</summary>
    internal CredentialSpec? Spec { get; init; }

    public async ValueTask<string> GetTokenAsync(string scope, CancellationToken cancellationToken)
    {
        // A person signs in once: the services' tokens are asked one at a time, so the first sign-in (a device code to
        // approve) serves the others silently instead of the three services' checks each showing a code of their own.
        var person = Spec?.SignsInAsUser == true;
        if (person)
        {
            await _signingIn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return (await _credential.GetTokenAsync(new TokenRequestContext(new[] { scope }), cancellationToken).ConfigureAwait(false)).Token;
        }
        catch (Exception ex) when (ex is not CrmSyncException and not OperationCanceledException)
        {
            // Azure.Identity messages name the tenant and client, not the secret.
            throw TokenUnavailableException.From(ex, Identity, scope, Spec);
        }
        finally
        {
            if (person)
            {
                _signingIn.Release();
            }
        }
    }

    private readonly SemaphoreSlim _signingIn = new(1, 1);

    /// <summary>
    /// A service rejected the token: forget it where this process caches it, so the next request asks anew. MSAL's
    /// cache hands out a token until it expires; a revoked one surfaces as the service's 401.
    /// </summary>
    public void Invalidate(string scope) => (_credential as SandboxCredential)?.Invalidate(scope);
}
