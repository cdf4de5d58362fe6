using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CrmSync.Auth;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Entra;
using CrmSync.Sync;

namespace CrmSync.Accounts;

/// <summary>What New-IntegrationUser should set up.</summary>
public sealed record IntegrationUserRequest
{
    /// <summary>User mode: the Entra user (created when missing).</summary>
    public string? UserPrincipalName { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Two-letter country code; needed to license a new user.</summary>
    public string? UsageLocation { get; init; }

    /// <summary>The new user's password; generated when omitted.</summary>
    public SecretText? Password { get; init; }

    /// <summary>The license: Dynamics 365 Customer Engagement plan by default (reference/domain.md §F.2).</summary>
    public string SkuPartNumber { get; init; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Application-user mode (current BC online practice): the app registration's client id.</summary>
    public Guid? ApplicationId { get; init; }

    public IReadOnlyList<string> Roles { get; init; } = new[] { AccountSetup.IntegrationRole };

    /// <summary>How long to wait for a new licensed user to appear in Dataverse.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    public bool ReturnPassword { get; init; }
}

/// <summary>
/// Sets up the accounts the integration needs (reference/domain.md headline findings, §D.8, §F, §H.1):
/// the admin's roles, the integration user (a licensed non-interactive user or an application user),
/// salespeople, and the readiness check.
/// </summary>
public sealed partial class AccountSetup
{
    public const string SystemAdministrator = "System Administrator";
    public const string SystemCustomizer = "System Customizer";
    public const string IntegrationRole = "Business Central Dataverse Integration";
    public const string SalespersonRole = "Salesperson";

    private readonly CrmSyncConnection _connection;
    private readonly ISetupObserver _observer;

    public AccountSetup(CrmSyncConnection connection, ISetupObserver observer)
    {
        _connection = connection;
        _observer = observer;
    }

    private DataverseClient Dataverse => _connection.Dataverse;

    // The roles of a business unit, read once per setup call (an import gives hundreds of users the same role).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, Task<IReadOnlyList<DataverseRole>>> _rolesByBusinessUnit = new();

    private DirectoryClient Directory => _connection.Directory;

    // ---- The integration user -------------------------------------------------------------------

    public async Task<IntegrationUserResult> EnsureIntegrationUserAsync(IntegrationUserRequest request, CancellationToken cancellationToken)
    {
        if (request.ApplicationId is { } applicationId)
        {
            return await EnsureApplicationUserAsync(request, applicationId, cancellationToken).ConfigureAwait(false);
        }

        var upn = request.UserPrincipalName ?? throw new CrmSyncException("IntegrationUserMissing", CrmSyncErrorKind.InvalidArgument, "Give -UserPrincipalName (a licensed, non-interactive user) or -ApplicationId (an application user).");
        var steps = new List<SetupStep>();
        await RefuseAdministratorAsync($"domainname eq '{Escape(upn)}'", upn, cancellationToken).ConfigureAwait(false);
        steps.Add(new SetupStep("Check the account", StepOutcome.Done, $"{upn} is not the connected account and holds no System Administrator role."));

        // 1. The Entra user.
        string? password = null;
        var user = await Directory.FindUserAsync(upn, cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            steps.Add(new SetupStep("Create the Entra user", StepOutcome.AlreadyDone, $"{upn} exists ({user.Id})."));
        }
        else if (!_observer.ShouldProcess(upn, "Create the Entra user"))
        {
            return WhatIfResult(UserMode, upn, null, steps);
        }
        else
        {
            var secret = request.Password ?? new SecretText(password = GeneratePassword());
            user = await Directory.CreateUserAsync(new NewDirectoryUser
            {
                UserPrincipalName = upn,
                DisplayName = request.DisplayName ?? "Business Central Integration",
                UsageLocation = request.UsageLocation,
                Password = secret,
            }, cancellationToken).ConfigureAwait(false);
            steps.Add(new SetupStep("Create the Entra user", StepOutcome.Done, $"Created {upn} ({user.Id})."));
        }

        // 2. The license.
        var license = await EnsureLicenseAsync(user, request.SkuPartNumber, request.UsageLocation, cancellationToken).ConfigureAwait(false);
        steps.Add(license);
        if (license.Outcome is StepOutcome.Failed or StepOutcome.WouldDo)
        {
            return Result(UserMode, upn, null, user.Id, null, steps, password, request);
        }

        // 3. Dataverse's user sync.
        var appeared = await WaitForDataverseUsersAsync(new[] { user.Id }, request.Timeout, request.PollInterval, (_, waited) =>
            _observer.Progress("Waiting for Dataverse's user sync", $"{upn}: {waited.TotalSeconds:0} of {request.Timeout.TotalSeconds:0} s", (int)(100 * waited.TotalSeconds / request.Timeout.TotalSeconds)), cancellationToken).ConfigureAwait(false);
        if (appeared.GetValueOrDefault(user.Id) is not { } systemUser)
        {
            steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.Failed,
                $"{upn} did not appear in Dataverse within {request.Timeout.TotalSeconds:0} s. Licensed users are added by the environment's user sync: add the user in the Power Platform admin center, or run New-IntegrationUser again later — it continues where it stopped."));
            return Result(UserMode, upn, null, user.Id, null, steps, password, request);
        }

        steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.AlreadyDone, $"systemuser {systemUser.SystemUserId}."));
        await FinishIntegrationUserAsync(systemUser, upn, request, steps, cancellationToken).ConfigureAwait(false);
        return Result(UserMode, upn, null, user.Id, systemUser.SystemUserId, steps, password, request);
    }

    private async Task<IntegrationUserResult> EnsureApplicationUserAsync(IntegrationUserRequest request, Guid applicationId, CancellationToken cancellationToken)
    {
        var steps = new List<SetupStep>();
        var target = $"application {applicationId}";
        if (Guid.TryParse(_connection.Identity?.Split(' ').Last(), out var connected) && connected == applicationId)
        {
            throw AdministratorRefused(target, "it is the application you are connected as (the setup account)");
        }

        await RefuseAdministratorAsync($"applicationid eq {applicationId}", target, cancellationToken).ConfigureAwait(false);
        steps.Add(new SetupStep("Check the account", StepOutcome.Done, $"{target} is not the connected account and holds no System Administrator role."));

        var user = await Dataverse.FindUserAsync($"applicationid eq {applicationId}", cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            steps.Add(new SetupStep("Create the application user", StepOutcome.AlreadyDone, $"systemuser {user.SystemUserId}."));
        }
        else if (!_observer.ShouldProcess(target, "Create the application user in Dataverse"))
        {
            return WhatIfResult(ApplicationMode, null, applicationId, steps);
        }
        else
        {
            // As BC creates it: "Business Central Integration", in the root business unit (reference/domain.md headline findings).
            var root = await RootBusinessUnitAsync(cancellationToken).ConfigureAwait(false);
            var id = Guid.NewGuid();
            await Dataverse.CreateAsync("systemusers", "systemuserid", id, new JsonObject
            {
                ["applicationid"] = applicationId,
                ["firstname"] = request.DisplayName is null ? "Business Central" : null,
                ["lastname"] = request.DisplayName ?? "Integration",
                ["businessunitid@odata.bind"] = $"/businessunits({root})",
            }, cancellationToken).ConfigureAwait(false);
            user = await Dataverse.FindUserAsync($"systemuserid eq {id}", cancellationToken).ConfigureAwait(false)
                ?? throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, "The new application user could not be read back.");
            steps.Add(new SetupStep("Create the application user", StepOutcome.Done, $"Created systemuser {user.SystemUserId}."));
        }

        await FinishIntegrationUserAsync(user, target, request, steps, cancellationToken).ConfigureAwait(false);
        return Result(ApplicationMode, null, applicationId, null, user.SystemUserId, steps, null, request);
    }

    private async Task FinishIntegrationUserAsync(DataverseUser user, string target, IntegrationUserRequest request, List<SetupStep> steps, CancellationToken cancellationToken)
    {
        // Non-interactive access mode (accessmode = 4): API only, no UI, no paid license (§D.8). Marked as an
        // integration user in both modes, so it is never coupled or synchronized as a salesperson (BC lists only
        // non-integration users as salespeople).
        if (user.AccessMode == DataverseUser.NonInteractive && user.IsIntegrationUser)
        {
            steps.Add(new SetupStep("Set access mode to Non-interactive", StepOutcome.AlreadyDone, "accessmode is 4 (Non-interactive); marked as an integration user."));
        }
        else if (_observer.ShouldProcess(target, "Set access mode to Non-interactive and mark as an integration user"))
        {
            var changes = new JsonObject { ["accessmode"] = DataverseUser.NonInteractive, ["isintegrationuser"] = true };
            await Dataverse.UpdateUserAsync(user.SystemUserId, changes, cancellationToken).ConfigureAwait(false);
            steps.Add(new SetupStep("Set access mode to Non-interactive", StepOutcome.Done, "accessmode set to 4 (Non-interactive); marked as an integration user."));
        }
        else
        {
            steps.Add(new SetupStep("Set access mode to Non-interactive", StepOutcome.WouldDo, "accessmode would be set to 4 and the user marked as an integration user."));
        }

        steps.Add(await EnsureRolesAsync(user, target, request.Roles, "Assign the integration roles", cancellationToken).ConfigureAwait(false));

        var current = _connection.Store.Settings.Get(SettingKeys.IntegrationUserId);
        if (current == user.SystemUserId.ToString())
        {
            steps.Add(new SetupStep("Record the integration user", StepOutcome.AlreadyDone, "Changes it makes are not synchronized back."));
        }
        else if (_observer.ShouldProcess(target, "Record as the integration user of this connection"))
        {
            _connection.Store.Settings.Set(SettingKeys.IntegrationUserId, user.SystemUserId.ToString());
            steps.Add(new SetupStep("Record the integration user", StepOutcome.Done, "Changes it makes are not synchronized back."));
        }
        else
        {
            steps.Add(new SetupStep("Record the integration user", StepOutcome.WouldDo, "It would be recorded in the state file."));
        }
    }

    /// <summary>The integration user must not be the admin: changes it makes are never synchronized (BC docs).</summary>
    private async Task RefuseAdministratorAsync(string filter, string target, CancellationToken cancellationToken)
    {
        var existing = await Dataverse.FindUserAsync(filter, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            return;
        }

        if (existing.SystemUserId == _connection.DataverseUserId)
        {
            throw AdministratorRefused(target, "it is the account you are connected as");
        }

        var roles = await Dataverse.GetUserRoleNamesAsync(existing.SystemUserId, cancellationToken).ConfigureAwait(false);
        if (roles.Contains(SystemAdministrator, StringComparer.OrdinalIgnoreCase))
        {
            throw AdministratorRefused(target, "it holds the System Administrator role");
        }
    }

    private static CrmSyncException AdministratorRefused(string target, string why) =>
        new("IntegrationUserIsAdministrator", CrmSyncErrorKind.InvalidArgument,
            $"{target} cannot be the integration user: {why}. Business Central's setup requires a dedicated integration user that is not an administrator: " +
            "changes made by the integration user are never synchronized, so synchronizing with the admin account hides the admin's own changes and breaks synchronization. Choose a dedicated account.",
            target);

    private async Task<SetupStep> EnsureLicenseAsync(DirectoryUser user, string skuPartNumber, string? usageLocation, CancellationToken cancellationToken) =>
        await EnsureLicenseAsync(user, await FindSkuAsync(skuPartNumber, cancellationToken).ConfigureAwait(false), usageLocation, cancellationToken).ConfigureAwait(false);

    /// <summary>Assigns a license of a subscription already read (an import checks the free seats once, for every row).</summary>
    private async Task<SetupStep> EnsureLicenseAsync(DirectoryUser user, LicenseSku sku, string? usageLocation, CancellationToken cancellationToken)
    {
        const string name = "Assign the license";
        if (user.LicenseSkuIds.Contains(sku.SkuId))
        {
            return new SetupStep(name, StepOutcome.AlreadyDone, $"{user.UserPrincipalName} has {sku.SkuPartNumber}.");
        }

        if (sku.Available <= 0)
        {
            return new SetupStep(name, StepOutcome.Failed, $"No {sku.SkuPartNumber} license is free ({sku.Consumed} of {sku.Enabled} assigned). Free or buy one, then run again.");
        }

        if (!_observer.ShouldProcess(user.UserPrincipalName, $"Assign the {sku.SkuPartNumber} license"))
        {
            return new SetupStep(name, StepOutcome.WouldDo, $"{sku.SkuPartNumber} would be assigned.");
        }

        if (string.IsNullOrEmpty(user.UsageLocation))
        {
            // Like the admin center, default to the tenant's country.
            usageLocation ??= (await Directory.GetOrganizationAsync(cancellationToken).ConfigureAwait(false)).CountryLetterCode;
            if (string.IsNullOrEmpty(usageLocation))
            {
                return new SetupStep(name, StepOutcome.Failed, $"{user.UserPrincipalName} has no usage location, which a license needs, and the tenant has no country. Give -UsageLocation (a two-letter country code).");
            }

            await Directory.SetUsageLocationAsync(user.Id, usageLocation, cancellationToken).ConfigureAwait(false);
        }

        await Directory.AssignLicenseAsync(user.Id, sku.SkuId, cancellationToken).ConfigureAwait(false);
        return new SetupStep(name, StepOutcome.Done, $"Assigned {sku.SkuPartNumber}.");
    }

    private async Task<LicenseSku> FindSkuAsync(string skuPartNumber, CancellationToken cancellationToken)
    {
        var skus = await Directory.GetSubscribedSkusAsync(cancellationToken).ConfigureAwait(false);
        return skus.FirstOrDefault(s => string.Equals(s.SkuPartNumber, skuPartNumber, StringComparison.OrdinalIgnoreCase))
            ?? throw new CrmSyncException("LicenseNotInTenant", CrmSyncErrorKind.ObjectNotFound,
                $"The tenant has no {skuPartNumber} subscription. Its subscriptions: {string.Join(", ", skus.Select(s => $"{s.SkuPartNumber} ({s.Available} free)"))}. Use -SkuPartNumber.", skuPartNumber);
    }

    /// <summary>
    /// Polls Dataverse until each Entra user appears (the environment's user sync adds licensed users) or the
    /// timeout passes; <paramref name="waiting"/> hears how many are missing after how long, between polls.
    /// </summary>
    private async Task<Dictionary<Guid, DataverseUser>> WaitForDataverseUsersAsync(IReadOnlyCollection<Guid> entraIds, TimeSpan timeout, TimeSpan pollInterval, Action<int, TimeSpan> waiting, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, DataverseUser>();
        var started = DateTimeOffset.UtcNow;
        while (true)
        {
            foreach (var id in entraIds.Where(id => !found.ContainsKey(id)).ToList())
            {
                if (await Dataverse.FindUserAsync($"azureactivedirectoryobjectid eq {id}", cancellationToken).ConfigureAwait(false) is { } user)
                {
                    found[id] = user;
                }
            }

            var missing = entraIds.Count(id => !found.ContainsKey(id));
            var waited = DateTimeOffset.UtcNow - started;
            if (missing == 0 || waited >= timeout)
            {
                return found;
            }

            waiting(missing, waited);
            await Task.Delay(pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives a user roles by name, using the copy of each role in the user's business unit (§D.8).</summary>
    private async Task<SetupStep> EnsureRolesAsync(DataverseUser user, string target, IReadOnlyList<string> roleNames, string stepName, CancellationToken cancellationToken)
    {
        var held = await Dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
        var missing = roleNames.Where(r => !held.Contains(r, StringComparer.OrdinalIgnoreCase)).ToList();
        if (missing.Count == 0)
        {
            return new SetupStep(stepName, StepOutcome.AlreadyDone, $"Holds {string.Join(", ", roleNames)}.");
        }

        if (!_observer.ShouldProcess(target, $"Assign the role(s) {string.Join(", ", missing)}"))
        {
            return new SetupStep(stepName, StepOutcome.WouldDo, $"{string.Join(", ", missing)} would be assigned.");
        }

        var roles = await _rolesByBusinessUnit.GetOrAdd(user.BusinessUnitId, unit => Dataverse.GetRolesAsync(unit, cancellationToken: cancellationToken)).ConfigureAwait(false);
        foreach (var name in missing)
        {
            var role = roles.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new CrmSyncException("RoleNotFound", CrmSyncErrorKind.ObjectNotFound,
                    $"The business unit {user.BusinessUnitId} of {target} has no role '{name}'. Roles there: {string.Join(", ", roles.Select(r => r.Name).Distinct())}.", name);
            await Dataverse.AssociateRoleAsync(user.SystemUserId, role.RoleId, cancellationToken).ConfigureAwait(false);
        }

        return new SetupStep(stepName, StepOutcome.Done, $"Assigned {string.Join(", ", missing)} (the copies of the user's business unit).");
    }

    private async Task<Guid> RootBusinessUnitAsync(CancellationToken cancellationToken)
    {
        await foreach (var unit in Dataverse.QueryAsync("businessunits", new DataverseQuery(new[] { "businessunitid" }) { Filter = "_parentbusinessunitid_value eq null" }, cancellationToken).ConfigureAwait(false))
        {
            return Guid.Parse(unit["businessunitid"]!.GetValue<string>());
        }

        return _connection.DataverseBusinessUnitId ?? throw new CrmSyncException("BusinessUnitNotFound", CrmSyncErrorKind.ObjectNotFound, "The organization's root business unit was not found.");
    }

    private const string UserMode = "User";
    private const string ApplicationMode = "Application";

    // Every step of each mode, in order: a result lists the steps not taken as what-if or not reached.
    private static readonly string[] UserModeSteps =
        { "Check the account", "Create the Entra user", "Assign the license", "Wait for the user in Dataverse", "Set access mode to Non-interactive", "Assign the integration roles", "Record the integration user" };

    private static readonly string[] ApplicationModeSteps =
        { "Check the account", "Create the application user", "Set access mode to Non-interactive", "Assign the integration roles", "Record the integration user" };

    private static IntegrationUserResult WhatIfResult(string mode, string? upn, Guid? applicationId, List<SetupStep> steps)
    {
        AddStepsNotTaken(mode, steps, StepOutcome.WouldDo, "What if: not done.");
        return new IntegrationUserResult { Mode = mode, UserPrincipalName = upn, ApplicationId = applicationId, Steps = steps };
    }

    private static IntegrationUserResult Result(string mode, string? upn, Guid? applicationId, Guid? entraId, Guid? systemUserId, List<SetupStep> steps, string? password, IntegrationUserRequest request)
    {
        AddStepsNotTaken(mode, steps, StepOutcome.NotReached, "Not reached: an earlier step did not complete.");
        return new IntegrationUserResult
        {
            Mode = mode, UserPrincipalName = upn, ApplicationId = applicationId, EntraObjectId = entraId, SystemUserId = systemUserId, Steps = steps,
            Password = request.ReturnPassword ? password : null,
        };
    }

    private static void AddStepsNotTaken(string mode, List<SetupStep> steps, StepOutcome outcome, string detail) =>
        steps.AddRange((mode == UserMode ? UserModeSteps : ApplicationModeSteps)
            .Where(name => !steps.Exists(s => s.Name == name))
            .Select(name => new SetupStep(name, outcome, detail)).ToList());

    /// <summary>16 characters from four classes (Entra's complexity rules).</summary>
    internal static string GeneratePassword()
    {
        const string upper = "ABCDEFGHJKLMNPQRSTUVWXYZ", lower = "abcdefghijkmnopqrstuvwxyz", digits = "23456789", symbols = "!@#$%^&*-_=+";
        var all = upper + lower + digits + symbols;
        var chars = new[] { upper, lower, digits, symbols }.Select(set => set[RandomNumberGenerator.GetInt32(set.Length)])
            .Concat(Enumerable.Range(0, 12).Select(_ => all[RandomNumberGenerator.GetInt32(all.Length)])).ToArray();
        RandomNumberGenerator.Shuffle(chars.AsSpan());
        return new string(chars);
    }

    private static string Escape(string value) => value.Replace("'", "''", StringComparison.Ordinal);

    private static bool IsAdminRole(string role) =>
        role.Equals(SystemAdministrator, StringComparison.OrdinalIgnoreCase) || role.Equals(SystemCustomizer, StringComparison.OrdinalIgnoreCase);

    private static bool Holds(IReadOnlyCollection<string> roles, string role) => roles.Contains(role, StringComparer.OrdinalIgnoreCase);

    /// <summary>The roles the admin lacks: System Administrator, System Customizer, and a non-admin role (<paramref name="additionalRole"/>) unless one is held.</summary>
    internal static List<string> MissingAdminRoles(IReadOnlyCollection<string> held, string additionalRole)
    {
        var missing = new[] { SystemAdministrator, SystemCustomizer }.Where(role => !Holds(held, role)).ToList();
        if (held.All(IsAdminRole))
        {
            missing.Add(additionalRole);
        }

        return missing;
    }

    /// <summary>The admin user by sign-in name; by default the user the connection signed in as.</summary>
    private Task<DataverseUser?> FindAdminAsync(string? userPrincipalName, CancellationToken cancellationToken) =>
        Dataverse.FindUserAsync(userPrincipalName is null ? $"systemuserid eq {_connection.DataverseUserId}" : $"domainname eq '{Escape(userPrincipalName)}'", cancellationToken);

    // ---- The admin user's roles -----------------------------------------------------------------

    /// <summary>
    /// Makes the admin user hold what article 1 asks of the admin account: promoted to administrator (System
    /// Administrator), the System Customizer role, and at least one non-admin role such as Sales Manager
    /// (reference/domain.md §H.1). Grants only what is missing. Default user: the one connected.
    /// </summary>
    /// <param name="license">
    /// When the user is not in Dataverse yet: license it through Graph first (the environment's user sync then adds it),
    /// as the article's "promoted to administrator in Sales" presumes a Sales user. Null: stop with the fix instead.
    /// </param>
    public async Task<AdminRoleResult> EnsureAdminRolesAsync(string? userPrincipalName, string additionalRole, AdminLicenseOptions? license, CancellationToken cancellationToken)
    {
        var steps = new List<SetupStep>();
        var user = await FindAdminAsync(userPrincipalName, cancellationToken).ConfigureAwait(false);
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
        var held = await Dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
        var wanted = MissingAdminRoles(held, additionalRole);
        var step = wanted.Count == 0
            ? new SetupStep("Admin roles", StepOutcome.AlreadyDone, $"Holds {string.Join(", ", held)}.")
            : await EnsureRolesAsync(user, target, wanted, "Admin roles", cancellationToken).ConfigureAwait(false);
        var roles = step.Outcome == StepOutcome.Done
            ? await Dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false)
            : held;
        steps.Add(step);
        return new AdminRoleResult { User = target, SystemUserId = user.SystemUserId, Roles = roles, Steps = steps };
    }

    // The admin's Entra user gets the Sales license, then Dataverse's user sync adds it; null when it cannot go on
    // (the steps say why, or what -WhatIf would do).
    private async Task<DataverseUser?> LicenseAdminAsync(string userPrincipalName, AdminLicenseOptions license, List<SetupStep> steps, CancellationToken cancellationToken)
    {
        var entra = await Directory.FindUserAsync(userPrincipalName, cancellationToken).ConfigureAwait(false)
            ?? throw new CrmSyncException("UserNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"There is no Entra user '{userPrincipalName}'. Create it first (Microsoft 365 admin center), then run Grant-IntegrationAdminRole -AssignLicense again.", userPrincipalName);
        var licensed = await EnsureLicenseAsync(entra, license.SkuPartNumber, license.UsageLocation, cancellationToken).ConfigureAwait(false);
        steps.Add(licensed);
        if (licensed.Outcome == StepOutcome.Failed)
        {
            return null;
        }

        if (licensed.Outcome == StepOutcome.WouldDo)
        {
            steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.WouldDo, "What if: not done."));
            steps.Add(new SetupStep("Admin roles", StepOutcome.WouldDo, $"Would grant {SystemAdministrator}, {SystemCustomizer} and a non-admin role."));
            return null;
        }

        var appeared = await WaitForDataverseUsersAsync(new[] { entra.Id }, license.Timeout, license.PollInterval, (_, waited) =>
            _observer.Progress("Waiting for Dataverse's user sync", $"{userPrincipalName}: {waited.TotalSeconds:0} of {license.Timeout.TotalSeconds:0} s", (int)(100 * waited.TotalSeconds / license.Timeout.TotalSeconds)), cancellationToken).ConfigureAwait(false);
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
