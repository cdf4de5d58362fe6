using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CrmSync.Sandbox.Hosting;

/// <summary>
/// The sandbox tenant's sign-in, shaped like Microsoft Entra ID's v2.0 endpoints so that MSAL and Azure.Identity run
/// unchanged against it: /{tenant}/oauth2/v2.0/token (client credentials with a secret or a certificate's client
/// assertion, the device code grant, refresh tokens, and the password grant the tests use), /{tenant}/oauth2/v2.0/devicecode
/// with /devicelogin where the person approves the code, the OpenID configuration, and the managed identity endpoint
/// as App Service and Azure Automation expose it (IDENTITY_ENDPOINT, X-IDENTITY-HEADER). Errors carry Entra's AADSTS
/// codes. /token/{tenant}/oauth2/v2.0/token is the plain-HTTP sandbox credential's address for the same endpoint.
/// </summary>
internal static class TokenEndpoint
{
    private const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>Serves the authority's paths on an HTTPS sandbox; false when <paramref name="path"/> is not one of them.</summary>
    public static async Task<bool> TryServeAuthorityAsync(SandboxHost host, HttpContext context, string path)
    {
        var segments = path.Trim('/').Split('/');
        switch (segments)
        {
            case ["msi", "token"]:
                await ManagedIdentityAsync(host, context).ConfigureAwait(false);
                return true;
            case ["devicelogin"]:
                await DeviceLoginAsync(host, context).ConfigureAwait(false);
                return true;
            case [var tenant, "oauth2", "v2.0", "token"]:
                await HandleAsync(host, context, tenant).ConfigureAwait(false);
                return true;
            case [var tenant, "oauth2", "v2.0", "devicecode"]:
                await DeviceCodeAsync(host, context, tenant).ConfigureAwait(false);
                return true;
            case [var tenant, "v2.0", ".well-known", "openid-configuration"]:
                await OpenIdConfigurationAsync(host, context, tenant).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    public static async Task HandleAsync(SandboxHost host, HttpContext context, string tenant)
    {
        if (await TenantFormAsync(host, context, tenant).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        var grant = form["grant_type"].ToString();
        var scope = form["scope"].ToString();
        SandboxIdentity? identity;
        string? clientId = null;
        switch (grant)
        {
            case "client_credentials":
                identity = host.Identities.FindByClientId(form["client_id"].ToString());
                if (identity is null)
                {
                    await UnknownApplicationAsync(host, context, form["client_id"].ToString()).ConfigureAwait(false);
                    return;
                }

                if (ClientProblem(host, context, identity, form) is { } problem)
                {
                    await ErrorAsync(context, 401, "invalid_client", problem).ConfigureAwait(false);
                    return;
                }

                host.Counters.CountSignIn(form.ContainsKey("client_assertion") ? "client_assertion" : "client_secret");
                break;
            case "password":
                identity = host.Identities.FindByUserPrincipalName(form["username"].ToString());
                if (identity is null || !string.Equals(identity.Password, form["password"].ToString(), StringComparison.Ordinal))
                {
                    await ErrorAsync(context, 400, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password.").ConfigureAwait(false);
                    return;
                }

                host.Counters.CountSignIn("password");
                break;
            // RFC 8628's grant type; Microsoft's v2.0 endpoint also takes the short form MSAL sends.
            case DeviceCodeGrant or "device_code":
                switch (host.DeviceCodes.Redeem(form["device_code"].ToString()))
                {
                    case (DeviceCodeState.Pending, _, _):
                        await ErrorAsync(context, 400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.").ConfigureAwait(false);
                        return;
                    case (DeviceCodeState.Approved, { } approved, var client):
                        identity = approved;
                        clientId = client;
                        host.Counters.CountSignIn("device_code");
                        break;
                    default:
                        await ErrorAsync(context, 400, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.").ConfigureAwait(false);
                        return;
                }

                break;
            case "refresh_token":
                if (host.DeviceCodes.Refresh(form["refresh_token"].ToString()) is not ({ } refreshed, var refreshClient))
                {
                    await ErrorAsync(context, 400, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid: the refresh token is not valid.").ConfigureAwait(false);
                    return;
                }

                identity = refreshed;
                clientId = refreshClient;
                host.Counters.CountSignIn("refresh_token");
                break;
            default:
                await ErrorAsync(context, 400, "unsupported_grant_type", $"AADSTS70003: The sandbox supports grant_type client_credentials, {DeviceCodeGrant}, refresh_token and password, not '{grant}'.").ConfigureAwait(false);
                return;
        }

        var audience = IdentityDirectory.AudienceOfScope(scope, host.DataverseUrl);
        if (audience == SandboxAudience.None)
        {
            var resource = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => s.EndsWith("/.default", StringComparison.Ordinal))?[..^"/.default".Length];
            await (resource is null
                ? ErrorAsync(context, 400, "invalid_scope", $"AADSTS70011: The provided value for the input parameter 'scope' is not valid: '{scope}'.")
                : ErrorAsync(context, 400, "invalid_resource", $"AADSTS500011: The resource principal named {resource} was not found in the tenant named {host.TenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")).ConfigureAwait(false);
            return;
        }

        var token = host.Identities.IssueToken(identity, audience);
        var seconds = (int)(token.ExpiresOn - DateTimeOffset.UtcNow).TotalSeconds;
        var answer = new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["scope"] = string.Join(' ', scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => s is not "openid" and not "profile" and not "offline_access")),
            ["expires_in"] = seconds,
            ["ext_expires_in"] = seconds,
            ["access_token"] = token.AccessToken,
        };
        if (clientId is not null)
        {
            // A person signed in (device code): what MSAL keeps to sign in silently for the other services.
            answer["refresh_token"] = host.DeviceCodes.IssueRefreshToken(identity, clientId);
            answer["id_token"] = IdToken(host, identity, clientId);
            answer["client_info"] = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { uid = identity.ObjectId, utid = host.TenantId }));
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, answer, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    // A POSTed form to one of the tenant's endpoints; null (answered with Entra's error) when it is not one, or the tenant is unknown.
    private static async Task<IFormCollection?> TenantFormAsync(SandboxHost host, HttpContext context, string tenant)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.HasFormContentType)
        {
            await ErrorAsync(context, 400, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded (POST).").ConfigureAwait(false);
            return null;
        }

        if (!KnowsTenant(host, tenant))
        {
            await UnknownTenantAsync(context, tenant).ConfigureAwait(false);
            return null;
        }

        return await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
    }

    // The tenant by its id or one of its verified domains, as Entra accepts either in the authority.
    private static bool KnowsTenant(SandboxHost host, string tenant) =>
        Guid.TryParse(tenant, out var id) ? id == host.TenantId : host.Graph.Domains.Any(d => d.IsVerified && string.Equals(d.Name, tenant, StringComparison.OrdinalIgnoreCase));

    private static Task UnknownTenantAsync(HttpContext context, string tenant) =>
        ErrorAsync(context, 400, "invalid_request", $"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");

    private static Task UnknownApplicationAsync(SandboxHost host, HttpContext context, string clientId) =>
        ErrorAsync(context, 400, "unauthorized_client", $"AADSTS700016: Application with identifier '{clientId}' was not found in the directory '{host.TenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.");

    // What is wrong with a confidential client's proof (a secret, or a certificate's signed assertion); null when it is good.
    private static string? ClientProblem(SandboxHost host, HttpContext context, SandboxIdentity app, IFormCollection form)
    {
        if (form.TryGetValue("client_assertion", out var assertion))
        {
            if (form["client_assertion_type"] != JwtBearer)
            {
                return $"AADSTS50027: The client_assertion_type must be '{JwtBearer}'.";
            }

            return AssertionProblem(host, context, app, assertion.ToString());
        }

        if (!form.TryGetValue("client_secret", out var secret))
        {
            return "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
        }

        return string.Equals(app.ClientSecret, secret.ToString(), StringComparison.Ordinal)
            ? null
            : $"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app.ClientId}'.";
    }

    // A client assertion (RFC 7523) signed with the application's registered certificate: RS256 or PS256, named by its
    // x5t or x5t#S256 thumbprint, for this client, addressed to this authority and not expired.
    private static string? AssertionProblem(SandboxHost host, HttpContext context, SandboxIdentity app, string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return "AADSTS50027: JWT token is invalid or malformed.";
        }

        JsonElement header, claims;
        try
        {
            header = JsonDocument.Parse(FromBase64Url(parts[0])).RootElement;
            claims = JsonDocument.Parse(FromBase64Url(parts[1])).RootElement;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return "AADSTS50027: JWT token is invalid or malformed.";
        }

        var registered = app.Certificate;
        string? Text(JsonElement element, string name) => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        var sha1 = Text(header, "x5t");
        var sha256 = Text(header, "x5t#S256");
        var matches = registered is not null && (
            (sha1 is not null && sha1 == Base64Url(registered.GetCertHash())) ||
            (sha256 is not null && sha256 == Base64Url(registered.GetCertHash(HashAlgorithmName.SHA256))));
        if (!matches)
        {
            return $"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application {app.ClientId}. [Reason - The key was not found., Thumbprint of key used by client: '{sha1 ?? sha256}'.]";
        }

        using var key = registered!.GetRSAPublicKey()!;
        var padding = Text(header, "alg") switch
        {
            "RS256" => RSASignaturePadding.Pkcs1,
            "PS256" => RSASignaturePadding.Pss,
            var other => null,
        };
        byte[] signature;
        try
        {
            signature = FromBase64Url(parts[2]);
        }
        catch (FormatException)
        {
            return "AADSTS50012: Client assertion failed signature validation.";
        }

        if (padding is null || !key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256, padding))
        {
            return "AADSTS50012: Client assertion failed signature validation.";
        }

        if (Text(claims, "sub") != app.ClientId.ToString() || Text(claims, "iss") != app.ClientId.ToString())
        {
            return $"AADSTS50048: Subject and issuer of the client assertion must be the client id {app.ClientId}.";
        }

        if (Text(claims, "aud") is not { } audience || !audience.StartsWith(host.BaseUrl, StringComparison.OrdinalIgnoreCase))
        {
            return $"AADSTS50013: Assertion failed signature validation: its audience must be this authority ({host.BaseUrl}…).";
        }

        // exp is a NumericDate (RFC 7519); MSAL writes it as a string of digits.
        var expires = claims.TryGetProperty("exp", out var exp) ? exp.ValueKind == JsonValueKind.Number ? exp.GetRawText() : exp.GetString() : null;
        return long.TryParse(expires, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && DateTimeOffset.FromUnixTimeSeconds(seconds) > DateTimeOffset.UtcNow
            ? null
            : "AADSTS700024: Client assertion is not within its valid time range.";
    }

    // ---- Device code (Microsoft identity platform and the OAuth 2.0 device authorization grant) ---------------------

    private static async Task DeviceCodeAsync(SandboxHost host, HttpContext context, string tenant)
    {
        if (await TenantFormAsync(host, context, tenant).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        var clientId = form["client_id"].ToString();
        if (host.Identities.FindByClientId(clientId) is null)
        {
            await UnknownApplicationAsync(host, context, clientId).ConfigureAwait(false);
            return;
        }

        var (deviceCode, userCode) = host.DeviceCodes.Issue(clientId);
        var verification = host.BaseUrl + "devicelogin";
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object>
        {
            ["device_code"] = deviceCode,
            ["user_code"] = userCode,
            ["verification_uri"] = verification,
            ["expires_in"] = (int)DeviceCodes.Lifetime.TotalSeconds,
            ["interval"] = 1,
            ["message"] = $"To sign in, use a web browser to open the page {verification} and enter the code {userCode} to authenticate.",
        }, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    // The page the device code message names: the person enters the code and signs in (the sandbox's users have passwords).
    private static async Task DeviceLoginAsync(SandboxHost host, HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        if (HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            var person = host.Identities.FindByUserPrincipalName(form["username"].ToString());
            if (person is null || person.Kind != IdentityKind.User || !string.Equals(person.Password, form["password"].ToString(), StringComparison.Ordinal))
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync(Page("That user name or password is not right. AADSTS50126")).ConfigureAwait(false);
                return;
            }

            if (!host.DeviceCodes.Approve(form["user_code"].ToString().Trim(), person))
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync(Page("That code is not valid or has expired. Go back to the application and start again. AADSTS70019")).ConfigureAwait(false);
                return;
            }

            await context.Response.WriteAsync(Page($"{WebUtility.HtmlEncode(person.DisplayName)}, you have signed in. You may close this window.")).ConfigureAwait(false);
            return;
        }

        await context.Response.WriteAsync(Page("""
            <form method="post">
              <p><label>Code <input name="user_code" autocomplete="off"></label></p>
              <p><label>User name <input name="username"></label></p>
              <p><label>Password <input name="password" type="password"></label></p>
              <p><button type="submit">Sign in</button></p>
            </form>
            """)).ConfigureAwait(false);
    }

    private static string Page(string body) =>
        $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>CrmSync sandbox sign-in</title></head><body><h1>CrmSync sandbox sign-in</h1>{body}</body></html>";

    private static Task OpenIdConfigurationAsync(SandboxHost host, HttpContext context, string tenant)
    {
        if (!KnowsTenant(host, tenant))
        {
            return UnknownTenantAsync(context, tenant);
        }

        var root = $"{host.BaseUrl}{tenant}";
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object>
        {
            ["issuer"] = $"{host.BaseUrl}{host.TenantId}/v2.0",
            ["token_endpoint"] = $"{root}/oauth2/v2.0/token",
            ["device_authorization_endpoint"] = $"{root}/oauth2/v2.0/devicecode",
            ["authorization_endpoint"] = $"{root}/oauth2/v2.0/authorize",
            ["grant_types_supported"] = new[] { "client_credentials", DeviceCodeGrant, "refresh_token", "password" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post", "private_key_jwt" },
            ["tenant_region_scope"] = "NA",
        }, cancellationToken: context.RequestAborted);
    }

    // ---- Managed identity, as App Service and Azure Automation expose it (api-version 2019-08-01) -------------------

    private static async Task ManagedIdentityAsync(SandboxHost host, HttpContext context)
    {
        var query = context.Request.Query;
        context.Response.ContentType = "application/json; charset=utf-8";
        async Task Refuse(int status, string message)
        {
            context.Response.StatusCode = status;
            await JsonSerializer.SerializeAsync(context.Response.Body, new { statusCode = status, message }).ConfigureAwait(false);
        }

        if (!string.Equals(context.Request.Headers["X-IDENTITY-HEADER"].ToString(), host.ManagedIdentityHeader, StringComparison.Ordinal))
        {
            await Refuse(401, "The X-IDENTITY-HEADER header is missing or not this environment's IDENTITY_HEADER.").ConfigureAwait(false);
            return;
        }

        if (query.ContainsKey("principal_id") || query.ContainsKey("mi_res_id") || query.ContainsKey("object_id"))
        {
            await Refuse(400, "The sandbox picks a user-assigned managed identity by client_id only; principal_id, object_id and mi_res_id are not emulated.").ConfigureAwait(false);
            return;
        }

        // Every application of the sandbox tenant can stand in for a user-assigned identity (client_id picks it); the
        // system-assigned identity is the first integration application, as a runbook synchronizes as its account's.
        var identity = query.TryGetValue("client_id", out var clientId)
            ? host.Identities.FindByClientId(clientId.ToString())
            : host.Sample?.IntegrationApp;
        if (identity is null)
        {
            await Refuse(400, $"No managed identity with client id '{clientId}' is assigned to this resource.").ConfigureAwait(false);
            return;
        }

        var resource = query["resource"].ToString();
        var audience = IdentityDirectory.AudienceOfScope(resource, host.DataverseUrl);
        if (audience == SandboxAudience.None)
        {
            await Refuse(400, $"The resource '{resource}' is not one this tenant issues tokens for.").ConfigureAwait(false);
            return;
        }

        host.Counters.CountSignIn("managed_identity");
        var token = host.Identities.IssueToken(identity, audience);
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object>
        {
            ["access_token"] = token.AccessToken,
            ["expires_on"] = token.ExpiresOn.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = identity.ClientId?.ToString() ?? string.Empty,
        }, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    // An id token for the person who signed in: MSAL reads its claims to know the account (not its signature).
    private static string IdToken(SandboxHost host, SandboxIdentity person, string clientId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "none", typ = "JWT" }));
        var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = clientId, ["iss"] = $"{host.BaseUrl}{host.TenantId}/v2.0", ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3600,
            ["name"] = person.DisplayName, ["oid"] = person.ObjectId, ["preferred_username"] = person.UserPrincipalName ?? string.Empty,
            ["sub"] = person.ObjectId, ["tid"] = host.TenantId, ["ver"] = "2.0",
        }));
        return $"{header}.{claims}.";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
    }

    /// <summary>An unexpected failure of the sandbox's sign-in, answered as Entra answers a server error.</summary>
    public static Task ServerErrorAsync(HttpContext context, Exception failure) =>
        ErrorAsync(context, 500, "temporarily_unavailable", $"AADSTS90033: The sandbox's sign-in failed unexpectedly: {failure.GetType().Name}: {failure.Message}");

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
            ["trace_id"] = Guid.NewGuid(),
            ["correlation_id"] = Guid.NewGuid(),
        }).ConfigureAwait(false);
    }
}
