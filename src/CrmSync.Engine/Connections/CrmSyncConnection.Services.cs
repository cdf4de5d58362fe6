using CrmSync.Auth;
using CrmSync.BusinessCentral;
using CrmSync.Dataverse;
using CrmSync.Entra;
using CrmSync.Http;

namespace CrmSync.Connections;

/// <summary>The service side of a connection: endpoints, identity, clients and the connect-time checks.</summary>
public sealed partial class CrmSyncConnection
{
    public bool IsConnectedToServices => _services is not null;

    public bool IsSandbox => _services?.Settings.IsSandbox ?? false;

    public string? DataverseUrl => _services?.Settings.Endpoints!.DataverseUrl;

    public string? BusinessCentralApiUrl => _services?.Settings.Endpoints!.BusinessCentralApiUrl;

    public Guid? CompanyId => _services?.BusinessCentral.CompanyId;

    public string? CompanyName { get; private set; }

    public string? GraphUrl => _services?.Settings.Endpoints!.GraphUrl;

    public string? TenantId => _services?.Settings.Credential?.TenantId;

    public string? TenantName { get; private set; }

    /// <summary>The Entra tenant's id, as Graph's organization names it.</summary>
    public Guid? DirectoryTenantId { get; private set; }

    /// <summary>The environment the connection reaches (known once the services answered); its state is bound to it.</summary>
    public StateEnvironment? BoundEnvironment => DirectoryTenantId is { } tenant && DataverseOrganizationId is { } organization && CompanyId is { } company
        ? new StateEnvironment(tenant, organization, StateEnvironment.EnvironmentOf(BusinessCentralApiUrl!), company)
        : null;

    /// <summary>ClientSecret, Certificate, ManagedIdentity, DeviceCode, Interactive or Sandbox.</summary>
    public string? AuthenticationMethod => _services?.Settings.Credential?.Method;

    /// <summary>Whether a person signed in (device code, interactive): then that person is the default admin account.</summary>
    public bool SignsInAsUser => _services?.Settings.Credential?.SignsInAsUser ?? false;

    /// <summary>The Dataverse user of the person signed in; null when the connection signs in as an application.</summary>
    internal Guid? SignedInPersonId => SignsInAsUser ? DataverseUserId : null;

    /// <summary>Who requests are made as (application id or user), never a secret.</summary>
    public string? Identity => _services?.Tokens.Identity;

    /// <summary>The caller's systemuserid in Dataverse (from WhoAmI).</summary>
    public Guid? DataverseUserId { get; private set; }

    public Guid? DataverseBusinessUnitId { get; private set; }

    public Guid? DataverseOrganizationId { get; private set; }

    /// <summary>What Connect-CrmSync checked, per service.</summary>
    public IReadOnlyList<ServiceCheck> Checks { get; private set; } = Array.Empty<ServiceCheck>();

    internal DataverseClient Dataverse => Services.Dataverse;

    internal BusinessCentralClient BusinessCentral => Services.BusinessCentral;

    internal DirectoryClient Directory => Services.Directory;

    /// <summary>Requests this connection sent to a service so far, both identities and retries included.</summary>
    internal int RequestsSent(ServiceKind service) => (_services?.RequestsSent(service) ?? 0) + (_sync?.RequestsSent(service) ?? 0);

    /// <summary>How many tokens were requested so far, where the credential counts them (the sandbox's: one per service per token lifetime).</summary>
    internal int? TokenAcquisitions => _services?.Tokens.Acquisitions;

    private ServiceClients Services => _services ?? throw new CrmSyncException("NotConnectedToServices", CrmSyncErrorKind.InvalidOperation,
        $"The connection '{Name}' is local (state only). Connect-CrmSync with service endpoints and a credential, or -Sandbox.", this);

