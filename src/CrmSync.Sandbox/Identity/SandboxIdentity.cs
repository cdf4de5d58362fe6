namespace CrmSync.Sandbox.Identity;

public enum IdentityKind
{
    User,
    Application,
}

/// <summary>The emulated services a token is good for (its audience).</summary>
[Flags]
public enum SandboxAudience
{
    None = 0,
    Dataverse = 1,
    BusinessCentral = 2,
    Graph = 4,
    All = Dataverse | BusinessCentral | Graph,
}

/// <summary>A person or application of the sandbox tenant. Every write the sandbox records names one.</summary>
public sealed record SandboxIdentity
{
    /// <summary>Entra object id (Dataverse azureactivedirectoryobjectid).</summary>
    public required Guid ObjectId { get; init; }

    public required string DisplayName { get; init; }

    public IdentityKind Kind { get; init; }

    /// <summary>Users: sign-in name.</summary>
    public string? UserPrincipalName { get; init; }

    /// <summary>Users: password for the password grant.</summary>
    public string? Password { get; init; }

    /// <summary>Applications: client id (Dataverse applicationid).</summary>
    public Guid? ClientId { get; init; }

    /// <summary>Applications: client secret.</summary>
    public string? ClientSecret { get; init; }

    /// <summary>Applications: the certificate registered with the app (its public key), for client assertions.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

    /// <summary>Applications of a sandbox serving HTTPS: the PFX file holding the certificate's private key (for the admin rehearsing a certificate sign-in).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Registered in Business Central (users, or "Microsoft Entra Applications").</summary>
    public bool BusinessCentralAccess { get; init; } = true;

    public override string ToString() => $"{DisplayName} ({ObjectId})";
}
