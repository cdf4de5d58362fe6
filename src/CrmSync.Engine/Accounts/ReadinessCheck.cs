using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Http;
using CrmSync.Mapping;
using CrmSync.Sync;

namespace CrmSync.Accounts;

/// <summary>
/// Test-IntegrationSetup: every prerequisite of the integration as pass / warning / fail with the exact fix — the
/// connection, the admin's roles, the integration user and identity, Business Central access, each salesperson's user.
/// Reads only; it inspects the connection itself (its services, identities and state), so it takes the connection.
/// </summary>
public sealed class ReadinessCheck(CrmSyncConnection connection)
{
    private readonly CrmSyncConnection _connection = connection;

    private DataverseClient Dataverse => _connection.Dataverse;

    private delegate void CheckSink(string area, string check, string target, CheckStatus status, string detail, string? fix = null);

    /// <summary>
    /// Every prerequisite of the integration, as pass / warning / fail with the exact fix (Test-IntegrationSetup):
    /// the connection, the admin's roles, the integration user, and each BC salesperson's user.
    /// </summary>
    public async Task<IReadOnlyList<SetupCheck>> RunAsync(string? adminUserPrincipalName, CancellationToken cancellationToken)
    {
        var checks = new List<SetupCheck>();
        void Add(string area, string check, string target, CheckStatus status, string detail, string? fix = null) =>
            checks.Add(new SetupCheck(area, check, target, status, detail, status == CheckStatus.Pass ? null : fix));

        // Asked now, not what Connect-CrmSync saw: tokens expire and consents are withdrawn.
        foreach (var service in await _connection.ProbeServicesAsync(cancellationToken).ConfigureAwait(false))
        {
            Add("Connection", $"{service.Service} answers", service.Endpoint, service.Succeeded ? CheckStatus.Pass : CheckStatus.Fail, service.Detail, "Connect-CrmSync again; the error names what is missing.");
        }

        if (checks.Any(c => c.Status == CheckStatus.Fail))
        {
            // The other checks read those services: report what is known instead of failing on the first call.
            Add("Connection", "Accounts checked", _connection.Name, CheckStatus.Fail, "Not checked: a service does not answer.", "Fix the connection, then run Test-IntegrationSetup again.");
            return checks;
        }

        // The admin user: administrator, System Customizer, and a non-admin role (article 1).
        // The person named, else the one Grant-IntegrationAdminRole set up, else the person signed in: never an application.
        adminUserPrincipalName ??= _connection.Store.Settings.Get(SettingKeys.AdminUserPrincipalName);
        var signedInUser = _connection.SignedInPersonId;
        var admin = await AdminRoleSetup.FindAdminAsync(Dataverse, adminUserPrincipalName, signedInUser, cancellationToken).ConfigureAwait(false);
        var adminName = adminUserPrincipalName ?? admin?.DomainName ?? admin?.FullName ?? "the connected user";
        if (adminUserPrincipalName is null && signedInUser is null)
        {
            Add("Admin", "Is named", "(none)", CheckStatus.Fail, $"The connection signs in as {_connection.Identity}, an application; the admin account is a person, and none is named yet.",
                "Grant-IntegrationAdminRole -UserPrincipalName <the admin's sign-in name>");
        }
        else if (admin is null)
        {
            Add("Admin", "Exists in Dataverse", adminName, CheckStatus.Fail, "No such Dataverse user.", "License the admin so the environment adds it, or give -AdminUserPrincipalName.");
        }
        else
        {
            // Each of the article's three conditions is its own check, so the checklist says exactly which is missing.
            var roles = await Dataverse.GetUserRoleNamesAsync(admin.SystemUserId, cancellationToken).ConfigureAwait(false);
            var grant = adminUserPrincipalName is null ? "Grant-IntegrationAdminRole" : $"Grant-IntegrationAdminRole -UserPrincipalName {adminUserPrincipalName}";
            Add("Admin", "Is administrator (System Administrator)", adminName, SecurityRoles.Holds(roles, SecurityRoles.SystemAdministrator) ? CheckStatus.Pass : CheckStatus.Fail, $"Roles: {Join(roles)}.", grant);
            Add("Admin", "Holds System Customizer", adminName, SecurityRoles.Holds(roles, SecurityRoles.SystemCustomizer) ? CheckStatus.Pass : CheckStatus.Fail, $"Roles: {Join(roles)}.", grant);
            Add("Admin", "Holds a non-admin role (e.g. Sales Manager)", adminName, roles.All(SecurityRoles.IsAdminRole) ? CheckStatus.Fail : CheckStatus.Pass, $"Roles: {Join(roles)}.", grant);
        }

        await CheckIntegrationUserAsync(new CheckSink(Add), cancellationToken).ConfigureAwait(false);

        // Which identities synchronization will write as (each of a pool): the article forbids the administrator account.
        foreach (var sync in await _connection.CheckSyncIdentitiesAsync(cancellationToken).ConfigureAwait(false))
        {
            Add("Integration user", "Synchronization writes as the integration identity", sync.Identity ?? "(none)", sync.Ready ? CheckStatus.Pass : CheckStatus.Fail, sync.Detail, sync.Fix);
        }

        var writers = _connection.SyncDataverseUserIds;
        if (writers.Count > 0 && Guid.TryParse(_connection.Store.Settings.Get(SettingKeys.IntegrationUserId), out var recordedUser) && !writers.Contains(recordedUser))
        {
            Add("Integration user", "Is the identity synchronization writes as", _connection.SyncIdentity!, CheckStatus.Warning,
                $"Synchronization writes as Dataverse user {string.Join(", ", writers)}, but the recorded integration user is {recordedUser}. Changes of all of them are not synchronized back.",
                $"New-IntegrationUser for the identity synchronization writes as, or connect with the recorded user's identity (-IntegrationClientId).");
        }

        await CheckBusinessCentralAccessAsync(new CheckSink(Add), cancellationToken).ConfigureAwait(false);
        await CheckSalespeopleAsync(new CheckSink(Add), cancellationToken).ConfigureAwait(false);
        return checks;
    }

