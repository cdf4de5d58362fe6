namespace CrmSync.Auth;

/// <summary>How CrmSync signs in (one Connect-CrmSync parameter set each). No secret is ever printed.</summary>
public abstract record CredentialSpec
{
    /// <summary>Entra tenant id or domain.</summary>
    public string? TenantId { get; init; }

    /// <summary>Application (client) id.</summary>
    public string? ClientId { get; init; }

    /// <summary>Sign-in authority for sovereign clouds (e.g. https://login.microsoftonline.us); default: the public cloud.</summary>
    public Uri? AuthorityHost { get; init; }

    /// <summary>Shown in Get-CrmSyncConnection, e.g. "ClientSecret".</summary>
    public abstract string Method { get; }

    /// <summary>Who requests are made as, for messages: never a secret.</summary>
    public virtual string IdentityDisplay => ClientId is null ? Method : $"application {ClientId}";

    /// <summary>Whether a person signs in (device code, interactive) rather than an application or managed identity.</summary>
    public virtual bool SignsInAsUser => false;
}

public sealed record ClientSecretCredentialSpec(SecretText Secret) : CredentialSpec
{
    public override string Method => "ClientSecret";
}

/// <summary>A certificate from a file (PFX/PEM) or, on Windows, the user's or machine's store by thumbprint.</summary>
public sealed record CertificateCredentialSpec : CredentialSpec
{
    public string? CertificatePath { get; init; }

    public SecretText? CertificatePassword { get; init; }

    public string? Thumbprint { get; init; }

    public override string Method => "Certificate";
}

public sealed record ManagedIdentityCredentialSpec : CredentialSpec
{
    public override string Method => "ManagedIdentity";

    public override string IdentityDisplay => ClientId is null ? "system-assigned managed identity" : $"user-assigned managed identity {ClientId}";
}

/// <summary>Device code flow: <see cref="Prompt"/> shows the message with the code to enter (default: a warning on the engine log).</summary>
public sealed record DeviceCodeCredentialSpec(Action<string>? Prompt = null) : CredentialSpec
{
    public override string Method => "DeviceCode";

    public override string IdentityDisplay => "the signed-in user";

    public override bool SignsInAsUser => true;
}

public sealed record InteractiveCredentialSpec : CredentialSpec
{
    public override string Method => "Interactive";

    public override string IdentityDisplay => "the signed-in user";

    public override bool SignsInAsUser => true;
}

/// <summary>The sandbox's own token endpoint (client credentials over http on 127.0.0.1).</summary>
public sealed record SandboxCredentialSpec(string TokenUrl, SecretText Secret) : CredentialSpec
{
    public override string Method => "Sandbox";
}
