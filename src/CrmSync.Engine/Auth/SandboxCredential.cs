using System.Text.Json;
using Azure.Core;

namespace CrmSync.Auth;

/// <summary>Client credentials against the sandbox's token endpoint (MSAL insists on https authorities).</summary>
internal sealed class SandboxCredential(string tokenUrl, string clientId, SecretText secret, HttpClient http) : TokenCredential
{
    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret.Reveal(),
            ["scope"] = string.Join(' ', requestContext.Scopes),
        });
        using var response = await http.PostAsync(tokenUrl, form, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (!response.IsSuccessStatusCode)
        {
            var description = root.TryGetProperty("error_description", out var d) ? d.GetString() : body;
            throw new CrmSyncException("AuthenticationFailed", CrmSyncErrorKind.PermissionDenied,
                $"The sandbox token endpoint refused application {clientId}: {description}", clientId);
        }

        return new AccessToken(root.GetProperty("access_token").GetString()!, DateTimeOffset.UtcNow.AddSeconds(root.GetProperty("expires_in").GetInt32()));
    }
}