    // The recorded integration user and the Dataverse user of each identity synchronization writes as: every one of them
    // writes the synchronized records, so each must be what the article asks for.
    private async Task CheckIntegrationUserAsync(CheckSink add, CancellationToken cancellationToken)
    {
        const string area = "Integration user";
        const string create = "New-IntegrationUser -ApplicationId <app registration id>   # or: -UserPrincipalName <dedicated user>";
        var recorded = Guid.TryParse(_connection.Store.Settings.Get(SettingKeys.IntegrationUserId), out var userId) ? userId : (Guid?)null;
        if (recorded is null)
        {
            add(area, "Is set up", "(none)", CheckStatus.Fail, "No integration user is recorded for this connection: CrmSync would write as the connected account.", create);
        }

        foreach (var id in new[] { recorded }.OfType<Guid>().Concat(_connection.SyncDataverseUserIds).Distinct())
        {
            await CheckIntegrationUserAsync(add, id, create, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CheckIntegrationUserAsync(CheckSink add, Guid userId, string create, CancellationToken cancellationToken)
    {
        const string area = "Integration user";
        var user = await Dataverse.FindUserAsync($"systemuserid eq {userId}", cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            add(area, "Exists in Dataverse", userId.ToString(), CheckStatus.Fail, "The recorded integration user no longer exists.", create);
            return;
        }

        var name = user.DomainName ?? user.FullName ?? userId.ToString();
        var rerun = user.ApplicationId is { } app ? $"New-IntegrationUser -ApplicationId {app}" : $"New-IntegrationUser -UserPrincipalName {user.DomainName}";
        add(area, "Exists in Dataverse", name, CheckStatus.Pass, $"systemuser {user.SystemUserId}.");
        add(area, "Is an application user or licensed", name, user.ApplicationId is not null || user.IsLicensed ? CheckStatus.Pass : CheckStatus.Fail,
            user.ApplicationId is not null ? "Application user: no license needed." : user.IsLicensed ? "Licensed." : "Not licensed.", rerun);
        add(area, "Is non-interactive", name, user.AccessMode == DataverseUser.NonInteractive ? CheckStatus.Pass : CheckStatus.Fail, $"accessmode {user.AccessMode}.", rerun);
        add(area, "Is enabled", name, user.IsDisabled ? CheckStatus.Fail : CheckStatus.Pass, user.IsDisabled ? "Disabled." : "Enabled.", "Enable the user in the Power Platform admin center.");
        var roles = await Dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
        add(area, "Is not an administrator", name, roles.Contains(SecurityRoles.SystemAdministrator, StringComparer.OrdinalIgnoreCase) ? CheckStatus.Fail : CheckStatus.Pass, $"Roles: {Join(roles)}.",
            "Remove the System Administrator role from the integration user (changes it makes are never synchronized), or use a dedicated account.");
        add(area, $"Holds {SecurityRoles.IntegrationRole}", name, roles.Contains(SecurityRoles.IntegrationRole, StringComparer.OrdinalIgnoreCase) ? CheckStatus.Pass : CheckStatus.Fail, $"Roles: {Join(roles)}.", rerun);
    }

    // The Business Central side of each integration identity that signs in there: every table the mappings use, read as it.
    private async Task CheckBusinessCentralAccessAsync(CheckSink add, CancellationToken cancellationToken)
    {
        if (_connection.SyncIdentity is null || !_connection.SyncChecks.Any(c => c.Service == ServiceKind.BusinessCentral && c.Succeeded))
        {
            return;
        }

        var pooled = _connection.SyncIdentities.Count > 1;
        var entitySets = new MappingCatalog(_connection.Store).GetAll().Select(m => m.BcEntitySet);
        foreach (var access in await _connection.CheckBusinessCentralAccessAsync(entitySets, cancellationToken).ConfigureAwait(false))
        {
            var page = $"In Business Central, search for Microsoft Entra Applications, open the entry with Client ID {access.ClientId ?? access.Identity} " +
                "(New if there is none; State: Enabled; Grant Consent), and add permission sets that read and write customers, vendors, contacts, currencies and salespeople " +
                $"for company '{_connection.CompanyName}' (for example D365 BUS FULL ACCESS; never SUPER).";
            add("Business Central", "Integration identity can use", pooled ? $"{access.EntitySet} as {access.Identity}" : access.EntitySet,
                access.Succeeded ? CheckStatus.Pass : CheckStatus.Fail, access.Detail, access.Succeeded ? null : page);
        }
    }

    private async Task CheckSalespeopleAsync(CheckSink add, CancellationToken cancellationToken)
    {
        const string area = "Salespeople";
        var store = _connection.Store;
        foreach (var (id, salespersonCode, _) in await SalespersonImport.LoadSalespeopleAsync(_connection.BusinessCentral, cancellationToken).ConfigureAwait(false))
        {
            var code = string.IsNullOrEmpty(salespersonCode) ? id.ToString() : salespersonCode;
            var coupling = store.Couplings.GetByBcId(StandardMappings.Salespeople, id);
            if (coupling is null)
            {
                add(area, "Is coupled to a Dataverse user", code, CheckStatus.Warning, "Not coupled: records owned by this salesperson keep their owner in Dataverse.",
                    $"Import-Salesperson -Path <csv with a 'Salesperson Code' column>   # or: New-IntegrationCoupling SALESPEOPLE -BcId {id} -DataverseId <systemuserid>");
                continue;
            }

            var user = await Dataverse.FindUserAsync($"systemuserid eq {coupling.DataverseId}", cancellationToken).ConfigureAwait(false);
            if (user is null)
            {
                add(area, "Is coupled to a Dataverse user", code, CheckStatus.Fail, $"Coupled to {coupling.DataverseId}, which no longer exists.", $"Remove-IntegrationCoupling SALESPEOPLE -BcId {id}");
                continue;
            }

            var name = $"{code} ({user.DomainName ?? user.FullName})";
            add(area, "Is coupled to a Dataverse user", name, CheckStatus.Pass, $"systemuser {user.SystemUserId}.");
            add(area, "Is licensed", name, user.IsLicensed ? CheckStatus.Pass : CheckStatus.Fail, user.IsLicensed ? "Licensed." : "Not licensed.", "Import-Salesperson (assigns the license) or assign it in the Microsoft 365 admin center.");
            var roles = await Dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
            add(area, $"Holds {SecurityRoles.SalespersonRole}", name, roles.Contains(SecurityRoles.SalespersonRole, StringComparer.OrdinalIgnoreCase) ? CheckStatus.Pass : CheckStatus.Fail, $"Roles: {Join(roles)}.", "Import-Salesperson (gives the role in the user's business unit).");
        }
    }

    private static string Join(IReadOnlyList<string> roles) => roles.Count == 0 ? "(none)" : string.Join(", ", roles);
}
