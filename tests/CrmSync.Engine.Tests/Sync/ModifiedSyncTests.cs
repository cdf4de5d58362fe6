using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

public sealed class ModifiedSyncTests
{
    /// <summary>Records what the connection sends to Dataverse's $batch.</summary>
    private sealed class BatchRecorder : DelegatingHandler
    {
        public BatchRecorder()
            : base(new SocketsHttpHandler { UseCookies = false })
        {
        }

        public List<string> Batches { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/$batch", StringComparison.Ordinal) && request.Content is not null)
            {
                var body = await request.Content.ReadAsStringAsync(cancellationToken);
                lock (Batches)
                {
                    Batches.Add(body);
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    private static async Task<SandboxConnection> SyncedAsync(BatchRecorder? recorder = null)
    {
        var sandbox = await SandboxConnection.StartAsync(adjust: recorder is null ? null : s => s with { InnerHandlerFactory = () => recorder });
        var (_, observer) = await sandbox.SyncAsync(full: true);
        Assert.Empty(observer.Failures);
        return sandbox;
    }

    [Fact]
    public async Task A_BC_customer_edit_reaches_Dataverse_with_only_the_changed_column()
    {
        var recorder = new BatchRecorder();
        await using var sandbox = await SyncedAsync(recorder);
        var customer = sandbox.Bc(BcSchemas.Customers, "number", "C10010");
        recorder.Batches.Clear();

        sandbox.ChangeBc(BcSchemas.Customers, customer.Id(), new { phoneNumber = "+1 555 0199" });
        var (jobs, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Equal(1, jobs.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Modified);
        var account = sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", customer.Id())!.DataverseId;
        Assert.Equal("+1 555 0199", sandbox.Rows("Dataverse", "accounts").Single(r => r.Id() == account).Value(sandbox, "Dataverse", "accounts", "telephone1"));
        var patch = Assert.Single(recorder.Batches);
        Assert.Contains("\"telephone1\"", patch);
        Assert.DoesNotContain("\"name\"", patch);
        Assert.DoesNotContain("address1_city", patch);
        Assert.Equal(0, jobs.Job("CUSTOMER", SyncDirection.FromIntegrationTable).Modified);
    }

    [Fact]
    public async Task A_Dataverse_edit_by_an_ordinary_user_reaches_BC_but_one_by_the_integration_user_does_not()
    {
        await using var sandbox = await SyncedAsync();
        var trey = sandbox.Bc(BcSchemas.Customers, "number", "C10010");
        var alpine = sandbox.Bc(BcSchemas.Customers, "number", "C10030");
        var store = sandbox.Connection.Store;

        sandbox.ChangeDv(sandbox.Host.Sample!.OrdinaryUser, "accounts", store.Couplings.GetByBcId("CUSTOMER", trey.Id())!.DataverseId, new { websiteurl = "www.trey.example/new" });
        sandbox.ChangeDv(sandbox.Host.Sample.SetupApp, "accounts", store.Couplings.GetByBcId("CUSTOMER", alpine.Id())!.DataverseId, new { websiteurl = "www.alpine.example/integration" });
        var (jobs, observer) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Empty(observer.Failures);
        Assert.Equal(1, jobs.Job("CUSTOMER", SyncDirection.FromIntegrationTable).Modified);
        Assert.Equal("www.trey.example/new", sandbox.Bc(BcSchemas.Customers, "number", "C10010").Value(sandbox, "BusinessCentral", "customers", "website"));
        Assert.Equal("www.alpine.example", sandbox.Bc(BcSchemas.Customers, "number", "C10030").Value(sandbox, "BusinessCentral", "customers", "website"));
    }

    [Theory]
    [InlineData(UpdateConflictResolution.None, null)]
    [InlineData(UpdateConflictResolution.SendUpdateToIntegration, "+1 BC WINS")]
    [InlineData(UpdateConflictResolution.GetUpdateFromIntegration, "+1 DATAVERSE WINS")]
    public async Task Both_sides_editing_a_bidirectional_field_is_a_conflict_resolved_by_the_policy(UpdateConflictResolution policy, string? expected)
    {
        await using var sandbox = await SyncedAsync();
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { UpdateConflictResolution = policy }));
        var customer = sandbox.Bc(BcSchemas.Customers, "number", "C10040");
        var account = sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", customer.Id())!.DataverseId;

        sandbox.ChangeBc(BcSchemas.Customers, customer.Id(), new { phoneNumber = "+1 BC WINS" });
        sandbox.ChangeDv(sandbox.Host.Sample!.OrdinaryUser, "accounts", account, new { telephone1 = "+1 DATAVERSE WINS" });
        var (jobs, observer) = await sandbox.SyncAsync(names: "CUSTOMER");

        var bcPhone = sandbox.Bc(BcSchemas.Customers, "number", "C10040").Value(sandbox, "BusinessCentral", "customers", "phoneNumber");
        var dvPhone = sandbox.Rows("Dataverse", "accounts").Single(r => r.Id() == account).Value(sandbox, "Dataverse", "accounts", "telephone1");
        if (expected is null)
        {
            var conflict = observer.Failures.First();
            Assert.Contains("is bi-directional, and one or both values have changed since the last synchronization", conflict.Message);
            Assert.Equal(1, jobs.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Failed);
            Assert.Equal(("+1 BC WINS", "+1 DATAVERSE WINS"), (bcPhone, dvPhone));
            Assert.NotEmpty(sandbox.Connection.Store.Jobs.GetErrors(jobs.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Id));
        }
        else
        {
            Assert.Empty(observer.Failures);
            Assert.Equal((expected, expected), (bcPhone, dvPhone));
        }
    }

    [Fact]
    public async Task A_customer_whose_currency_is_not_coupled_fails_naming_it_then_succeeds_after_CURRENCY()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { SynchOnlyCoupledRecords = false }));

