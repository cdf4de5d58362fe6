using System.Management.Automation;
using System.Security;
using CrmSync.Auth;
using CrmSync.Connections;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.SandboxControl;
using CrmSync.State;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>Opens a CrmSync connection (state file, and the three services) and makes it this runspace's current one.</summary>
[Cmdlet(VerbsCommunications.Connect, "CrmSync", DefaultParameterSetName = LocalSet)]
[OutputType(typeof(CrmSyncConnection))]
public sealed class ConnectCrmSyncCommand : CrmSyncCmdlet
{
    private const string LocalSet = "Local";
    private const string SandboxSet = "Sandbox";
    private const string SandboxUrlSet = "SandboxUrl";
    private const string ClientSecretSet = "ClientSecret";
    private const string CertificateFileSet = "CertificateFile";
    private const string CertificateThumbprintSet = "CertificateThumbprint";
    private const string ManagedIdentitySet = "ManagedIdentity";
    private const string DeviceCodeSet = "DeviceCode";
    private const string InteractiveSet = "Interactive";

    /// <summary>Connection name; also names the default state file.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>SQLite state file; default: &lt;state directory&gt;/&lt;name&gt;.db.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StatePath { get; set; }

    /// <summary>
    /// A PostgreSQL database for the state instead of the SQLite file: 'Host=…;Database=…;Username=…;Password=…'
    /// (Npgsql keywords). For several runbooks on different machines; never shown or logged.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateConnectionString { get; set; }

    /// <summary>A sandbox from Start-CrmSyncSandbox.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SandboxSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SandboxInstance? Sandbox { get; set; }

    /// <summary>The base URL of a running sandbox, e.g. http://127.0.0.1:5000/.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SandboxUrlSet)]
    [ValidateNotNullOrEmpty]
    public string? SandboxUrl { get; set; }

