using System.Text.Json.Nodes;
using CrmSync.Auth;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Entra;
using CrmSync.State;
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

    /// <summary>The license: Dynamics 365 Customer Engagement plan by default (docs/reference/integration.md §F.2).</summary>
    public string SkuPartNumber { get; init; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Application-user mode (current BC online practice): the app registration's client id.</summary>
    public Guid? ApplicationId { get; init; }

    public IReadOnlyList<string> Roles { get; init; } = new[] { SecurityRoles.IntegrationRole };

    /// <summary>How long to wait for a new licensed user to appear in Dataverse.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    public bool ReturnPassword { get; init; }
}

/// <summary>
/// New-IntegrationUser: the dedicated, non-administrator account synchronization writes as — a licensed
/// non-interactive user (Graph creates and licenses it) or an application user — with the integration roles,
/// recorded in the state file (docs/reference/integration.md, key findings, §D.8, §F).
/// </summary>
internal sealed class IntegrationUserSetup(DataverseClient dataverse, DirectoryClient directory, SettingStore settings, ISetupObserver observer, ConnectedAccount connected)
{
    private readonly UserProvisioning _provisioning = new UserProvisioning(dataverse, directory, observer);

    /// <summary>The setup for a connection's services, as its setup account, recording into its state file.</summary>
    public static IntegrationUserSetup For(CrmSyncConnection connection, ISetupObserver observer) =>
        new(connection.Dataverse, connection.Directory, connection.Store.Settings, observer, ConnectedAccount.Of(connection));

