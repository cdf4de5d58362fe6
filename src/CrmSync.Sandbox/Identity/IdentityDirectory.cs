using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace CrmSync.Sandbox.Identity;

/// <summary>
/// The sandbox tenant's identities and its token service. Tokens are opaque, carry an audience and
/// expire; a request without a valid token for that service is answered 401 in the service's format.
/// </summary>
public sealed class IdentityDirectory
{
    private readonly ConcurrentDictionary<Guid, SandboxIdentity> _identities = new();
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);

    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public IReadOnlyCollection<SandboxIdentity> All => _identities.Values.ToList();

    public SandboxIdentity Add(SandboxIdentity identity)
    {
        _identities[identity.ObjectId] = identity;
        return identity;
    }

    public SandboxIdentity? Get(Guid objectId) => _identities.TryGetValue(objectId, out var identity) ? identity : null;

    public SandboxIdentity? FindByClientId(string clientId) =>
        Guid.TryParse(clientId, out var id) ? _identities.Values.FirstOrDefault(i => i.ClientId == id) : null;

    public SandboxIdentity? FindByUserPrincipalName(string upn) =>
        _identities.Values.FirstOrDefault(i => string.Equals(i.UserPrincipalName, upn, StringComparison.OrdinalIgnoreCase));

    /// <summary>Issues a bearer token for an identity (tests and the token endpoint).</summary>
    public IssuedToken IssueToken(SandboxIdentity identity, SandboxAudience audience = SandboxAudience.All, TimeSpan? lifetime = null)
    {
        var value = "sbx." + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = new IssuedToken(value, identity.ObjectId, audience, DateTimeOffset.UtcNow + (lifetime ?? TokenLifetime));
        _tokens[value] = token;
        return token;
    }

    /// <summary>Validates a bearer token for a service; returns the identity or the reason it is rejected.</summary>
    public (SandboxIdentity? Identity, string? Problem) Validate(string? authorization, SandboxAudience audience)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return (null, "The request has no Authorization header.");
        }

        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "The Authorization header is not a Bearer token.");
        }

        var value = authorization["Bearer ".Length..].Trim();
        if (!_tokens.TryGetValue(value, out var token))
        {
            return (null, "The access token is not valid.");
        }

        if (token.ExpiresOn <= DateTimeOffset.UtcNow)
        {
            return (null, "The access token has expired.");
        }

        if ((token.Audience & audience) == 0)
        {
            return (null, $"The access token's audience does not include {audience}.");
        }

        var identity = Get(token.ObjectId);
        return identity is null ? (null, "The identity of the access token no longer exists.") : (identity, null);
    }

    /// <summary>Maps a requested OAuth scope to the emulated service it is for.</summary>
    public static SandboxAudience AudienceOfScope(string? scope, string dataverseUrl)
    {
        var audience = SandboxAudience.None;
        foreach (var part in (scope ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Contains("api.businesscentral.dynamics.com", StringComparison.OrdinalIgnoreCase) || part.Contains("/bc/", StringComparison.OrdinalIgnoreCase))
            {
                audience |= SandboxAudience.BusinessCentral;
            }
            else if (part.Contains("graph.microsoft.com", StringComparison.OrdinalIgnoreCase) || part.Contains("/graph", StringComparison.OrdinalIgnoreCase))
            {
                audience |= SandboxAudience.Graph;
            }
            else if (part.Contains(".dynamics.com", StringComparison.OrdinalIgnoreCase) || part.StartsWith(dataverseUrl, StringComparison.OrdinalIgnoreCase) || part.Contains("/dataverse", StringComparison.OrdinalIgnoreCase))
            {
                audience |= SandboxAudience.Dataverse;
            }
        }

        return audience;
    }
}

public sealed record IssuedToken(string AccessToken, Guid ObjectId, SandboxAudience Audience, DateTimeOffset ExpiresOn);
