using CrmSync.Auth;
using CrmSync.BusinessCentral;
using CrmSync.Dataverse;
using CrmSync.Http;

namespace CrmSync.Connections;

/// <summary>
/// The identity synchronization writes as. The Business Central article: do not use the administrator account for
/// synchronization, and changes the integration user makes are not synchronized back. So a connection carries two
/// identities: the setup identity (Connect-CrmSync's credential) sets up accounts; the integration identity (the
/// application user, or a dedicated non-interactive user) reads and writes the synchronized records.
/// </summary>
public sealed partial class CrmSyncConnection
{
    /// <summary>Who synchronization writes as (application id or user), never a secret; a pool lists its identities; null when not configured.</summary>
    public string? SyncIdentity => _sync is null ? null : string.Join(", ", _sync.Members.Select(m => m.Identity));

    /// <summary>Each integration identity synchronization spreads its requests over, and what Connect-CrmSync found about it.</summary>
    public IReadOnlyList<SyncIdentityInfo> SyncIdentities =>
        _sync?.Members.Select(m => new SyncIdentityInfo(m.Identity, m.ClientId, m.DataverseUserId, m.Checks.All(c => c.Succeeded))).ToList() ?? (IReadOnlyList<SyncIdentityInfo>)Array.Empty<SyncIdentityInfo>();

    /// <summary>The (first) integration identity's application (client) id, when it is an application.</summary>
    public string? SyncClientId => _sync?.Members[0].ClientId;

    /// <summary>The (first) integration identity's systemuserid in Dataverse (WhoAmI as that identity), once it can sign in there.</summary>
    public Guid? SyncDataverseUserId => _sync?.Members[0].DataverseUserId;

    /// <summary>The Dataverse users of every integration identity that can sign in: their changes are the integration's own.</summary>
    public IReadOnlyList<Guid> SyncDataverseUserIds => _sync?.Members.Select(m => m.DataverseUserId).OfType<Guid>().ToList() ?? (IReadOnlyList<Guid>)Array.Empty<Guid>();

    /// <summary>What Connect-CrmSync found about the integration identities, per identity and service.</summary>
    public IReadOnlyList<ServiceCheck> SyncChecks => _sync?.Members.SelectMany(m => m.Checks).ToList() ?? (IReadOnlyList<ServiceCheck>)Array.Empty<ServiceCheck>();

    /// <summary>The Dataverse client synchronization uses: the integration identities' (a pool spreads over them), else (engine use without one) the setup identity's.</summary>
    internal DataverseClient SyncDataverse => _sync?.Dataverse ?? Services.Dataverse;

    /// <summary>The Business Central client synchronization uses.</summary>
    internal BusinessCentralClient SyncBusinessCentral => _sync?.BusinessCentral ?? Services.BusinessCentral;