    /// <summary>Entra tenant id or domain.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
    [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
    [Parameter(Mandatory = true, ParameterSetName = InteractiveSet)]
    [ValidateNotNullOrEmpty]
    public string? TenantId { get; set; }

    /// <summary>Business Central environment name (e.g. Production).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
    [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
    [Parameter(Mandatory = true, ParameterSetName = InteractiveSet)]
    [ValidateNotNullOrEmpty]
    public string? Environment { get; set; }

    /// <summary>Dataverse environment URL, e.g. https://contoso.crm4.dynamics.com.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
    [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
    [Parameter(Mandatory = true, ParameterSetName = InteractiveSet)]
    [ValidateNotNullOrEmpty]
    public string? DataverseUrl { get; set; }

    /// <summary>Business Central company name or id; may be omitted when there is one company.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Company { get; set; }

    /// <summary>Application (client) id of the app registration (or of a user-assigned managed identity).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [Parameter(ParameterSetName = ManagedIdentitySet)]
    [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
    [Parameter(Mandatory = true, ParameterSetName = InteractiveSet)]
    [Parameter(ParameterSetName = SandboxSet)]
    [Parameter(ParameterSetName = SandboxUrlSet)]
    [ValidateNotNullOrEmpty]
    public string? ClientId { get; set; }

    /// <summary>Client secret of the app registration (or of a sandbox application).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
    [Parameter(ParameterSetName = SandboxSet)]
    [Parameter(ParameterSetName = SandboxUrlSet)]
    [ValidateNotNull]
    public SecureString? ClientSecret { get; set; }

    /// <summary>PFX file with the app registration's certificate and private key.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file.</summary>
    [Parameter(ParameterSetName = CertificateFileSet)]
    [ValidateNotNull]
    public SecureString? CertificatePassword { get; set; }

    /// <summary>Thumbprint of a certificate in the CurrentUser or LocalMachine "My" store (Windows).</summary>
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [ValidateNotNullOrEmpty]
    public string? CertificateThumbprint { get; set; }

    /// <summary>Sign in as the managed identity of the Azure resource running this session (e.g. an Automation runbook).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
    public SwitchParameter ManagedIdentity { get; set; }

    /// <summary>Sign in with a device code (shown as a warning).</summary>
    [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
    public SwitchParameter DeviceCode { get; set; }

    /// <summary>Sign in with the system browser.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InteractiveSet)]
    public SwitchParameter Interactive { get; set; }

    /// <summary>Microsoft Graph base URL (sovereign clouds).</summary>
    [Parameter(ParameterSetName = ClientSecretSet)]
    [Parameter(ParameterSetName = CertificateFileSet)]
    [Parameter(ParameterSetName = CertificateThumbprintSet)]
    [Parameter(ParameterSetName = ManagedIdentitySet)]
    [Parameter(ParameterSetName = DeviceCodeSet)]
    [Parameter(ParameterSetName = InteractiveSet)]
    [ValidateNotNullOrEmpty]
    public string? GraphUrl { get; set; }

    /// <summary>
    /// The Microsoft Entra sign-in host for every identity of the connection: a sovereign cloud's
    /// (https://login.microsoftonline.us), or an HTTPS sandbox's to rehearse the production sign-in.
    /// </summary>
    [Parameter(ParameterSetName = ClientSecretSet)]
    [Parameter(ParameterSetName = CertificateFileSet)]
    [Parameter(ParameterSetName = CertificateThumbprintSet)]
    [Parameter(ParameterSetName = ManagedIdentitySet)]
    [Parameter(ParameterSetName = DeviceCodeSet)]
    [Parameter(ParameterSetName = InteractiveSet)]
    [ValidateNotNull]
    public Uri? AuthorityHost { get; set; }

    /// <summary>The Business Central API's base URL (default https://api.businesscentral.dynamics.com; an HTTPS sandbox's BusinessCentralUrl to rehearse).</summary>
    [Parameter(ParameterSetName = ClientSecretSet)]
    [Parameter(ParameterSetName = CertificateFileSet)]
    [Parameter(ParameterSetName = CertificateThumbprintSet)]
    [Parameter(ParameterSetName = ManagedIdentitySet)]
    [Parameter(ParameterSetName = DeviceCodeSet)]
    [Parameter(ParameterSetName = InteractiveSet)]
    [ValidateNotNull]
    public Uri? BusinessCentralUrl { get; set; }

    /// <summary>Application (client) id of the integration identity that synchronization writes as (the application user's app registration).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IntegrationClientId { get; set; }

    /// <summary>Client secret of the integration identity.</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? IntegrationClientSecret { get; set; }

    /// <summary>PFX file with the integration identity's certificate and private key.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IntegrationCertificatePath { get; set; }

    /// <summary>Password of the integration identity's PFX file.</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? IntegrationCertificatePassword { get; set; }

    /// <summary>Thumbprint of the integration identity's certificate in the "My" store (Windows).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IntegrationCertificateThumbprint { get; set; }

    /// <summary>Synchronize as the managed identity of the Azure resource running this session (-IntegrationClientId for a user-assigned one).</summary>
    [Parameter]
    public SwitchParameter IntegrationManagedIdentity { get; set; }

    /// <summary>
    /// Several integration identities (New-CrmSyncIdentity) to synchronize as, a pool: requests are spread over them round
    /// robin, and each identity's service-protection limits are its own. Each needs its application user (New-IntegrationUser).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public CrmSyncIdentity[]? IntegrationIdentity { get; set; }

    /// <summary>Sandbox only: synchronize as a pool of the sandbox's first n integration applications (it has 4 unless started with -IntegrationApps).</summary>
    [Parameter(ParameterSetName = SandboxSet)]
    [Parameter(ParameterSetName = SandboxUrlSet)]
    [ValidateRange(1, 16)]
    public int IntegrationIdentityCount { get; set; }

    /// <summary>Sandbox only: connect without the sandbox's integration application (synchronization then refuses to run).</summary>
    [Parameter(ParameterSetName = SandboxSet)]
    [Parameter(ParameterSetName = SandboxUrlSet)]
    public SwitchParameter NoIntegrationIdentity { get; set; }

    /// <summary>
    /// Return the connection, for -Connection. It is yours to close: a later Connect-CrmSync makes another connection
    /// the default but leaves this one open, until Disconnect-CrmSync -Connection.
    /// </summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// Re-point a state made for another environment (a copied sandbox or company) at this one: its couplings,
    /// watermarks and integration user are forgotten after confirmation; mappings and the job log stay.
    /// </summary>
    [Parameter]
    public SwitchParameter RepointState { get; set; }

    /// <summary>How long the connect checks of the services and identities may take in all (seconds).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>With -RepointState: do not ask for confirmation (runbooks).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        CrmSyncConnection connection;
        try
        {
            var settings = BuildSettings() with { StateConnectionString = StateConnectionString, RepointState = RepointState, ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeoutSeconds) };
            if (RepointState && !Force && !ShouldContinue(
                    "If the state was made for another environment, its couplings, watermarks, failures and recorded integration user and admin are forgotten, as Business Central removes the couplings of a copied company. The mappings and the job log stay.",
                    $"Re-point the state {settings.StateFile ?? "database"} at this environment?"))
            {
                throw new CrmSyncException("RepointDeclined", CrmSyncErrorKind.InvalidOperation, "The state was not re-pointed: nothing was changed. Connect with another -StatePath instead, or confirm -RepointState.");
            }

            // Reconnecting to the state this runspace already holds must not trip over our own lock.
            var targetPath = StateConnectionString is not null
                ? StateStore.DescribePostgres(StateConnectionString)
                : Path.GetFullPath(settings.StateFile!);
            if (DefaultConnection.Get() is { } current && string.Equals(targetPath, current.StatePath, StringComparison.Ordinal))
            {
                DefaultConnection.CloseCurrent();
            }

            connection = RunEngine((log, cancel) => CrmSyncConnection.ConnectAsync(settings, cancel));
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex, StatePath ?? Name);
            return;
        }

        DefaultConnection.Set(connection, handedOut: PassThru);
        WriteVerbose(connection.IsConnectedToServices
            ? $"Connected '{connection.Name}' as {connection.Identity}: Dataverse {connection.DataverseUrl}, Business Central company '{connection.CompanyName}', Graph tenant '{connection.TenantName}'. State: {connection.StateKind} {connection.StatePath}."
            : $"Connected '{connection.Name}' with state {connection.StateKind} {connection.StatePath} (no services).");
        if (PassThru)
        {
            WriteObject(connection);
        }
    }

    private ConnectionSettings BuildSettings()
    {
        var statePath = StatePath is null ? null : GetUnresolvedProviderPathFromPSPath(StatePath);
        switch (ParameterSetName)
        {
            case SandboxSet:
            case SandboxUrlSet:
                var instance = Sandbox ?? RunEngine((_, cancel) => SandboxProcess.DescribeAsync(SandboxUrl!, cancel));
                var sandboxSettings = instance.ToConnectionSettings(Name ?? "Sandbox", statePath, ClientId is null ? null : ParseClientId(ClientId, nameof(ClientId)), ClientSecret is null ? null : PlainText(ClientSecret));
                sandboxSettings = sandboxSettings with { IntegrationCredentials = SandboxIntegrationCredentials(instance) };
                return Company is null ? sandboxSettings : sandboxSettings with { Endpoints = sandboxSettings.Endpoints! with { Company = Company } };
            case LocalSet:
                if (IntegrationCredentialGiven || IntegrationClientId is not null || IntegrationIdentity is not null)
                {
                    throw new CrmSyncException("IntegrationIdentityNeedsServices", CrmSyncErrorKind.InvalidArgument,
                        "An integration identity is for synchronizing with the services: give it with the service endpoints and the setup credential (-TenantId, -Environment, -DataverseUrl, …) or with -Sandbox.");
                }

                return new ConnectionSettings { Name = Name, StatePath = statePath };
        }

        CredentialSpec credential = ParameterSetName switch
        {
            // The engine shows the device code message as a warning while the sign-in waits.
            DeviceCodeSet => new DeviceCodeCredentialSpec(),
            InteractiveSet => new InteractiveCredentialSpec(),
            _ => ApplicationCredential(ManagedIdentity, ClientSecret, CertificatePath, CertificatePassword, CertificateThumbprint),
        };
        credential = credential with { TenantId = TenantId, ClientId = ClientId, AuthorityHost = AuthorityHost };
        return new ConnectionSettings
        {
            Name = Name,
            StatePath = statePath,
            Credential = credential,
            IntegrationCredentials = (IntegrationIdentity is null ? new[] { IntegrationCredential() }.OfType<CredentialSpec>().ToList() : PoolOfIdentities(IntegrationIdentity, identity => identity.For(TenantId)))
                .Select(spec => spec with { AuthorityHost = AuthorityHost }).ToList(),
            Endpoints = new ServiceEndpoints
            {
                DataverseUrl = DataverseUrl!,
                BusinessCentralApiUrl = ServiceEndpoints.BusinessCentralOnlineApiUrl(TenantId!, Environment!, BusinessCentralUrl),
                Company = Company,
                GraphUrl = GraphUrl ?? "https://graph.microsoft.com/v1.0",
            },
        };
    }

    private bool IntegrationCredentialGiven =>
        IntegrationClientSecret is not null || IntegrationCertificatePath is not null || IntegrationCertificateThumbprint is not null || IntegrationManagedIdentity;

    /// <summary>The integration identity from the -Integration* parameters; null when none is given.</summary>
    private CredentialSpec? IntegrationCredential()
    {
        var given = new[] { IntegrationClientSecret is not null, IntegrationCertificatePath is not null, IntegrationCertificateThumbprint is not null, IntegrationManagedIdentity.IsPresent }.Count(g => g);
        if (given > 1)
        {
            throw new CrmSyncException("IntegrationCredentialAmbiguous", CrmSyncErrorKind.InvalidArgument,
                "Give one way for the integration identity to sign in: -IntegrationClientSecret, -IntegrationCertificatePath, -IntegrationCertificateThumbprint or -IntegrationManagedIdentity.");
        }

        if (given == 0)
        {
            return IntegrationClientId is null ? null : throw new CrmSyncException("IntegrationCredentialMissing", CrmSyncErrorKind.InvalidArgument,
                $"-IntegrationClientId {IntegrationClientId} needs a way to sign in: -IntegrationClientSecret, -IntegrationCertificatePath or -IntegrationCertificateThumbprint (or -IntegrationManagedIdentity).");
        }

        if (!IntegrationManagedIdentity && IntegrationClientId is null)
        {
            throw new CrmSyncException("IntegrationClientIdMissing", CrmSyncErrorKind.InvalidArgument,
                "Give -IntegrationClientId, the application (client) id of the integration identity's app registration.");
        }

        var spec = ApplicationCredential(IntegrationManagedIdentity, IntegrationClientSecret, IntegrationCertificatePath, IntegrationCertificatePassword, IntegrationCertificateThumbprint);
        return spec with { TenantId = TenantId, ClientId = IntegrationClientId };
    }

    // -IntegrationIdentity is a pool on its own: the single-identity parameters cannot be added to it.
    private IReadOnlyList<CredentialSpec> PoolOfIdentities(CrmSyncIdentity[] identities, Func<CrmSyncIdentity, CredentialSpec> credential)
    {
        if (IntegrationCredentialGiven || IntegrationClientId is not null || NoIntegrationIdentity || IntegrationIdentityCount > 0)
        {
            throw new CrmSyncException("IntegrationIdentityConflict", CrmSyncErrorKind.InvalidArgument,
                "-IntegrationIdentity gives the whole pool: do not combine it with -IntegrationClientId, -IntegrationClientSecret, -IntegrationCertificate*, -IntegrationManagedIdentity, -IntegrationIdentityCount or -NoIntegrationIdentity.");
        }

        return identities.Select(credential).ToList();
    }

    // The sandbox signs applications in with client secrets; without -Integration* its sample integration application is used.
    private IReadOnlyList<CredentialSpec> SandboxIntegrationCredentials(SandboxInstance instance)
    {
        if (IntegrationIdentity is not null)
        {
            return PoolOfIdentities(IntegrationIdentity, instance.IntegrationCredential);
        }

        if (IntegrationIdentityCount > 0)
        {
            if (IntegrationClientId is not null || IntegrationClientSecret is not null || NoIntegrationIdentity)
            {
                throw new CrmSyncException("IntegrationIdentityConflict", CrmSyncErrorKind.InvalidArgument,
                    "-IntegrationIdentityCount picks the sandbox's own integration applications: do not combine it with -IntegrationClientId, -IntegrationClientSecret or -NoIntegrationIdentity.");
            }

            return instance.IntegrationCredentials(IntegrationIdentityCount);
        }

        return new[] { SandboxIntegrationCredential(instance) }.OfType<CredentialSpec>().ToList();
    }

    private CredentialSpec? SandboxIntegrationCredential(SandboxInstance instance)
    {
        if (IntegrationCertificatePath is not null || IntegrationCertificateThumbprint is not null || IntegrationManagedIdentity)
        {
            throw new CrmSyncException("IntegrationCredentialNotForSandbox", CrmSyncErrorKind.InvalidArgument,
                "The sandbox signs applications in with client secrets: give -IntegrationClientId and -IntegrationClientSecret of a sandbox application, or neither for its sample integration application.");
        }

        if (NoIntegrationIdentity)
        {
            return (IntegrationClientId ?? (object?)IntegrationClientSecret) is null ? null : throw new CrmSyncException("IntegrationIdentityConflict", CrmSyncErrorKind.InvalidArgument,
                "-NoIntegrationIdentity cannot be combined with -IntegrationClientId or -IntegrationClientSecret.");
        }

        if ((IntegrationClientId is null) != (IntegrationClientSecret is null))
        {
            throw new CrmSyncException("IntegrationCredentialMissing", CrmSyncErrorKind.InvalidArgument,
                "For a sandbox application give both -IntegrationClientId and -IntegrationClientSecret, or neither for the sandbox's integration application.");
        }

        return instance.IntegrationCredential(IntegrationClientId is null ? null : ParseClientId(IntegrationClientId, nameof(IntegrationClientId)), IntegrationClientSecret is null ? null : PlainText(IntegrationClientSecret));
    }
}