    public async Task<IntegrationUserResult> EnsureAsync(IntegrationUserRequest request, CancellationToken cancellationToken)
    {
        if (request.ApplicationId is { } applicationId)
        {
            return await EnsureApplicationUserAsync(request, applicationId, cancellationToken).ConfigureAwait(false);
        }

        var upn = request.UserPrincipalName ?? throw new CrmSyncException("IntegrationUserMissing", CrmSyncErrorKind.InvalidArgument, "Give -UserPrincipalName (a licensed, non-interactive user) or -ApplicationId (an application user).");
        var steps = new List<SetupStep>();
        await RefuseAdministratorAsync($"domainname eq {UserProvisioning.Quote(upn)}", upn, cancellationToken).ConfigureAwait(false);
        steps.Add(new SetupStep("Check the account", StepOutcome.Done, $"{upn} is not the connected account and holds no System Administrator role."));

        // 1. The Entra user.
        string? password = null;
        var user = await directory.FindUserAsync(upn, cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            steps.Add(new SetupStep("Create the Entra user", StepOutcome.AlreadyDone, $"{upn} exists ({user.Id})."));
        }
        else if (!observer.ShouldProcess(upn, "Create the Entra user"))
        {
            return WhatIfResult(UserMode, upn, null, steps);
        }
        else
        {
            var secret = request.Password ?? new SecretText(password = UserProvisioning.GeneratePassword());
            user = await directory.CreateUserAsync(new NewDirectoryUser
            {
                UserPrincipalName = upn,
                DisplayName = request.DisplayName ?? "Business Central Integration",
                UsageLocation = request.UsageLocation,
                Password = secret,
            }, cancellationToken).ConfigureAwait(false);
            steps.Add(new SetupStep("Create the Entra user", StepOutcome.Done, $"Created {upn} ({user.Id})."));
        }

        // 2. The license.
        var license = await _provisioning.EnsureLicenseAsync(user, request.SkuPartNumber, request.UsageLocation, cancellationToken).ConfigureAwait(false);
        steps.Add(license);
        if (license.Outcome is StepOutcome.Failed or StepOutcome.WouldDo)
        {
            return Result(UserMode, upn, null, user.Id, null, steps, password, request);
        }

        // 3. Dataverse's user sync.
        var appeared = await _provisioning.WaitForDataverseUsersAsync(new[] { user.Id }, request.Timeout, request.PollInterval, (_, waited) =>
            observer.Progress("Waiting for Dataverse's user sync", $"{upn}: {waited.TotalSeconds:0} of {request.Timeout.TotalSeconds:0} s", (int)(100 * waited.TotalSeconds / request.Timeout.TotalSeconds)), cancellationToken).ConfigureAwait(false);
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
        if (Guid.TryParse(connected.Identity?.Split(' ').Last(), out var connectedApp) && connectedApp == applicationId)
        {
            throw AdministratorRefused(target, "it is the application you are connected as (the setup account)");
        }

        await RefuseAdministratorAsync($"applicationid eq {applicationId}", target, cancellationToken).ConfigureAwait(false);
        steps.Add(new SetupStep("Check the account", StepOutcome.Done, $"{target} is not the connected account and holds no System Administrator role."));

        var user = await dataverse.FindUserAsync($"applicationid eq {applicationId}", cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            steps.Add(new SetupStep("Create the application user", StepOutcome.AlreadyDone, $"systemuser {user.SystemUserId}."));
        }
        else if (!observer.ShouldProcess(target, "Create the application user in Dataverse"))
        {
            return WhatIfResult(ApplicationMode, null, applicationId, steps);
        }
        else
        {
            // As BC creates it: "Business Central Integration", in the root business unit (docs/reference/integration.md, key findings).
            var root = await RootBusinessUnitAsync(cancellationToken).ConfigureAwait(false);
            var id = Guid.NewGuid();
            await dataverse.CreateAsync("systemusers", "systemuserid", id, new JsonObject
            {
                ["applicationid"] = applicationId,
                ["firstname"] = request.DisplayName is null ? "Business Central" : null,
                ["lastname"] = request.DisplayName ?? "Integration",
                ["businessunitid@odata.bind"] = $"/businessunits({root})",
            }, cancellationToken).ConfigureAwait(false);
            user = await dataverse.FindUserAsync($"systemuserid eq {id}", cancellationToken).ConfigureAwait(false)
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
        else if (observer.ShouldProcess(target, "Set access mode to Non-interactive and mark as an integration user"))
        {
            var changes = new JsonObject { ["accessmode"] = DataverseUser.NonInteractive, ["isintegrationuser"] = true };
            await dataverse.UpdateUserAsync(user.SystemUserId, changes, cancellationToken).ConfigureAwait(false);
            steps.Add(new SetupStep("Set access mode to Non-interactive", StepOutcome.Done, "accessmode set to 4 (Non-interactive); marked as an integration user."));
        }
        else
        {
            steps.Add(new SetupStep("Set access mode to Non-interactive", StepOutcome.WouldDo, "accessmode would be set to 4 and the user marked as an integration user."));
        }

        steps.Add(await _provisioning.EnsureRolesAsync(user, target, request.Roles, "Assign the integration roles", cancellationToken).ConfigureAwait(false));

        var current = settings.Get(SettingKeys.IntegrationUserId);
        if (current == user.SystemUserId.ToString())
        {
            steps.Add(new SetupStep("Record the integration user", StepOutcome.AlreadyDone, "Changes it makes are not synchronized back."));
        }
        else if (observer.ShouldProcess(target, "Record as the integration user of this connection"))
        {
            settings.Set(SettingKeys.IntegrationUserId, user.SystemUserId.ToString());
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
        var existing = await dataverse.FindUserAsync(filter, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            return;
        }

        if (existing.SystemUserId == connected.DataverseUserId)
        {
            throw AdministratorRefused(target, "it is the account you are connected as");
        }

        var roles = await dataverse.GetUserRoleNamesAsync(existing.SystemUserId, cancellationToken).ConfigureAwait(false);
        if (roles.Contains(SecurityRoles.SystemAdministrator, StringComparer.OrdinalIgnoreCase))
        {
            throw AdministratorRefused(target, "it holds the System Administrator role");
        }
    }

    private static CrmSyncException AdministratorRefused(string target, string why) =>
        new("IntegrationUserIsAdministrator", CrmSyncErrorKind.InvalidArgument,
            $"{target} cannot be the integration user: {why}. Business Central's setup requires a dedicated integration user that is not an administrator: " +
            "changes made by the integration user are never synchronized, so synchronizing with the admin account hides the admin's own changes and breaks synchronization. Choose a dedicated account.",
            target);

    private async Task<Guid> RootBusinessUnitAsync(CancellationToken cancellationToken)
    {
        await foreach (var unit in dataverse.QueryAsync("businessunits", new DataverseQuery(new[] { "businessunitid" }) { Filter = "_parentbusinessunitid_value eq null" }, cancellationToken).ConfigureAwait(false))
        {
            return Guid.Parse(unit["businessunitid"]!.GetValue<string>());
        }

        return connected.BusinessUnitId ?? throw new CrmSyncException("BusinessUnitNotFound", CrmSyncErrorKind.ObjectNotFound, "The organization's root business unit was not found.");
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
}
