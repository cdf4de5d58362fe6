namespace CrmSync.Auth;

/// <summary>
/// One identity to synchronize as (New-CrmSyncIdentity), for a pool given to Connect-CrmSync -IntegrationIdentity:
/// an application's client id with its secret or certificate, or a managed identity. Shows who it is, never a secret.
/// </summary>
public sealed class CrmSyncIdentity
{
    internal CrmSyncIdentity(CredentialSpec credential) => Credential = credential;

    /// <summary>ClientSecret, Certificate or ManagedIdentity.</summary>
    public string Method => Credential.Method;

    /// <summary>Application (client) id; null for a system-assigned managed identity.</summary>
    public string? ClientId => Credential.ClientId;

    /// <summary>Who requests are made as.</summary>
    public string Identity => Credential.IdentityDisplay;

    internal CredentialSpec Credential { get; }

    /// <summary>The credential for a tenant (Connect-CrmSync's -TenantId), or for the sandbox's token endpoint.</summary>
    internal CredentialSpec For(string? tenantId) => Credential with { TenantId = tenantId };

    public override string ToString() => Identity;
}
