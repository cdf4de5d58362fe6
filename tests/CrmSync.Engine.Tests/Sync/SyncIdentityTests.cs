using CrmSync.Accounts;
using CrmSync.Connections;
using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Engine.Tests.Sync;

// The article: do not synchronize with the administrator account; the integration user's changes are not synchronized
// back; the integration user is never a salesperson.
public sealed class SyncIdentityTests
{
    private static Task<IntegrationUserResult> CreateIntegrationUserAsync(SandboxConnection sandbox) =>
        IntegrationUserSetup.For(sandbox.Connection, new CrmSync.Engine.Tests.Accounts.AcceptAllSetupObserver()).EnsureAsync(
            new IntegrationUserRequest { ApplicationId = sandbox.Instance.IntegrationAppClientId!.Value }, CancellationToken.None);

    [Fact]
    public async Task Without_an_integration_identity_synchronization_is_refused_with_the_fix()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var status = await sandbox.Connection.CheckSyncIdentityAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<CrmSyncException>(() => sandbox.Connection.EnsureSyncIdentityAsync(CancellationToken.None));

        Assert.False(status.Ready);
        Assert.Equal("SyncIdentityMissing", status.ErrorId);
        Assert.Contains("-IntegrationClientId", status.Fix);
        Assert.Equal("SyncIdentityMissing", error.ErrorId);
        Assert.Contains("administrator account", error.Message);
    }

    [Fact]
    public async Task The_integration_identity_is_ready_once_its_application_user_exists_and_every_write_is_then_its_own()
    {
        await using var sandbox = await SandboxConnection.StartAsync(integrationIdentity: true);
        var before = await sandbox.Connection.CheckSyncIdentityAsync(CancellationToken.None);

        await CreateIntegrationUserAsync(sandbox);
        var after = await sandbox.Connection.CheckSyncIdentityAsync(CancellationToken.None);
        var (_, observer) = await sandbox.SyncAsync(full: true);

        Assert.Equal("SyncIdentityNotReady", before.ErrorId);
        Assert.StartsWith($"New-IntegrationUser -ApplicationId {sandbox.Instance.IntegrationAppClientId}", before.Fix, StringComparison.Ordinal);
        Assert.Contains(sandbox.Messages, m => m.StartsWith("WARNING: The integration identity", StringComparison.Ordinal));
        Assert.True(after.Ready, after.Detail);
        Assert.Empty(observer.Failures);
        var writer = sandbox.Connection.SyncDataverseUserId!.Value;
        Assert.NotEqual(sandbox.Connection.DataverseUserId, writer);
        var created = sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Customer).Select(c => c.DataverseId).ToHashSet();
        var accounts = sandbox.Rows("Dataverse", "accounts").Where(r => created.Contains(r.Id())).ToList();
        Assert.NotEmpty(accounts);
        // Rows CrmSync wrote carry the integration identity, never the administrator.
        Assert.Contains(accounts, a => ((LookupValue)a.Value(sandbox, "Dataverse", "accounts", "modifiedby")!).Id == writer);
        Assert.DoesNotContain(accounts, a => ((LookupValue)a.Value(sandbox, "Dataverse", "accounts", "modifiedby")!).Id == sandbox.Connection.DataverseUserId);
    }

    [Fact]
    public async Task An_integration_identity_holding_System_Administrator_is_refused()
    {
        await using var sandbox = await SandboxConnection.StartAsync(integrationIdentity: true);
        var user = await CreateIntegrationUserAsync(sandbox);
        var admin = sandbox.Host.Dataverse.Table("roles").Rows.First(r => (string?)r.Values[1] == SecurityRoles.SystemAdministrator);
        sandbox.Host.Dataverse.AssignRole(user.SystemUserId!.Value, (Guid)admin.Values[0]!);

        var error = await Assert.ThrowsAsync<CrmSyncException>(() => sandbox.Connection.EnsureSyncIdentityAsync(CancellationToken.None));

        Assert.Equal("SyncIdentityIsAdministrator", error.ErrorId);
        Assert.Equal(CrmSyncErrorKind.PermissionDenied, error.Kind);
    }

    [Theory]
    [InlineData("CUSTOMER", "accounts", "websiteurl", false)]
    [InlineData("CUSTOMER", "accounts", "websiteurl", true)]
    [InlineData("VENDOR", "accounts", "websiteurl", false)]
    [InlineData("CONTACT", "contacts", "telephone1", false)]
    [InlineData("CONTACT", "contacts", "telephone1", true)]
    public async Task A_change_the_integration_identity_makes_in_Dataverse_never_reaches_Business_Central(string mapping, string entitySet, string column, bool fullSync)
    {
        await using var sandbox = await SandboxConnection.StartAsync(integrationIdentity: true);
        await CreateIntegrationUserAsync(sandbox);
        var (_, first) = await sandbox.SyncAsync(full: true);
        Assert.Empty(first.Failures);
        var coupling = sandbox.Connection.Store.Couplings.GetAll(mapping).First();

        sandbox.ChangeDv(sandbox.Host.Sample!.IntegrationApp, entitySet, coupling.DataverseId, new Dictionary<string, object> { [column] = "+1 INTEGRATION ECHO" });
        var (jobs, observer) = await sandbox.SyncAsync(full: fullSync, names: mapping);

        Assert.Empty(observer.Failures);
        Assert.Equal(0, jobs.Where(j => j.Direction == SyncDirection.FromIntegrationTable).Sum(j => j.Modified + j.Inserted));
        var bcRow = sandbox.Rows("BusinessCentral", mapping == "CONTACT" ? "contacts" : mapping == "VENDOR" ? "vendors" : "customers").Single(r => r.Id() == coupling.BcId);
        Assert.DoesNotContain("INTEGRATION ECHO", string.Join("|", bcRow.Values.Select(v => v?.ToString())));
    }

    [Fact]
    public async Task Service_identities_are_never_synchronized_as_salespeople()
    {
        await using var sandbox = await SandboxConnection.StartAsync(integrationIdentity: true);
        await CreateIntegrationUserAsync(sandbox);

        var (_, observer) = await sandbox.SyncAsync(full: true, whatIf: true, names: StandardMappings.Salespeople);

        // The setup and integration applications are application users: never planned as Salesperson/Purchaser.
        Assert.NotEmpty(observer.Asked);
        Assert.DoesNotContain(observer.Asked, a => a.Target.Contains("CrmSync Setup", StringComparison.Ordinal) || a.Target.Contains("Business Central Integration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_integration_identity_Business_Central_does_not_know_is_not_ready_and_the_fix_names_the_page()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var app = sandbox.AddApplication("No BC access", "no-bc-secret", dataverseRole: SecurityRoles.IntegrationRole, businessCentral: false);
        using var connection = await CrmSyncConnection.ConnectAsync(sandbox.Settings() with
        {
            StatePath = sandbox.StatePath + ".nobc",
            IntegrationCredential = sandbox.Instance.IntegrationCredential(app.ClientId, "no-bc-secret"),
        });

        var status = await connection.CheckSyncIdentityAsync(CancellationToken.None);

        Assert.Equal("SyncIdentityNotReady", status.ErrorId);
        Assert.Contains("Business Central", status.Detail);
        Assert.Contains("Microsoft Entra Applications", status.Fix);
    }
}

public sealed class JobCostTests
{
    [Fact]
    public async Task Each_job_records_the_requests_it_sent_and_they_add_up_to_what_the_services_received()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        sandbox.Host.Counters.Reset();

        var (jobs, observer) = await sandbox.SyncAsync(full: true);

        Assert.Empty(observer.Failures);
        Assert.All(jobs, j => Assert.True(j.DataverseRequests + j.BusinessCentralRequests > 0, $"{j.MappingName} {j.Direction} sent nothing"));
        Assert.Equal(sandbox.Host.Counters.Requests(DataverseService.ServiceName), jobs.Sum(j => j.DataverseRequests));
        Assert.Equal(sandbox.Host.Counters.Requests(CrmSync.Sandbox.BusinessCentral.BcService.ServiceName), jobs.Sum(j => j.BusinessCentralRequests));
        var stored = sandbox.Connection.Store.Jobs.Get(jobs[0].Id)!;
        Assert.Equal((jobs[0].DataverseRequests, jobs[0].BusinessCentralRequests), (stored.DataverseRequests, stored.BusinessCentralRequests));
    }
}