    /// <summary>Opens the state file and, with endpoints, connects to the three services and checks each one; what it finds goes to <see cref="CallLog.Current"/>.</summary>
    public static async Task<CrmSyncConnection> ConnectAsync(ConnectionSettings settings, CancellationToken cancellationToken = default)
    {
        var connection = Open(settings.Name, settings.StateFile, settings.StateConnectionString);
        if (settings.Endpoints is null)
        {
            return connection;
        }

        try
        {
            if (settings.Credential is null)
            {
                throw new CrmSyncException("CredentialMissing", CrmSyncErrorKind.InvalidArgument, "Connecting to services needs a credential (a sign-in method).");
            }

            connection._services = ServiceClients.Create(settings, settings.Credential);
            if (settings.IntegrationCredentials.Count > 0)
            {
                connection._sync = SyncPool.Create(settings, settings.IntegrationCredentials);
            }

            if (settings.Credential.SignsInAsUser)
            {
                // A person signs in first (a device code waits for them): their time is not the services'.
                try
                {
                    await connection._services.Tokens.GetTokenAsync(settings.Endpoints.DataverseScope, cancellationToken).ConfigureAwait(false);
                }
                catch (Auth.TokenUnavailableException)
                {
                    // Reported with the checks below, per service.
                }
            }

            // The checks run under one deadline: a wrong URL or tenant is reported in seconds, not after every retry.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(settings.ConnectTimeout);
            try
            {
                await connection.CheckServicesAsync(deadline.Token).ConfigureAwait(false);
                StateEnvironment.Bind(connection.Store, connection.StatePath, connection.BoundEnvironment!, settings.RepointState);
                await connection.ProbeSyncIdentityAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new CrmSyncException("ConnectTimedOut", CrmSyncErrorKind.ConnectionError,
                    $"The services did not answer the connect checks within {settings.ConnectTimeout.TotalSeconds:0} s. Check the URLs and the network, or allow more time with -ConnectTimeoutSeconds.", settings.Name);
            }

            connection.WarnAboutSyncIdentity();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task CheckServicesAsync(CancellationToken cancellationToken)
    {
        var checks = await ProbeServicesAsync(cancellationToken).ConfigureAwait(false);
        var failed = checks.Where(c => !c.Succeeded).ToList();
        if (failed.Count > 0)
        {
            // One cause behind every failure (a wrong secret fails all three) gives the error its own id.
            var causes = failed.Select(c => c.ErrorId).Distinct().ToList();
            throw new ConnectionCheckFailedException(checks, causes is [{ } cause] ? cause : "ConnectionCheckFailed",
                $"Connect-CrmSync could not use {failed.Count} of 3 services as {_services!.Tokens.Identity}:{Environment.NewLine}  " +
                string.Join(Environment.NewLine + "  ", failed.Select(c => $"{c.Service.Display()} ({c.Endpoint}): {c.Detail}")));
        }
    }

    /// <summary>Asks each service now (WhoAmI, the company, the organization); a failure is a check that did not succeed, not an exception.</summary>
    public async Task<IReadOnlyList<ServiceCheck>> ProbeServicesAsync(CancellationToken cancellationToken)
    {
        var services = Services;
        var endpoints = services.Settings.Endpoints!;
        var log = CallLog.Current;

        async Task<ServiceCheck> Check(ServiceKind service, string endpoint, Func<Task<string>> probe)
        {
            try
            {
                var detail = await probe().ConfigureAwait(false);
                log.Verbose($"{service.Display()} ({endpoint}): {detail}");
                return new ServiceCheck(service, endpoint, true, detail);
            }
            catch (CrmSyncException ex)
            {
                return new ServiceCheck(service, endpoint, false, ex.Message, ex.ErrorId);
            }
        }

        // The three services are asked at once: a connect waits for the slowest, not for the sum.
        var dataverse = Check(ServiceKind.Dataverse, endpoints.DataverseUrl, async () =>
        {
            var me = await services.Dataverse.WhoAmIAsync(cancellationToken).ConfigureAwait(false);
            DataverseUserId = me.UserId;
            DataverseBusinessUnitId = me.BusinessUnitId;
            DataverseOrganizationId = me.OrganizationId;
            return $"WhoAmI: user {me.UserId}, organization {me.OrganizationId}";
        });

        var businessCentral = Check(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, async () =>
        {
            var companies = await services.BusinessCentral.GetCompaniesAsync(cancellationToken).ConfigureAwait(false);
            var company = SelectCompany(companies, endpoints.Company);
            services.BusinessCentral.CompanyId = company.Id;
            CompanyName = company.Name;
            return $"company '{company.Name}' ({company.Id}) of {companies.Count}";
        });

        var graph = Check(ServiceKind.Graph, endpoints.GraphUrl, async () =>
        {
            var organization = await services.Directory.GetOrganizationAsync(cancellationToken).ConfigureAwait(false);
            TenantName = organization.DisplayName;
            DirectoryTenantId = organization.TenantId;
            return $"organization '{organization.DisplayName}' ({organization.TenantId})";
        });

        var checks = await Task.WhenAll(dataverse, businessCentral, graph).ConfigureAwait(false);
        Checks = checks;
        return checks;
    }

    private static BcCompany SelectCompany(IReadOnlyList<BcCompany> companies, string? wanted)
    {
        if (wanted is null)
        {
            return companies.Count == 1 ? companies[0] : throw new CrmSyncException("CompanyAmbiguous", CrmSyncErrorKind.InvalidArgument,
                companies.Count == 0 ? "The Business Central environment has no companies." : $"The environment has {companies.Count} companies; choose one with -Company: {string.Join(", ", companies.Select(c => $"'{c.Name}'"))}.");
        }

        return companies.FirstOrDefault(c => Guid.TryParse(wanted, out var id) ? c.Id == id : string.Equals(c.Name, wanted, StringComparison.OrdinalIgnoreCase) || string.Equals(c.DisplayName, wanted, StringComparison.OrdinalIgnoreCase))
            ?? throw new CrmSyncException("CompanyNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"There is no company '{wanted}' in the Business Central environment. Companies: {string.Join(", ", companies.Select(c => $"'{c.Name}'"))}.", wanted);
    }

    /// <summary>The clients of one connection and what they share.</summary>
    private sealed class ServiceClients : IDisposable
    {
        private readonly List<HttpClient> _http = new();
        private readonly List<ServiceHandler> _handlers = new();

        /// <summary>Requests these clients sent to a service so far.</summary>
        public int RequestsSent(ServiceKind service) => _handlers.Where(h => h.Service == service).Sum(h => h.RequestsSent);

        public required ConnectionSettings Settings { get; init; }

        public required TokenSource Tokens { get; init; }

        internal DataverseClient Dataverse { get; private set; } = null!;

        internal BusinessCentralClient BusinessCentral { get; private set; } = null!;

        internal DirectoryClient Directory { get; private set; } = null!;

        /// <summary>Clients for one identity: limits are counted per identity, so each has its own HTTP clients and gates.</summary>
        public static ServiceClients Create(ConnectionSettings settings, CredentialSpec spec)
        {
            var endpoints = settings.Endpoints!;
            var tokenHttp = new HttpClient(settings.InnerHandlerFactory?.Invoke() ?? NewSocketHandler());
            var credential = CredentialFactory.Create(spec, tokenHttp, settings.Retry);
            var clients = new ServiceClients { Settings = settings, Tokens = new TokenSource(credential, spec.IdentityDisplay) { Spec = spec } };
            clients._http.Add(tokenHttp);
            HttpClient Client(ServiceKind service, string scope, int maxConcurrency)
            {
                var handler = new ServiceHandler(service, clients.Tokens, scope, maxConcurrency, settings.Retry, settings.InnerHandlerFactory?.Invoke() ?? NewSocketHandler());
                clients._handlers.Add(handler);
                var http = ServiceHttp(handler);
                clients._http.Add(http);
                return http;
            }

            var identity = clients.Tokens.Identity;
            clients.Dataverse = new DataverseClient(Client(ServiceKind.Dataverse, endpoints.DataverseScope, settings.DataverseMaxConcurrency), new Uri(endpoints.DataverseUrl), identity);
            clients.BusinessCentral = new BusinessCentralClient(Client(ServiceKind.BusinessCentral, endpoints.BusinessCentralScope, settings.BusinessCentralMaxConcurrency), endpoints.BusinessCentralApiUrl, identity);
            clients.Directory = new DirectoryClient(Client(ServiceKind.Graph, endpoints.GraphScope, settings.GraphMaxConcurrency), endpoints.GraphUrl, identity);
            return clients;
        }

        /// <summary>This identity's handler for a service (its token, throttling and concurrency).</summary>
        public ServiceHandler Handler(ServiceKind service) => _handlers.Single(h => h.Service == service);

        /// <summary>An HttpClient over a service handler (or a pool of them), with the OData headers every request carries.</summary>
        public static HttpClient ServiceHttp(HttpMessageHandler handler)
        {
            var http = new HttpClient(handler)
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            http.DefaultRequestHeaders.Add("OData-MaxVersion", "4.0");
            http.DefaultRequestHeaders.Add("OData-Version", "4.0");
            return http;
        }

        // No cookies: Dataverse's affinity cookie would pin every request to one web server (§D.9).
        private static SocketsHttpHandler NewSocketHandler() => new()
        {
            UseCookies = false,
            MaxConnectionsPerServer = 64,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        };

        public void Dispose()
        {
            foreach (var http in _http)
            {
                http.Dispose();
            }
        }
    }
}

/// <summary>Connect-CrmSync reached some services but not all; <see cref="Checks"/> says which and why.</summary>
public sealed class ConnectionCheckFailedException(IReadOnlyList<ServiceCheck> checks, string errorId, string message)
    : CrmSyncException(errorId, CrmSyncErrorKind.ConnectionError, message, checks)
{
    public IReadOnlyList<ServiceCheck> Checks { get; } = checks;
}
