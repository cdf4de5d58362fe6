using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Entra;
using CrmSync.Sync;

namespace CrmSync.Accounts;

/// <summary>
/// Grant-IntegrationAdminRole: the admin user holds what article 1 asks of the admin account — System Administrator,
/// System Customizer and a non-admin role — licensed first through Graph when it is not in Dataverse yet.
/// </summary>
internal sealed class AdminRoleSetup(DataverseClient dataverse, DirectoryClient directory, ISetupObserver observer, Guid? connectedUserId, string connectedAs, State.SettingStore? settings = null)
{
    private readonly UserProvisioning _provisioning = new UserProvisioning(dataverse, directory, observer);

    /// <summary>The setup for a connection's services, as its setup account.</summary>
    public static AdminRoleSetup For(CrmSyncConnection connection, ISetupObserver observer) =>
        new(connection.Dataverse, connection.Directory, observer, connection.SignedInPersonId, connection.Identity ?? connection.Name, connection.Store.Settings);

    /// <summary>The admin user by sign-in name; by default the person the connection signed in as (null: it signs in as an application).</summary>
    internal static Task<DataverseUser?> FindAdminAsync(DataverseClient dataverse, string? userPrincipalName, Guid? connectedUserId, CancellationToken cancellationToken) =>
        userPrincipalName is null && connectedUserId is null
            ? Task.FromResult<DataverseUser?>(null)
            : dataverse.FindUserAsync(userPrincipalName is null ? $"systemuserid eq {connectedUserId}" : $"domainname eq {UserProvisioning.Quote(userPrincipalName)}", cancellationToken);

    /// <summary>
    /// The admin account is a person (the Business Central article's "user account ... promoted to administrator"): an
    /// application signing in is never it, so without a user signed in the admin must be named.
    /// </summary>
    internal static CrmSyncException AdminUserRequired(string connectedAs) => new("AdminUserRequired", CrmSyncErrorKind.InvalidArgument,
        $"The connection signs in as {connectedAs}, an application, not as the person who administers Business Central. Give that person's sign-in name: -UserPrincipalName admin@contoso.com (or connect with -DeviceCode as that person).", connectedAs);

    /// <summary>
    /// Makes the admin user hold what article 1 asks of the admin account: promoted to administrator (System
    /// Administrator), the System Customizer role, and at least one non-admin role such as Sales Manager
    /// (docs/reference/integration.md §H.1). Grants only what is missing. Default user: the one connected.
    /// </summary>
    /// <param name="license">
    /// When the user is not in Dataverse yet: license it through Graph first (the environment's user sync then adds it),
    /// as the article's "promoted to administrator in Sales" presumes a Sales user. Null: stop with the fix instead.
    /// </param>
    public async Task<AdminRoleResult> EnsureAsync(string? userPrincipalName, string additionalRole, AdminLicenseOptions? license, CancellationToken cancellationToken)
    {
        if (userPrincipalName is null && connectedUserId is null)
        {
            throw AdminUserRequired(connectedAs);
        }

        var steps = new List<SetupStep>();
        var user = await FindAdminAsync(dataverse, userPrincipalName, connectedUserId, cancellationToken).ConfigureAwait(false);
        if (user is null && userPrincipalName is not null && license is not null)
        {
            var licensing = await LicenseAdminAsync(userPrincipalName, license, steps, cancellationToken).ConfigureAwait(false);
            if (licensing is null)
            {
                return new AdminRoleResult { User = userPrincipalName, Steps = steps };
            }

            user = licensing;
        }

        if (user is null)
        {
            throw new CrmSyncException("UserNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"There is no Dataverse user '{userPrincipalName}'. The environment adds users once they hold a Sales license: add -AssignLicense to license it now (Graph), or license it in the Microsoft 365 admin center.", userPrincipalName);
        }

        var target = user.DomainName ?? user.FullName ?? user.SystemUserId.ToString();
        var held = await dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
        var wanted = SecurityRoles.MissingAdminRoles(held, additionalRole);
        var step = wanted.Count == 0
            ? new SetupStep("Admin roles", StepOutcome.AlreadyDone, $"Holds {string.Join(", ", held)}.")
            : await _provisioning.EnsureRolesAsync(user, target, wanted, "Admin roles", cancellationToken).ConfigureAwait(false);
        var roles = step.Outcome == StepOutcome.Done
            ? await dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false)
            : held;
        steps.Add(step);
        if (step.Outcome is StepOutcome.Done or StepOutcome.AlreadyDone && user.DomainName is { } remembered)
        {
            // Test-IntegrationSetup checks this person from now on.
            settings?.Set(SettingKeys.AdminUserPrincipalName, remembered);
        }

        return new AdminRoleResult { User = target, SystemUserId = user.SystemUserId, Roles = roles, Steps = steps };
    }

    // The admin's Entra user gets the Sales license, then Dataverse's user sync adds it; null when it cannot go on
    // (the steps say why, or what -WhatIf would do).
    private async Task<DataverseUser?> LicenseAdminAsync(string userPrincipalName, AdminLicenseOptions license, List<SetupStep> steps, CancellationToken cancellationToken)
    {
        var entra = await directory.FindUserAsync(userPrincipalName, cancellationToken).ConfigureAwait(false)
            ?? throw new CrmSyncException("UserNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"There is no Entra user '{userPrincipalName}'. Create it first (Microsoft 365 admin center), then run Grant-IntegrationAdminRole -AssignLicense again.", userPrincipalName);
        var licensed = await _provisioning.EnsureLicenseAsync(entra, license.SkuPartNumber, license.UsageLocation, cancellationToken).ConfigureAwait(false);
        steps.Add(licensed);
        if (licensed.Outcome == StepOutcome.Failed)
        {
            return null;
        }

        if (licensed.Outcome == StepOutcome.WouldDo)
        {
            steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.WouldDo, "What if: not done."));
            steps.Add(new SetupStep("Admin roles", StepOutcome.WouldDo, $"Would grant {SecurityRoles.SystemAdministrator}, {SecurityRoles.SystemCustomizer} and a non-admin role."));
            return null;
        }

        var appeared = await _provisioning.WaitForDataverseUsersAsync(new[] { entra.Id }, license.Timeout, license.PollInterval, (_, waited) =>
            observer.Progress("Waiting for Dataverse's user sync", $"{userPrincipalName}: {waited.TotalSeconds:0} of {license.Timeout.TotalSeconds:0} s", (int)(100 * waited.TotalSeconds / license.Timeout.TotalSeconds)), cancellationToken).ConfigureAwait(false);
        if (appeared.GetValueOrDefault(entra.Id) is not { } user)
        {
            steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.Failed,
                $"{userPrincipalName} did not appear in Dataverse within {license.Timeout.TotalSeconds:0} s. Run Grant-IntegrationAdminRole again later — it continues where it stopped."));
            return null;
        }

        steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.Done, $"systemuser {user.SystemUserId}."));
        return user;
    }
}