        var (first, firstObserver) = await sandbox.SyncAsync(names: "CUSTOMER");
        var failure = Assert.Single(firstObserver.Failures, f => f.SourceKey.StartsWith("C10020", StringComparison.Ordinal));
        Assert.Contains("Currency EUR must be coupled to a transactioncurrency record", failure.Message);
        Assert.Contains(firstObserver.Failures, f => f.Message!.Contains("Currency GBP", StringComparison.Ordinal));
        Assert.Equal(5, first.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Failed);

        await sandbox.SyncAsync(full: true, names: "CURRENCY");
        var (second, secondObserver) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.DoesNotContain(secondObserver.Failures, f => f.MappingName == "CUSTOMER" && f.Direction == SyncDirection.ToIntegrationTable);
        Assert.Equal(5, second.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Inserted);
        Assert.NotNull(sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", sandbox.Bc(BcSchemas.Customers, "number", "C10020").Id()));
    }

    [Fact]
    public async Task The_same_error_twice_skips_the_record_until_it_is_reset()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { SynchOnlyCoupledRecords = false, Direction = SyncDirection.ToIntegrationTable }));
        var school = sandbox.Bc(BcSchemas.Customers, "number", "C10020").Id();

        await sandbox.SyncAsync(names: "CUSTOMER");
        await sandbox.SyncAsync(names: "CUSTOMER");
        var (third, thirdObserver) = await sandbox.SyncAsync(names: "CUSTOMER");

        var failure = sandbox.Connection.Store.Failures.Get("CUSTOMER", SyncDirection.ToIntegrationTable, school)!;
        Assert.True(failure.Skipped);
        Assert.Equal(5, third.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Skipped);
        Assert.Empty(thirdObserver.Failures);

        Assert.Single(CouplingService.For(sandbox.Connection).Reset("CUSTOMER", school));
        var (fourth, fourthObserver) = await sandbox.SyncAsync(names: "CUSTOMER");
        Assert.Single(fourthObserver.Failures);
        Assert.Equal(4, fourth.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Skipped);
    }

    [Fact]
    public async Task A_coupled_record_that_fails_twice_is_skipped_on_its_coupling()
    {
        await using var sandbox = await SyncedAsync();
        var customer = sandbox.Bc(BcSchemas.Customers, "number", "C10030").Id();
        var account = sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", customer)!.DataverseId;
        // The account disappears: a deletion conflict, which fails under the default policy.
        Assert.Equal(204, sandbox.Host.Invoke("Dataverse", sandbox.Host.Sample!.Admin, "DELETE", $"accounts({account})").Status);

        sandbox.ChangeBc(BcSchemas.Customers, customer, new { phoneNumber = "1" });
        var (first, firstObserver) = await sandbox.SyncAsync(names: "CUSTOMER");
        var (second, _) = await sandbox.SyncAsync(names: "CUSTOMER");
        var (third, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Contains("coupled to a deleted", Assert.Single(firstObserver.Failures).Message);
        Assert.Equal(1, second.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Failed);
        Assert.True(sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", customer)!.Skipped);
        Assert.Equal((0, 1), (third.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Failed, third.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Skipped));
    }

    [Fact]
    public async Task Deletion_conflicts_restore_or_uncouple_by_policy()
    {
        await using var sandbox = await SyncedAsync();
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        var store = sandbox.Connection.Store;
        var restore = sandbox.Bc(BcSchemas.Customers, "number", "C10030").Id();
        var account = store.Couplings.GetByBcId("CUSTOMER", restore)!.DataverseId;
        sandbox.Host.Invoke("Dataverse", sandbox.Host.Sample!.Admin, "DELETE", $"accounts({account})");
        sandbox.ChangeBc(BcSchemas.Customers, restore, new { phoneNumber = "2" });

        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { DeletionConflictResolution = DeletionConflictResolution.RestoreRecords }));
        var (restored, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Equal(1, restored.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Inserted);
        var newAccount = store.Couplings.GetByBcId("CUSTOMER", restore)!.DataverseId;
        Assert.Contains(sandbox.Rows("Dataverse", "accounts"), r => r.Id() == newAccount);

        sandbox.Host.Invoke("Dataverse", sandbox.Host.Sample.Admin, "DELETE", $"accounts({newAccount})");
        sandbox.ChangeBc(BcSchemas.Customers, restore, new { phoneNumber = "3" });
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { DeletionConflictResolution = DeletionConflictResolution.RemoveCoupling }));
        var (uncoupled, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Equal(1, uncoupled.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Uncoupled);
        Assert.Null(store.Couplings.GetByBcId("CUSTOMER", restore));
    }

    [Fact]
    public async Task Rows_modified_in_the_same_second_as_the_watermark_are_not_missed()
    {
        await using var sandbox = await SyncedAsync();
        var store = sandbox.Connection.Store;
        var accounts = store.Couplings.GetAll("CUSTOMER").Take(2).Select(c => c.DataverseId).ToList();
        var watermark = store.Watermarks.Get("CUSTOMER", SyncSide.Dataverse)!.Value;

        // A change whose modifiedon (second precision) falls in the watermark's own second.
        sandbox.ChangeDv(sandbox.Host.Sample!.OrdinaryUser, "accounts", accounts[0], new { websiteurl = "www.same-second.example" });
        var row = sandbox.Rows("Dataverse", "accounts").Single(r => r.Id() == accounts[0]);
        var modifiedOn = (DateTimeOffset)row.Value(sandbox, "Dataverse", "accounts", "modifiedon")!;
        store.Watermarks.Set("CUSTOMER", SyncSide.Dataverse, modifiedOn.AddMilliseconds(900));
        var (jobs, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Equal(1, jobs.Job("CUSTOMER", SyncDirection.FromIntegrationTable).Modified);
        Assert.True(store.Watermarks.Get("CUSTOMER", SyncSide.Dataverse) >= watermark);
    }

    [Fact]
    public async Task Match_based_coupling_couples_existing_rows_instead_of_creating_duplicates()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var service = CouplingService.For(sandbox.Connection);

        var results = await service.CoupleByMatchAsync("CUSTOMER", new[] { "Name" }, (_, _) => true, CancellationToken.None);
        var (jobs, observer) = await sandbox.SyncAsync(full: true, names: new[] { "CURRENCY", "SALESPEOPLE", "CUSTOMER" });

        Assert.Equal(2, results.Count(r => r.Outcome == "Coupled"));
        Assert.Contains(results, r => r.BcKey.StartsWith("C10000", StringComparison.Ordinal) && r.DataverseId is not null);
        Assert.Empty(observer.Failures);
        Assert.Single(sandbox.Rows("Dataverse", "accounts"), r => (string?)r.Value(sandbox, "Dataverse", "accounts", "name") == "Adatum Corporation");
        Assert.Single(sandbox.Rows("BusinessCentral", "customers"), r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "displayName") == "Trey Research");
        Assert.Equal(6, jobs.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Inserted);
    }

    [Fact]
    public async Task What_if_lists_every_planned_write_and_writes_nothing()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var accountsBefore = sandbox.Rows("Dataverse", "accounts").Count;
        // Every write to any table of the three services takes a new version: unchanged versions mean nothing was written.
        var versionsBefore = sandbox.DataVersions();

        var (jobs, observer) = await sandbox.SyncAsync(full: true, whatIf: true);

        Assert.Contains(observer.Asked, a => a.Target.Contains("C10000 Adatum Corporation", StringComparison.Ordinal) && a.Action.StartsWith("Create account", StringComparison.Ordinal));
        Assert.Contains(observer.Asked, a => a.Target.StartsWith("CURRENCY", StringComparison.Ordinal) && a.Action.StartsWith("Couple", StringComparison.Ordinal));
        Assert.Equal(accountsBefore, sandbox.Rows("Dataverse", "accounts").Count);
        Assert.Equal(versionsBefore, sandbox.DataVersions());
        Assert.Empty(sandbox.Connection.Store.Couplings.GetAll());
        Assert.Empty(sandbox.Connection.Store.Jobs.GetAll());
        Assert.Empty(observer.Jobs);
    }

    [Fact]
    public async Task A_full_sync_warns_when_both_sides_hold_data()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var risks = await SyncEngine.For(sandbox.Connection).DuplicateRisksAsync(new MappingCatalog(sandbox.Connection.Store).GetAll(), CancellationToken.None);

        Assert.Contains(risks, r => r.StartsWith("Both Business Central (Customer) and Dataverse (account)", StringComparison.Ordinal));
        Assert.Contains(risks, r => r.Contains("CONTACT", StringComparison.Ordinal));
    }
}
