using System.Text.RegularExpressions;

namespace CrmSync.Auth;

/// <summary>
/// A token could not be had. <see cref="Transient"/> failures (the authority busy or unreachable for a moment) are
/// retried by the request's own retry policy — the credential does not retry inside it — while the others say what is
/// wrong and how to fix it, by Microsoft Entra's AADSTS code: a wrong secret, an unknown application or tenant, a
/// certificate that is not registered.
/// </summary>
public sealed partial class TokenUnavailableException : CrmSyncException
{
    private TokenUnavailableException(string errorId, string message, string identity, bool transient, Exception inner)
        : base(errorId, transient ? CrmSyncErrorKind.ResourceUnavailable : CrmSyncErrorKind.PermissionDenied, message, identity, inner)
    {
        Transient = transient;
    }

    public bool Transient { get; }

    internal static TokenUnavailableException From(Exception failure, string identity, string scope, CredentialSpec? spec)
    {
        var client = spec?.ClientId ?? "(no client id)";
        var tenant = spec?.TenantId ?? "(no tenant)";
        var authority = spec?.AuthorityHost?.ToString().TrimEnd('/') ?? "https://login.microsoftonline.com";
        var text = string.Join(" ", Chain(failure).Select(e => e.Message));
        var code = AadstsPattern().Match(text) is { Success: true } match ? match.Groups[1].Value : null;
        var start = $"Signing in as {identity} for {scope} failed";
        (string Id, string Fix)? known = code switch
        {
            "7000215" => ("InvalidClientSecret", $"the secret of application {client} is not valid. Create a new one (the app registration's Certificates & secrets) and pass its value — not its secret ID — to -ClientSecret."),
            "700016" => ("ApplicationNotFound", $"application {client} is not registered in tenant {tenant}. Check -ClientId and -TenantId, and that the application was consented to in that tenant."),
            "90002" => ("TenantNotFound", $"tenant '{tenant}' does not exist at {authority}. Check -TenantId (the tenant's id or one of its verified domains) and the cloud (-AuthorityHost)."),
            "700027" or "50012" or "50013" or "700024" => ("InvalidCertificate", $"the certificate does not prove application {client}: it is not registered with the app registration, or the signature does not match. Upload the certificate's public key (.cer) to the app registration's Certificates & secrets, or give the certificate that is registered."),
            "500011" => ("ResourceNotFound", $"no service answers to {ResourceOf(scope)} in tenant {tenant}. Check the URL (for Dataverse: -DataverseUrl, the environment URL shown in the Power Platform admin center)."),
            "7000218" => ("ClientCredentialMissing", $"application {client} sent neither a secret nor a certificate. Give -ClientSecret or -CertificatePath."),
            _ => null,
        };
        if (known is { } permanent)
        {
            return new TokenUnavailableException(permanent.Id, $"{start}: {permanent.Fix} ({Summary(text)})", identity, false, failure);
        }

        if (Http.ServiceErrors.LastingTransportFailure(failure, $"the sign-in host {authority}") is { } lasting)
        {
            return new TokenUnavailableException(lasting.ErrorId, $"{start}: {lasting.Cause}", identity, false, failure);
        }

        var transient = Chain(failure).Any(e => e is Azure.RequestFailedException { Status: 429 or >= 500 } || e is HttpRequestException || e is TimeoutException)
                        && code is null;
        return new TokenUnavailableException(transient ? "SignInUnavailable" : "AuthenticationFailed",
            $"{start}: {Summary(text)}{(transient ? " The sign-in service did not answer; the request is retried." : string.Empty)}", identity, transient, failure);
    }

    private static string ResourceOf(string scope) => scope.EndsWith("/.default", StringComparison.Ordinal) ? scope[..^"/.default".Length] : scope;

    private static IEnumerable<Exception> Chain(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    // The authority's own words, once (Azure.Identity repeats them through its exception chain), without trace ids.
    private static string Summary(string text)
    {
        var first = text.Split(" Trace ID:", 2)[0].Trim();
        return first.Length > 600 ? first[..600] + "…" : first;
    }

    [GeneratedRegex(@"AADSTS(\d+)")]
    private static partial Regex AadstsPattern();
}
