using Microsoft.AspNetCore.Http;

namespace CrmSync.Sandbox.Hosting;

/// <summary>An OAuth 2.0 token endpoint for the sandbox tenant: client credentials and password grants.</summary>
internal static class TokenEndpoint
{
    public static async Task HandleAsync(SandboxHost host, HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.HasFormContentType)
        {
            await ErrorAsync(context, 400, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded (POST).").ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var grant = form["grant_type"].ToString();
        var scope = form["scope"].ToString();
        SandboxIdentity? identity;
        if (grant == "client_credentials")
        {
            identity = host.Identities.FindByClientId(form["client_id"].ToString());
            if (identity is null)
            {
                await ErrorAsync(context, 400, "unauthorized_client", $"AADSTS700016: Application with identifier '{form["client_id"]}' was not found in the directory '{host.TenantId}'.").ConfigureAwait(false);
                return;
            }

            if (!string.Equals(identity.ClientSecret, form["client_secret"].ToString(), StringComparison.Ordinal))
            {
                await ErrorAsync(context, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.").ConfigureAwait(false);
                return;
            }
        }
        else if (grant == "password")
        {
            identity = host.Identities.FindByUserPrincipalName(form["username"].ToString());
            if (identity is null || !string.Equals(identity.Password, form["password"].ToString(), StringComparison.Ordinal))
            {
                await ErrorAsync(context, 400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password.").ConfigureAwait(false);
                return;
            }
        }
        else
        {
            await ErrorAsync(context, 400, "unsupported_grant_type", $"AADSTS70003: The sandbox supports grant_type client_credentials and password, not '{grant}'.").ConfigureAwait(false);
            return;
        }

        var audience = IdentityDirectory.AudienceOfScope(scope, host.DataverseUrl);
        if (audience == SandboxAudience.None)
        {
            await ErrorAsync(context, 400, "invalid_scope", $"AADSTS70011: The provided value for the input parameter 'scope' is not valid: '{scope}'.").ConfigureAwait(false);
            return;
        }

        var token = host.Identities.IssueToken(identity, audience);
        var seconds = (int)(token.ExpiresOn - DateTimeOffset.UtcNow).TotalSeconds;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = seconds,
            ["ext_expires_in"] = seconds,
            ["access_token"] = token.AccessToken,
        }, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ErrorAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object>
        {
            ["error"] = error,
            ["error_description"] = description,
            ["error_codes"] = new[] { int.Parse(description[6..description.IndexOf(':')], System.Globalization.CultureInfo.InvariantCulture) },
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        }).ConfigureAwait(false);
    }
}
