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
    /// <summary>Who synchronization writes as (application id or user), never a secret; null when not configured.</summary>
    public string? SyncIdentity => _syncServices?.Tokens.Identity;

    /// <summary>The integration identity's application (client) id, when it is an application.</summary>
    public string? SyncClientId => _syncServices?.Settings.IntegrationCredential?.ClientId;

    /// <summary>The integration identity's systemuserid in Dataverse (WhoAmI as that identity), once it can sign in there.</summary>
    public Guid? SyncDataverseUserId { get; private set; }

    /// <summary>What Connect-CrmSync found about the integration identity, per service.</summary>
    public IReadOnlyList<ServiceCheck> SyncChecks { get; private set; } = Array.Empty<ServiceCheck>();

    /// <summary>The Dataverse client synchronization uses: the integration identity's, else (engine use without one) the setup identity's.</summary>
    internal DataverseClient SyncDataverse => (_syncServices ?? Services).Dataverse;

    /// <summary>The Business Central client synchronization uses.</summary>
    internal BusinessCentralClient SyncBusinessCentral => (_syncServices ?? Services).BusinessCentral;

    // Connect-time look at the integration identity. Not a connect failure: before New-IntegrationUser the application
    // user does not exist yet, and creating it is what the setup identity is for.
    private async Task ProbeSyncIdentityAsync(CancellationToken cancellationToken)
    {
        if (_syncServices is not { } sync)
        {
            SyncChecks = Array.Empty<ServiceCheck>();
            return;
        }

        var endpoints = sync.Settings.Endpoints!;
        var checks = new List<ServiceCheck>();
        try
        {
            var me = await sync.Dataverse.WhoAmIAsync(cancellationToken).ConfigureAwait(false);
            SyncDataverseUserId = me.UserId;
            checks.Add(new ServiceCheck(ServiceKind.Dataverse, endpoints.DataverseUrl, true, $"WhoAmI as {sync.Tokens.Identity}: user {me.UserId}"));
        }
        catch (CrmSyncException ex)
        {
            SyncDataverseUserId = null;
            checks.Add(new ServiceCheck(ServiceKind.Dataverse, endpoints.DataverseUrl, false, ex.Message));
        }

        try
        {
            var companies = await sync.BusinessCentral.GetCompaniesAsync(cancellationToken).ConfigureAwait(false);
            var company = companies.FirstOrDefault(c => c.Id == Services.BusinessCentral.CompanyId);
            sync.BusinessCentral.CompanyId = company?.Id ?? Guid.Empty;
            checks.Add(company is null
                ? new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, false, $"The integration identity {sync.Tokens.Identity} does not see company '{CompanyName}'.")
                : new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, true, $"company '{company.Name}' as {sync.Tokens.Identity}"));
        }
        catch (CrmSyncException ex)
        {
            checks.Add(new ServiceCheck(ServiceKind.BusinessCentral, endpoints.BusinessCentralApiUrl, false, ex.Message));
        }

        SyncChecks = checks;
    }

    /// <summary>Connect-CrmSync says once what the integration identity cannot do yet, and the fix.</summary>
    private void WarnAboutSyncIdentity()
    {
        if (_syncServices is not { } sync)
        {
            return;
        }

        foreach (var failed in SyncChecks.Where(c => !c.Succeeded))
        {
            CallLog.Current.Warning(failed.Service == ServiceKind.Dataverse
                ? $"The integration identity {sync.Tokens.Identity} cannot use Dataverse yet ({failed.Detail}). Synchronization writes as this identity: create its user with New-IntegrationUser {NewIntegrationUserArguments(sync)}."
                : $"The integration identity {sync.Tokens.Identity} cannot use Business Central ({failed.Detail}). Add the app on Business Central's Microsoft Entra Applications page with the integration's permission sets.");
        }
    }

    private static string NewIntegrationUserArguments(ServiceClients sync) =>
        sync.Settings.IntegrationCredential?.ClientId is { } clientId ? $"-ApplicationId {clientId}" : "-UserPrincipalName <the integration identity's user>";

    /// <summary>
    /// Whether synchronization may run now, asked of the services: the connection has an integration identity, it
    /// signs in to Dataverse and Business Central, and it is not an administrator. Never throws for a "no": the
    /// readiness check shows the answer, the sync cmdlets stop on it.
    /// </summary>
    public async Task<SyncIdentityStatus> CheckSyncIdentityAsync(CancellationToken cancellationToken)
    {
        const string connect = "Connect-CrmSync with the integration identity: -IntegrationClientId with -IntegrationClientSecret or -IntegrationCertificatePath " +
            "(or -IntegrationManagedIdentity in Azure Automation); the sandbox's own integration application is used by default with -Sandbox.";
        if (_syncServices is null)
        {
            return new SyncIdentityStatus(false, "SyncIdentityMissing", null,
                $"The connection '{Name}' has no integration identity: synchronization would write as the setup identity {Identity}, and the Business Central " +
                "article says not to synchronize with the administrator account.", connect);
        }

        // Asked again now: the application user may have been created since.
        await ProbeSyncIdentityAsync(cancellationToken).ConfigureAwait(false);
        if (SyncChecks.FirstOrDefault(c => !c.Succeeded) is { } failed)
        {
            var fix = failed.Service == ServiceKind.Dataverse
                ? $"New-IntegrationUser {NewIntegrationUserArguments(_syncServices)}"
                : "Add the app on Business Central's Microsoft Entra Applications page with the integration's permission sets (not SUPER), and grant consent.";
            return new SyncIdentityStatus(false, "SyncIdentityNotReady", SyncIdentity,
                $"The integration identity {SyncIdentity} cannot use {failed.Service.Display()}: {failed.Detail}", fix);
        }

        var roles = await Services.Dataverse.GetUserRoleNamesAsync(SyncDataverseUserId!.Value, cancellationToken).ConfigureAwait(false);
        if (roles.Contains(Accounts.SecurityRoles.SystemAdministrator, StringComparer.OrdinalIgnoreCase))
        {
            return new SyncIdentityStatus(false, "SyncIdentityIsAdministrator", SyncIdentity,
                $"The integration identity {SyncIdentity} holds System Administrator in Dataverse; the Business Central article says not to synchronize with an administrator account.",
                $"Remove System Administrator from Dataverse user {SyncDataverseUserId} (Power Platform admin center) and give it the integration role (New-IntegrationUser assigns it), or connect with another integration identity.");
        }

        return new SyncIdentityStatus(true, "SyncIdentityReady", SyncIdentity, $"Synchronization writes as {SyncIdentity} (Dataverse user {SyncDataverseUserId}; roles: {string.Join(", ", roles)}).", null);
    }

    /// <summary>
    /// Reads one row of each Business Central table the mappings use, as the integration identity: a table it may not
    /// read is a permission set missing on BC's Microsoft Entra Applications page. BC API v2.0 has no endpoint for that
    /// page, so this can check but not assign; writing is not probed (a probe must not change data).
    /// </summary>
    public async Task<IReadOnlyList<BusinessCentralAccessCheck>> CheckBusinessCentralAccessAsync(IEnumerable<string> entitySets, CancellationToken cancellationToken)
    {
        var client = SyncBusinessCentral;
        var checks = new List<BusinessCentralAccessCheck>();
        foreach (var entitySet in entitySets.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            try
            {
                await foreach (var _ in client.ListAsync(entitySet, new BcQuery { Select = new[] { "id" }, PageSize = 1 }, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                checks.Add(new BusinessCentralAccessCheck(entitySet, true, $"{SyncIdentity ?? Identity} reads {entitySet}."));
            }
            catch (CrmSyncException ex)
            {
                checks.Add(new BusinessCentralAccessCheck(entitySet, false, ex.Message));
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
}

/// <summary>One Business Central table the integration identity must be able to read and write.</summary>
public sealed record BusinessCentralAccessCheck(string EntitySet, bool Succeeded, string Detail);

/// <summary>Whether synchronization may run as the connection's integration identity, and if not, why and the fix.</summary>
public sealed record SyncIdentityStatus(bool Ready, string ErrorId, string? Identity, string Detail, string? Fix);
