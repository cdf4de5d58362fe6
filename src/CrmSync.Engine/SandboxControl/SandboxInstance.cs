namespace CrmSync.SandboxControl;

/// <summary>A running sandbox child process and how to reach its three services.</summary>
public sealed record SandboxInstance
{
    public required int ProcessId { get; init; }

    public required string BaseUrl { get; init; }

    /// <summary>Dataverse environment URL (the Web API is at …/api/data/v9.2/).</summary>
    public required string DataverseUrl { get; init; }

    /// <summary>BC API v2.0 root, …/api/v2.0/.</summary>
    public required string BusinessCentralApiUrl { get; init; }

    public required string GraphUrl { get; init; }

    public required string TokenUrl { get; init; }

    public required Guid TenantId { get; init; }

    public required string EnvironmentName { get; init; }

    /// <summary>The sample company (null when started without sample data).</summary>
    public Guid? CompanyId { get; init; }

    /// <summary>Client id of the sample setup application (System Administrator in the sandbox org).</summary>
    public Guid? SetupAppClientId { get; init; }

    /// <summary>The sandbox's fixed, public sample secret for the setup application (not a real credential).</summary>
    public string? SetupAppClientSecret { get; init; }

    /// <summary>The sample tenant's administrator, a person (System Administrator in the sandbox org): the admin account Grant-IntegrationAdminRole sets up.</summary>
    public string? AdminUserName { get; init; }

    /// <summary>The sandbox administrator's fixed, public sample password (not a real credential): to approve a device code sign-in on the sandbox's /devicelogin page.</summary>
    public string? AdminPassword { get; init; }

    /// <summary>Client id of the application meant to become the integration user.</summary>
    public Guid? IntegrationAppClientId { get; init; }

    public string? IntegrationAppClientSecret { get; init; }

    /// <summary>Every integration application of the sample tenant (the first is <see cref="IntegrationAppClientId"/>): a pool to spread load over.</summary>
    public IReadOnlyList<SandboxApplication> IntegrationApps { get; init; } = Array.Empty<SandboxApplication>();

    public DateTimeOffset StartedAt { get; init; }

    /// <summary>
    /// An HTTPS sandbox's Entra-style authority (for Connect-CrmSync -AuthorityHost): the production sign-in — client
    /// secret, certificate, device code — runs against it through Azure.Identity and MSAL. Null for a plain-HTTP sandbox.
    /// </summary>
    public string? AuthorityHost { get; init; }

    /// <summary>The Business Central API's base URL in this sandbox, for Connect-CrmSync -BusinessCentralUrl (the API v2.0 root is &lt;it&gt;/v2.0/&lt;tenant&gt;/&lt;environment&gt;/api/v2.0/).</summary>
    public string BusinessCentralUrl => BaseUrl.TrimEnd('/') + "/bc";

    /// <summary>An HTTPS sandbox's TLS certificate (PEM), to trust as a development certificate: SSL_CERT_FILE, or the user's or machine's root store.</summary>
    public string? TlsCertificatePath { get; init; }

    /// <summary>An HTTPS sandbox's managed identity endpoint, as App Service and Azure Automation set IDENTITY_ENDPOINT.</summary>
    public string? ManagedIdentityEndpoint { get; init; }

    /// <summary>The value for IDENTITY_HEADER that the managed identity endpoint checks.</summary>
    public string? ManagedIdentityHeader { get; init; }

    /// <summary>An HTTPS sandbox: the setup application's certificate with its private key (PFX, no password), registered with the application.</summary>
    public string? SetupAppCertificatePath { get; init; }

    public override string ToString() => $"CrmSync sandbox (process {ProcessId}) at {BaseUrl}";

    /// <summary>Connection settings for this sandbox, signed in as the sample setup application (or another app of the sandbox).</summary>
    public Connections.ConnectionSettings ToConnectionSettings(string? name = null, string? statePath = null, Guid? clientId = null, string? clientSecret = null)
    {
        var id = clientId ?? SetupAppClientId ?? throw new CrmSyncException("SandboxHasNoSampleApp", CrmSyncErrorKind.InvalidArgument,
            "This sandbox was started without sample data; pass the client id and secret of an application to sign in as.", this);
        var secret = clientSecret ?? SetupAppClientSecret ?? throw new CrmSyncException("SandboxHasNoSampleApp", CrmSyncErrorKind.InvalidArgument, "The sandbox sign-in needs a client secret.", this);
        return new Connections.ConnectionSettings
        {
            Name = name ?? "Sandbox",
            StatePath = statePath,
            // Each sandbox is a new tenant, organization and company: by default its state is its own.
            DefaultStateName = $"sandbox-{TenantId:N}",
            IsSandbox = true,
            Endpoints = new Connections.ServiceEndpoints
            {
                DataverseUrl = DataverseUrl,
                BusinessCentralApiUrl = BusinessCentralApiUrl,
                Company = CompanyId?.ToString(),
                GraphUrl = GraphUrl,
            },
            Credential = new Auth.SandboxCredentialSpec(TokenUrl, new Auth.SecretText(secret)) { TenantId = TenantId.ToString(), ClientId = id.ToString() },
        };
    }

    /// <summary>
    /// The integration identity to synchronize as: the given sandbox application, else the sample integration
    /// application ("Business Central Integration"); null when the sandbox has none.
    /// </summary>
    public Auth.CredentialSpec? IntegrationCredential(Guid? clientId = null, string? clientSecret = null)
    {
        var id = clientId ?? IntegrationAppClientId;
        var secret = clientSecret ?? (clientId is null ? IntegrationAppClientSecret : null);
        return id is null || secret is null
            ? null
            : new Auth.SandboxCredentialSpec(TokenUrl, new Auth.SecretText(secret)) { TenantId = TenantId.ToString(), ClientId = id.ToString() };
    }

    /// <summary>An identity from New-CrmSyncIdentity, signing in at this sandbox's token endpoint (it takes client secrets only).</summary>
    public Auth.CredentialSpec IntegrationCredential(Auth.CrmSyncIdentity identity) =>
        identity.Credential is Auth.ClientSecretCredentialSpec { ClientId: { } clientId } secret
            ? new Auth.SandboxCredentialSpec(TokenUrl, secret.Secret) { TenantId = TenantId.ToString(), ClientId = clientId }
            : throw new CrmSyncException("IntegrationCredentialNotForSandbox", CrmSyncErrorKind.InvalidArgument,
                $"The sandbox signs applications in with client secrets: {identity} signs in with {identity.Method}. Use New-CrmSyncIdentity -ClientId -ClientSecret with a sandbox application.", identity);

    /// <summary>The first <paramref name="count"/> integration applications as a pool of identities to synchronize as.</summary>
    public IReadOnlyList<Auth.CredentialSpec> IntegrationCredentials(int count)
    {
        if (count < 1 || count > IntegrationApps.Count)
        {
            throw new CrmSyncException("SandboxIntegrationAppsTooFew", CrmSyncErrorKind.InvalidArgument,
                $"This sandbox has {IntegrationApps.Count} integration applications; ask for 1 to {IntegrationApps.Count}, or start it with more (Start-CrmSyncSandbox -IntegrationApps, or --integration-apps).", count);
        }

        return IntegrationApps.Take(count).Select(app => IntegrationCredential(app.ClientId, app.ClientSecret)!).ToList();
    }
}

/// <summary>An application registration of the sandbox tenant and its fixed, public sample secret (not a real credential).</summary>
public sealed record SandboxApplication(Guid ClientId, string ClientSecret, string? CertificatePath = null)
{
    public override string ToString() => $"application {ClientId}";
}