    // Connect-time look at each integration identity. Not a connect failure: before New-IntegrationUser the application
    // user does not exist yet, and creating it is what the setup identity is for.
    private async Task ProbeSyncIdentityAsync(CancellationToken cancellationToken)
    {
        if (_sync is not { } pool)
        {
            return;
        }

        var endpoints = _services!.Settings.Endpoints!;
        foreach (var member in pool.Members)
        {
            var checks = new List<ServiceCheck>();
            try
            {
                var me = await member.Clients.Dataverse.WhoAmIAsync(cancellationToken).ConfigureAwait(false);
                member.DataverseUserId = me.UserId;
                checks.Add(new ServiceCheck(ServiceKind.Dataverse, endpoints.DataverseUrl, true, $"WhoAmI as {member.Identity}: user {me.UserId}"));
            }
            catch (CrmSyncException ex)
            {
                member.DataverseUserId = null;
                checks.Add(new ServiceCheck(ServiceKind.Dataverse, endpoints.DataverseUrl, false, ex.Message));
            }

            try
            {
                var companies = await member.Clients.BusinessCentral.GetCompaniesAsync(cancellationToken).ConfigureAwait(false);
                var company = companies.FirstOrDefault(c => c.Id == Services.BusinessCentral.CompanyId);
                member.Clients.BusinessCentral.CompanyId = company?.Id ?? Guid.Empty;
                checks.Add(company is null
                    ? new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, false, $"The integration identity {member.Identity} does not see company '{CompanyName}'.")
                    : new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, true, $"company '{company.Name}' as {member.Identity}"));
            }
            catch (CrmSyncException ex)
            {
                checks.Add(new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, false, ex.Message));
            }

            member.Checks = checks;
        }

        // A pool writes to the company only when every identity in it sees the company.
        pool.BusinessCentral.CompanyId = pool.Members.All(m => m.Clients.BusinessCentral.CompanyId != Guid.Empty) ? Services.BusinessCentral.CompanyId : Guid.Empty;
    }

    /// <summary>Connect-CrmSync says once what each integration identity cannot do yet, and the fix.</summary>
    private void WarnAboutSyncIdentity()
    {
        foreach (var member in _sync?.Members ?? Array.Empty<SyncMember>())
        {
            foreach (var failed in member.Checks.Where(c => !c.Succeeded))
            {
                CallLog.Current.Warning(failed.Service == ServiceKind.Dataverse
                    ? $"The integration identity {member.Identity} cannot use Dataverse yet ({failed.Detail}). Synchronization writes as this identity: create its user with New-IntegrationUser {NewIntegrationUserArguments(member)}."
                    : $"The integration identity {member.Identity} cannot use Business Central ({failed.Detail}). Add the app on Business Central's Microsoft Entra Applications page with the integration's permission sets.");
            }
        }
    }

    private static string NewIntegrationUserArguments(SyncMember member) =>
        member.ClientId is { } clientId ? $"-ApplicationId {clientId}" : "-UserPrincipalName <the integration identity's user>";

    /// <summary>
    /// Whether synchronization may run now, asked of the services: the connection has integration identities, each signs
    /// in to Dataverse and Business Central, and none is an administrator. A pool is ready only when every identity in it
    /// is (requests go to each in turn). Never throws for a "no": the readiness check shows the answer, the sync cmdlets
    /// stop on it.
    /// </summary>
    public async Task<SyncIdentityStatus> CheckSyncIdentityAsync(CancellationToken cancellationToken)
    {
        var statuses = await CheckSyncIdentitiesAsync(cancellationToken).ConfigureAwait(false);
        if (statuses.FirstOrDefault(s => !s.Ready) is { } notReady)
        {
            return notReady;
        }

        if (statuses.Count == 1)
        {
            return statuses[0];
        }

        return new SyncIdentityStatus(true, "SyncIdentityReady", SyncIdentity,
            $"Synchronization spreads its requests round robin over {statuses.Count} integration identities, each with its own service-protection limits: " +
            string.Join(" ", statuses.Select(s => s.Detail)), null);
    }

    /// <summary>Each integration identity's readiness (Test-IntegrationSetup shows one line per identity).</summary>
    public async Task<IReadOnlyList<SyncIdentityStatus>> CheckSyncIdentitiesAsync(CancellationToken cancellationToken)
    {
        const string connect = "Connect-CrmSync with the integration identity: -IntegrationClientId with -IntegrationClientSecret or -IntegrationCertificatePath " +
            "(or -IntegrationManagedIdentity in Azure Automation, or a pool with -IntegrationIdentity); the sandbox's own integration application is used by default with -Sandbox.";
        if (_sync is null)
        {
            return new[]
            {
                new SyncIdentityStatus(false, "SyncIdentityMissing", null,
                    $"The connection '{Name}' has no integration identity: synchronization would write as the setup identity {Identity}, and the Business Central " +
                    "article says not to synchronize with the administrator account.", connect),
            };
        }

        // Asked again now: the application users may have been created since.
        await ProbeSyncIdentityAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<SyncIdentityStatus>();
        foreach (var member in _sync.Members)
        {
            statuses.Add(await StatusOfAsync(member, cancellationToken).ConfigureAwait(false));
        }

        return statuses;
    }

    private async Task<SyncIdentityStatus> StatusOfAsync(SyncMember member, CancellationToken cancellationToken)
    {
        if (member.Checks.FirstOrDefault(c => !c.Succeeded) is { } failed)
        {
            var fix = failed.Service == ServiceKind.Dataverse
                ? $"New-IntegrationUser {NewIntegrationUserArguments(member)}"
                : "Add the app on Business Central's Microsoft Entra Applications page with the integration's permission sets (not SUPER), and grant consent.";
            return new SyncIdentityStatus(false, "SyncIdentityNotReady", member.Identity,
                $"The integration identity {member.Identity} cannot use {failed.Service.Display()}: {failed.Detail}", fix);
        }

        var roles = await Services.Dataverse.GetUserRoleNamesAsync(member.DataverseUserId!.Value, cancellationToken).ConfigureAwait(false);
        if (roles.Contains(Accounts.SecurityRoles.SystemAdministrator, StringComparer.OrdinalIgnoreCase))
        {
            return new SyncIdentityStatus(false, "SyncIdentityIsAdministrator", member.Identity,
                $"The integration identity {member.Identity} holds System Administrator in Dataverse; the Business Central article says not to synchronize with an administrator account.",
                $"Remove System Administrator from Dataverse user {member.DataverseUserId} (Power Platform admin center) and give it the integration role (New-IntegrationUser assigns it), or connect with another integration identity.");
        }

        return new SyncIdentityStatus(true, "SyncIdentityReady", member.Identity, $"Synchronization writes as {member.Identity} (Dataverse user {member.DataverseUserId}; roles: {string.Join(", ", roles)}).", null);
    }

    /// <summary>
    /// Reads one row of each Business Central table the mappings use, as each integration identity: a table one may not
    /// read is a permission set missing on BC's Microsoft Entra Applications page. BC API v2.0 has no endpoint for that
    /// page, so this can check but not assign; writing is not probed (a probe must not change data).
    /// </summary>
    public async Task<IReadOnlyList<BusinessCentralAccessCheck>> CheckBusinessCentralAccessAsync(IEnumerable<string> entitySets, CancellationToken cancellationToken)
    {
        var tables = entitySets.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var readers = _sync?.Members.Select(m => (m.Identity, m.ClientId, m.Clients.BusinessCentral)).ToList()
            ?? new List<(string, string?, BusinessCentralClient)> { (Identity!, null, Services.BusinessCentral) };
        var checks = new List<BusinessCentralAccessCheck>();
        foreach (var (identity, clientId, client) in readers)
        {
            foreach (var entitySet in tables)
            {
                try
                {
                    await foreach (var _ in client.ListAsync(entitySet, new BcQuery { Select = new[] { "id" }, PageSize = 1 }, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }

                    checks.Add(new BusinessCentralAccessCheck(entitySet, true, $"{identity} reads {entitySet}.") { Identity = identity, ClientId = clientId });
                }
                catch (CrmSyncException ex)
                {
                    checks.Add(new BusinessCentralAccessCheck(entitySet, false, ex.Message) { Identity = identity, ClientId = clientId });
                }
            }
        }

        return checks;
    }

    /// <summary>Stops with the status's error unless synchronization may run.</summary>
    public async Task EnsureSyncIdentityAsync(CancellationToken cancellationToken)
    {
        var status = await CheckSyncIdentityAsync(cancellationToken).ConfigureAwait(false);
        if (!status.Ready)
        {
            throw new CrmSyncException(status.ErrorId, status.ErrorId == "SyncIdentityIsAdministrator" ? CrmSyncErrorKind.PermissionDenied : CrmSyncErrorKind.InvalidOperation,
                $"{status.Detail} Fix: {status.Fix}", this);
        }
    }

    /// <summary>One integration identity of the pool: its clients and what the last probe found.</summary>
    private sealed class SyncMember(ServiceClients clients, CredentialSpec spec)
    {
        public ServiceClients Clients => clients;

        public string Identity => clients.Tokens.Identity;

        public string? ClientId => spec.ClientId;

        public Guid? DataverseUserId { get; set; }

        public IReadOnlyList<ServiceCheck> Checks { get; set; } = Array.Empty<ServiceCheck>();
    }

    /// <summary>
    /// The integration identities and the clients synchronization uses: with one identity, its own; with several, clients
    /// whose requests an IdentityPoolHandler spreads over the identities' handlers.
    /// </summary>
    private sealed class SyncPool : IDisposable
    {
        private readonly List<HttpClient> _http = new();

        public required IReadOnlyList<SyncMember> Members { get; init; }

        public DataverseClient Dataverse { get; private init; } = null!;

        public BusinessCentralClient BusinessCentral { get; private init; } = null!;

        public int RequestsSent(ServiceKind service) => Members.Sum(m => m.Clients.RequestsSent(service));

        public static SyncPool Create(ConnectionSettings settings, IReadOnlyList<CredentialSpec> specs)
        {
            if (specs.GroupBy(s => (s.Method, s.ClientId?.ToLowerInvariant())).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                throw new CrmSyncException("IntegrationIdentityDuplicate", CrmSyncErrorKind.InvalidArgument,
                    $"The integration identity {twice.First().IdentityDisplay} is in the pool {twice.Count()} times. Service-protection limits are counted per identity, so a pool needs different application users: give each one once.",
                    twice.First().IdentityDisplay);
            }

            var members = new List<SyncMember>();
            try
            {
                foreach (var spec in specs)
                {
                    members.Add(new SyncMember(ServiceClients.Create(settings, spec), spec));
                }
            }
            catch
            {
                members.ForEach(m => m.Clients.Dispose());
                throw;
            }

            if (members.Count == 1)
            {
                return new SyncPool { Members = members, Dataverse = members[0].Clients.Dataverse, BusinessCentral = members[0].Clients.BusinessCentral };
            }

            var endpoints = settings.Endpoints!;
            var name = $"a pool of {members.Count} identities ({string.Join(", ", members.Select(m => m.Identity))})";
            var dataverse = ServiceClients.ServiceHttp(new IdentityPoolHandler(members.Select(m => m.Clients.Handler(ServiceKind.Dataverse)).ToList()));
            var businessCentral = ServiceClients.ServiceHttp(new IdentityPoolHandler(members.Select(m => m.Clients.Handler(ServiceKind.BusinessCentral)).ToList()));
            var pool = new SyncPool
            {
                Members = members,
                Dataverse = new DataverseClient(dataverse, new Uri(endpoints.DataverseUrl), name) { PoolSize = members.Count },
                BusinessCentral = new BusinessCentralClient(businessCentral, endpoints.BusinessCentralApiUrl, name) { PoolSize = members.Count },
            };
            pool._http.AddRange(new[] { dataverse, businessCentral });
            return pool;
        }

        public void Dispose()
        {
            _http.ForEach(h => h.Dispose());
            foreach (var member in Members)
            {
                member.Clients.Dispose();
            }
        }
    }
}

/// <summary>One Business Central table an integration identity must be able to read and write.</summary>
public sealed record BusinessCentralAccessCheck(string EntitySet, bool Succeeded, string Detail)
{
    /// <summary>Who read it.</summary>
    public string? Identity { get; init; }

    /// <summary>That identity's application (client) id, for BC's Microsoft Entra Applications page.</summary>
    public string? ClientId { get; init; }
}

/// <summary>One integration identity of a connection: who it is, its Dataverse user, and whether it could use both services when last asked.</summary>
public sealed record SyncIdentityInfo(string Identity, string? ClientId, Guid? DataverseUserId, bool CanSignIn);

/// <summary>Whether synchronization may run as the connection's integration identity, and if not, why and the fix.</summary>
public sealed record SyncIdentityStatus(bool Ready, string ErrorId, string? Identity, string Detail, string? Fix);
