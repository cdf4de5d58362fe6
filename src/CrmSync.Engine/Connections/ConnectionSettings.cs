using CrmSync.Auth;
using CrmSync.Http;

namespace CrmSync.Connections;

/// <summary>Where the three services are.</summary>
public sealed record ServiceEndpoints
{
    /// <summary>Dataverse environment URL, e.g. https://contoso.crm4.dynamics.com.</summary>
    public required string DataverseUrl { get; init; }

    /// <summary>BC API v2.0 root: https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0/.</summary>
    public required string BusinessCentralApiUrl { get; init; }

    /// <summary>BC company name or id; may be omitted when the environment has one company.</summary>
    public string? Company { get; init; }

    public string GraphUrl { get; init; } = "https://graph.microsoft.com/v1.0";

    /// <summary>The Dataverse scope is the environment URL + /.default, as BC builds it (docs/reference/integration.md §D.1).</summary>
    public string DataverseScope => DataverseUrl.TrimEnd('/') + "/.default";

    public string BusinessCentralScope { get; init; } = "https://api.businesscentral.dynamics.com/.default";

    public string GraphScope { get; init; } = "https://graph.microsoft.com/.default";

    public const string BusinessCentralOnlineUrl = "https://api.businesscentral.dynamics.com";

    /// <summary>The API v2.0 root of an online environment: &lt;base&gt;/v2.0/{tenant}/{environment}/api/v2.0/ (base: the public cloud's, another cloud's, or a sandbox's).</summary>
    public static string BusinessCentralOnlineApiUrl(string tenant, string environment, Uri? baseUrl = null) =>
        $"{(baseUrl?.ToString() ?? BusinessCentralOnlineUrl).TrimEnd('/')}/v2.0/{Uri.EscapeDataString(tenant)}/{Uri.EscapeDataString(environment)}/api/v2.0/";
}

/// <summary>Everything Connect-CrmSync needs to open a connection.</summary>
public sealed record ConnectionSettings
{
    public string? Name { get; init; }

    public string? StatePath { get; init; }

    /// <summary>Names the default state file when neither a path nor a database is given; default: the connection's name.</summary>
    public string? DefaultStateName { get; init; }

    /// <summary>The SQLite file this connection's state is in: the path given, else the default one unless a PostgreSQL state is given (both given is refused on open).</summary>
    public string? StateFile => StatePath ?? (StateConnectionString is not null ? null
        : CrmSyncPaths.DefaultStatePath(DefaultStateName ?? Name ?? CrmSyncPaths.DefaultConnectionName));

    /// <summary>
    /// A PostgreSQL database for the state instead of the SQLite file (Npgsql connection string: Host, Port, Database,
    /// Username, Password, SSL Mode): one state shared by runbooks on several machines. Never logged or shown.
    /// </summary>
    public string? StateConnectionString { get; init; }

    /// <summary>
    /// Re-point a state made for another environment at this one: forget its couplings, watermarks and integration user
    /// (the caller has confirmed). Without it, a state bound to another environment is refused.
    /// </summary>
    public bool RepointState { get; init; }

    /// <summary>Null: a local connection (state only, no services).</summary>
    public ServiceEndpoints? Endpoints { get; init; }

    /// <summary>The setup identity: account set-up (users, licenses, roles) and everything but synchronization.</summary>
    public CredentialSpec? Credential { get; init; }

    /// <summary>
    /// The integration identities synchronization writes as (application users' secrets or certificates, or managed
    /// identities): the article's dedicated integration user, never the administrator. Several are a pool: requests are
    /// spread over them round robin, and each identity's service-protection limits are its own. Empty: not configured,
    /// and the sync cmdlets refuse to run.
    /// </summary>
    public IReadOnlyList<CredentialSpec> IntegrationCredentials { get; init; } = Array.Empty<CredentialSpec>();

    /// <summary>One integration identity (the first of <see cref="IntegrationCredentials"/>); setting it makes a pool of one.</summary>
    public CredentialSpec? IntegrationCredential
    {
        get => IntegrationCredentials.Count > 0 ? IntegrationCredentials[0] : null;
        init => IntegrationCredentials = value is null ? Array.Empty<CredentialSpec>() : new[] { value };
    }

    public RetrySettings Retry { get; init; } = new();

    /// <summary>How long Connect-CrmSync's checks of the services and identities may take in all.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests in flight per service at most (Dataverse also follows x-ms-dop-hint; BC allows 5 per user).</summary>
    public int DataverseMaxConcurrency { get; init; } = 52;

    public int BusinessCentralMaxConcurrency { get; init; } = 5;

    public int GraphMaxConcurrency { get; init; } = 4;

    /// <summary>True when the endpoints are a CrmSync sandbox.</summary>
    public bool IsSandbox { get; init; }

    /// <summary>Tests: replaces the socket handler under each service handler.</summary>
    internal Func<HttpMessageHandler>? InnerHandlerFactory { get; init; }
}

/// <summary>The outcome of checking one service at connect time.</summary>
public sealed record ServiceCheck(ServiceKind Service, string Endpoint, bool Succeeded, string Detail, string? ErrorId = null);
