using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Engine.Tests.Sync;

public sealed class FullSyncTests
{
    [Fact]
    public async Task Full_sync_creates_and_couples_everything_according_to_each_direction()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var (jobs, observer) = await sandbox.SyncAsync(full: true);

        Assert.Empty(observer.Failures);
        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "VENDOR", "CUSTOMER", "CUSTOMER", "CONTACT", "CONTACT" }, jobs.Select(j => j.MappingName));
        var store = sandbox.Connection.Store;
        // CURRENCY (to Dataverse): EUR matched by ISO code, the other four created.
        Assert.Equal(1, jobs.Job("CURRENCY", SyncDirection.ToIntegrationTable).Coupled);
        Assert.Equal(4, jobs.Job("CURRENCY", SyncDirection.ToIntegrationTable).Inserted);
        Assert.Equal(5, store.Couplings.GetAll("CURRENCY").Count);
        // SALESPEOPLE (from Dataverse): licensed users; AH, JO, LT matched by e-mail; the admin and Olivia created as SP NO. codes.
        var salespeople = store.Couplings.GetAll("SALESPEOPLE");
        Assert.Equal(5, salespeople.Count);
        Assert.Contains(sandbox.Rows("BusinessCentral", BcSchemas.Salespeople), r => (string?)r.Value(sandbox, "BusinessCentral", BcSchemas.Salespeople, "code") == "SP NO. 00001");
        // CUSTOMER: 8 unblocked BC customers to Dataverse; Dataverse customer accounts to BC.
        var customerTo = jobs.Job("CUSTOMER", SyncDirection.ToIntegrationTable);
        Assert.Equal(8, customerTo.Inserted);
        var adatum = sandbox.Bc(BcSchemas.Customers, "number", "C10000");
        var account = store.Couplings.GetByBcId("CUSTOMER", adatum.Id())!;
        var dvAccount = sandbox.Rows("Dataverse", DataverseSchemas.Accounts).Single(r => r.Id() == account.DataverseId);
        Assert.Equal("Adatum Corporation", dvAccount.Value(sandbox, "Dataverse", "accounts", "name"));
        Assert.Equal(3L, dvAccount.Value(sandbox, "Dataverse", "accounts", "customertypecode"));
        Assert.Equal("c0000000-0000-4000-8000-000000000011", ((CrmSync.Sandbox.Core.LookupValue)dvAccount.Value(sandbox, "Dataverse", "accounts", "ownerid")!).Id.ToString());
        // Blocked customers stay out.
        Assert.Null(store.Couplings.GetByBcId("CUSTOMER", sandbox.Bc(BcSchemas.Customers, "number", "C10050").Id()));
        // Dataverse-only customer accounts become BC customers; vendors stay vendors.
        Assert.Contains(sandbox.Rows("BusinessCentral", BcSchemas.Customers), r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "displayName") == "Blue Yonder Airlines");
        Assert.Contains(sandbox.Rows("BusinessCentral", BcSchemas.Vendors), r => (string?)r.Value(sandbox, "BusinessCentral", "vendors", "displayName") == "Tailspin Toys");
        Assert.DoesNotContain(sandbox.Rows("BusinessCentral", BcSchemas.Customers), r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "displayName") == "Tailspin Toys");
        // CONTACT: persons of a company only.
        Assert.Null(store.Couplings.GetByBcId("CONTACT", sandbox.Bc(BcSchemas.Contacts, "displayName", "Kim Abercrombie").Id()));
        Assert.NotNull(store.Couplings.GetByBcId("CONTACT", sandbox.Bc(BcSchemas.Contacts, "displayName", "Helen Ray").Id()));
        Assert.All(jobs, j => Assert.Equal(0, j.Failed));
    }

    [Fact]
    public async Task A_second_full_sync_and_a_modified_sync_right_after_write_nothing_and_idle_cheaply()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        await sandbox.SyncAsync(full: true);
        var versions = sandbox.DataVersions();
        sandbox.Host.Counters.Reset();

        // Writes nothing: no request but reads reaches either service, and no service's data changes version.
        var (second, secondObserver) = await sandbox.SyncAsync(full: true);
        Assert.Empty(secondObserver.Failures);
        Assert.All(second, j => Assert.Equal((0, 0, 0), (j.Inserted, j.Modified, j.Failed)));
        Assert.Empty(sandbox.NonReadRequests());
        Assert.Equal(versions, sandbox.DataVersions());

        // Idles cheaply: right after, a modified-records run asks each service at most once per job, and writes nothing.
        sandbox.Host.Counters.Reset();
        var (modified, _) = await sandbox.SyncAsync();
        Assert.All(modified, j => Assert.Equal((0, 0, 0), (j.Inserted, j.Modified, j.Failed)));
        Assert.Empty(sandbox.NonReadRequests());
        Assert.Equal(versions, sandbox.DataVersions());
        var requests = sandbox.Host.Counters.Requests(DataverseService.ServiceName) + sandbox.Host.Counters.Requests(BcService.ServiceName);
        Assert.InRange(requests, 1, 2 * modified.Count);
    }
}

// Business Central's closing question of a full synchronization, decided by the engine and asked through the observer.
public sealed class FullSyncClosingQuestionTests
{
    private static async Task<(RecordingObserver Observer, bool OnlyCoupledAfter)> RunAsync(SandboxConnection sandbox, CrmSync.Sync.FullSyncOptions options, bool? answer)
    {
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        catalog.Apply(catalog.Plan("CURRENCY", new MappingSettingsChange { SynchOnlyCoupledRecords = true }));
        var observer = new RecordingObserver { ContinueAnswer = answer };
        await CrmSync.Sync.SyncEngine.For(sandbox.Connection).RunFullSyncAsync(new[] { catalog.Get("CURRENCY") }, options, observer, CancellationToken.None);
        return (observer, catalog.Get("CURRENCY").SynchOnlyCoupledRecords);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task The_answer_decides_whether_scheduled_synchronization_keeps_creating_records(bool answer, bool onlyCoupledAfter)
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var (observer, after) = await RunAsync(sandbox, new CrmSync.Sync.FullSyncOptions(), answer);

        Assert.Equal(new[] { "Keep creating new records?" }, observer.Questions);
        Assert.Equal(onlyCoupledAfter, after);
    }

    [Fact]
    public async Task With_nobody_to_answer_the_setting_stays_and_a_warning_names_the_parameter()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var (observer, after) = await RunAsync(sandbox, new CrmSync.Sync.FullSyncOptions(), answer: null);

        Assert.True(after);
        Assert.Contains(observer.Warnings, w => w.Contains("-KeepCreatingNewRecords $true", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task A_decision_given_up_front_is_not_asked(bool keepCreating, bool onlyCoupledAfter)
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var (observer, after) = await RunAsync(sandbox, new CrmSync.Sync.FullSyncOptions { KeepCreatingNewRecords = keepCreating }, answer: !keepCreating);

        Assert.Empty(observer.Questions);
        Assert.Equal(onlyCoupledAfter, after);
    }

    [Fact]
    public async Task A_rehearsal_neither_asks_nor_changes_the_setting()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var (observer, after) = await RunAsync(sandbox, new CrmSync.Sync.FullSyncOptions { Run = new CrmSync.Sync.SyncOptions { WhatIf = true } }, answer: true);

        Assert.Empty(observer.Questions);
        Assert.True(after);
    }
}
