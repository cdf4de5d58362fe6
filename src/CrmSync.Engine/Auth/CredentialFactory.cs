using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Identity;

namespace CrmSync.Auth;

/// <summary>Builds the Azure.Identity credential for a <see cref="CredentialSpec"/> (Azure types stay inside the engine).</summary>
internal static class CredentialFactory
{
    // The well-known public client id of Azure PowerShell/CLI-style first-party tools is not ours to use;
    // device code and interactive flows need the admin's own public client registration.
    public static TokenCredential Create(CredentialSpec spec, HttpClient sandboxHttp, Http.RetrySettings retry) => spec switch
    {
        SandboxCredentialSpec sandbox => new SandboxCredential(sandbox.TokenUrl, Require(spec.ClientId, "ClientId"), sandbox.Secret, sandboxHttp),
        ClientSecretCredentialSpec secret => new ClientSecretCredential(Require(spec.TenantId, "TenantId"), Require(spec.ClientId, "ClientId"), secret.Secret.Reveal(), Options(new ClientSecretCredentialOptions(), spec, retry)),
        CertificateCredentialSpec certificate => new ClientCertificateCredential(Require(spec.TenantId, "TenantId"), Require(spec.ClientId, "ClientId"), LoadCertificate(certificate), Options(new ClientCertificateCredentialOptions(), spec, retry)),
        ManagedIdentityCredentialSpec => new ManagedIdentityCredential(Options(new ManagedIdentityCredentialOptions(spec.ClientId is null
            ? ManagedIdentityId.SystemAssigned
            : ManagedIdentityId.FromUserAssignedClientId(spec.ClientId)), spec, retry)),
        DeviceCodeCredentialSpec device => new DeviceCodeCredential(Options(new DeviceCodeCredentialOptions
        {
            TenantId = Require(spec.TenantId, "TenantId"),
            ClientId = Require(spec.ClientId, "ClientId"),
            DeviceCodeCallback = (code, _) =>
            {
                (device.Prompt ?? CallLog.Current.Warning)(code.Message);
                return Task.CompletedTask;
            },
        }, spec, retry)),
        InteractiveCredentialSpec => new InteractiveBrowserCredential(Options(new InteractiveBrowserCredentialOptions
        {
            TenantId = Require(spec.TenantId, "TenantId"),
            ClientId = Require(spec.ClientId, "ClientId"),
        }, spec, retry)),
        _ => throw new CrmSyncException("CredentialNotSupported", CrmSyncErrorKind.InvalidArgument, $"Sign-in method {spec.Method} is not supported."),
    };

    // Token requests follow the connection's retry settings; a custom authority (sovereign cloud) is used
    // as given, with no instance discovery against the public cloud.
    private static T Options<T>(T options, CredentialSpec spec, Http.RetrySettings retry)
        where T : TokenCredentialOptions
    {
        // One retry budget per request: the request's policy (ServiceHandler) retries a token that could not be had for a
        // passing reason, so the credential does not retry inside it (retries times retries kept a typo waiting for an hour).
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = retry.AttemptTimeout < TimeSpan.FromSeconds(30) ? retry.AttemptTimeout : TimeSpan.FromSeconds(30);
        if (spec.AuthorityHost is { } authority)
        {
            options.AuthorityHost = authority;
            switch (options)
            {
                case ClientSecretCredentialOptions o: o.DisableInstanceDiscovery = true; break;
                case ClientCertificateCredentialOptions o: o.DisableInstanceDiscovery = true; break;
                case DeviceCodeCredentialOptions o: o.DisableInstanceDiscovery = true; break;
                case InteractiveBrowserCredentialOptions o: o.DisableInstanceDiscovery = true; break;
            }
        }

        return options;
    }

    private static X509Certificate2 LoadCertificate(CertificateCredentialSpec spec)
    {
        if (spec.CertificatePath is { } path)
        {
            if (!File.Exists(path))
            {
                throw new CrmSyncException("CertificateNotFound", CrmSyncErrorKind.ObjectNotFound, $"The certificate file '{path}' does not exist.", path);
            }

            try
            {
                return new X509Certificate2(path, spec.CertificatePassword?.Reveal());
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new CrmSyncException("CertificateUnreadable", CrmSyncErrorKind.InvalidData, $"The certificate file '{path}' cannot be read: {ex.Message} Check the file and its password.", path, ex);
            }
        }

        var thumbprint = Require(spec.Thumbprint, "CertificateThumbprint");
        foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
        {
            using var store = new X509Store(StoreName.My, location);
            store.Open(OpenFlags.ReadOnly);
            var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
            if (found.Count > 0)
            {
                return found[0];
            }
        }

        throw new CrmSyncException("CertificateNotFound", CrmSyncErrorKind.ObjectNotFound,
            $"No certificate with thumbprint {thumbprint} is in the CurrentUser or LocalMachine 'My' store. Use -CertificatePath on Linux and macOS.", thumbprint);
    }

    private static string Require(string? value, string name) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new CrmSyncException("CredentialIncomplete", CrmSyncErrorKind.InvalidArgument, $"Signing in with this method needs -{name}.", name)
            : value;
}
