using CrmSync.Engine.Tests.Services;
using CrmSync.Engine.Tests.Sync;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// One record the service rejects does not hold up the others (docs/reference/limits.md §4.6): the rest of its batch
/// commits in the same run, the bad one is in the job's errors with the service's own message, it is skipped only after
/// the same error twice, and it syncs once it is fixed and reset. A transient failure never counts toward skipping.
/// </summary>
public sealed class PoisonRecordTests
{
    private static readonly string[] Mappings = { StandardMappings.Currency, StandardMappings.Salespeople, StandardMappings.Customer };

    [Fact]
    public async Task A_record_the_service_rejects_fails_alone_and_is_skipped_after_the_same_error_twice()
    {
        await using var sandbox = await SandboxConnection.StartAsync(new SandboxOptions { ExtraAccounts = 99, DataverseUserSyncDelay = TimeSpan.Zero });
        // A Dataverse account name may be 160 characters; a BC customer name 100: BC refuses this one.
        var poison = Guid.NewGuid();
        var longName = "Poison Record " + new string('x', 106);
        var created = sandbox.Host.Invoke("Dataverse", sandbox.Host.Sample!.Admin, "POST", "accounts", new Dictionary<string, object>
        {
            ["accountid"] = poison, ["name"] = longName, ["customertypecode"] = 3,
        });
        Assert.Equal(204, created.Status);
        var createsBefore = sandbox.Host.Counters.InnerRequests("BusinessCentral", "POST companies({id})/customers");

        var (first, firstObserver) = await sandbox.SyncAsync(true, false, Mappings);

        var job = first.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable);
        Assert.Equal(1, job.Failed);
        Assert.True(job.Inserted >= 99, $"the other records of the batch were created ({job.Inserted})");
        var error = Assert.Single(sandbox.Connection.Store.Jobs.GetErrors(job.Id));
        Assert.Contains(poison.ToString(), error.SourceId);
        Assert.Contains("100", error.Message);
        Assert.Single(firstObserver.Failures, f => f.SourceKey.Contains("Poison Record", StringComparison.Ordinal) || f.ToString().Contains(poison.ToString(), StringComparison.Ordinal));
        // The others were written as if the bad one were not there: each record sent once, none split off or sent again.
        var creates = job.Inserted + job.Failed;
        Assert.Equal(creates, sandbox.Host.Counters.InnerRequests("BusinessCentral", "POST companies({id})/customers") - createsBefore);
        Assert.False(Failure(sandbox, poison).Skipped, "one failure does not skip");

        // An uncoupled record is created by a full sync ("Synch. Only Coupled Records" keeps modified runs to coupled ones).
        var (second, _) = await sandbox.SyncAsync(true, false, Mappings);
        Assert.Equal(1, second.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable).Failed);
        Assert.True(Failure(sandbox, poison).Skipped, "the same error twice (BC's CorrelationId aside) skips it");
        var (third, _) = await sandbox.SyncAsync(true, false, Mappings);
        Assert.Equal(0, third.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable).Failed);
        Assert.Equal(1, third.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable).Skipped);

        // Fixed at the source and reset (Reset-IntegrationCoupling): the next run creates it.
        sandbox.ChangeDv(sandbox.Host.Sample.Admin, "accounts", poison, new { name = "Poison Record, fixed" });
        CouplingService.For(sandbox.Connection).Reset(StandardMappings.Customer, poison);
        var (fixedRun, fixedObserver) = await sandbox.SyncAsync(true, false, Mappings);
        Assert.Empty(fixedObserver.Failures);
        Assert.NotNull(sandbox.Connection.Store.Couplings.GetByDataverseId(StandardMappings.Customer, poison));
        Assert.Single(sandbox.Rows("BusinessCentral", "customers"), r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "displayName") == "Poison Record, fixed");
        Assert.Null(sandbox.Connection.Store.Failures.Get(StandardMappings.Customer, SyncDirection.FromIntegrationTable, poison));
        Assert.Equal(0, fixedRun.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable).Failed);
    }

    [Fact]
    public async Task A_transient_failure_of_one_record_is_retried_and_never_skips_it()
    {
        await using var sandbox = await SandboxConnection.StartAsync(new SandboxOptions { DataverseUserSyncDelay = TimeSpan.Zero });
        var account = Guid.NewGuid();
        sandbox.Host.Invoke("Dataverse", sandbox.Host.Sample!.Admin, "POST", "accounts", new Dictionary<string, object> { ["accountid"] = account, ["name"] = "Throttled Ltd", ["customertypecode"] = 3 });
        await sandbox.SyncAsync(true, false, Mappings);
        Assert.NotNull(sandbox.Connection.Store.Couplings.GetByDataverseId(StandardMappings.Customer, account));

        // The same 500 for this record's update, three runs in a row (BC answers each request of a $batch on its own).
        var faults = sandbox.Host.Faults("BusinessCentral");
        for (var run = 1; run <= 3; run++)
        {
            sandbox.ChangeDv(sandbox.Host.Sample.Admin, "accounts", account, new { telephone1 = $"+1 555 010{run}" });
            faults.Enqueue(FaultKind.ServerError, 1, (method, path) => method == "INNER PATCH" && path.Contains("customers(", StringComparison.Ordinal));
            var (jobs, _) = await sandbox.SyncAsync(false, false, Mappings);
            Assert.Equal(1, jobs.Job(StandardMappings.Customer, SyncDirection.FromIntegrationTable).Failed);
            Assert.False(sandbox.Connection.Store.Couplings.GetByDataverseId(StandardMappings.Customer, account)!.Skipped, $"run {run}: a 500 says nothing about the record");
        }

        var (healthy, observer) = await sandbox.SyncAsync(false, false, Mappings);
        Assert.Empty(observer.Failures);
        var coupling = sandbox.Connection.Store.Couplings.GetByDataverseId(StandardMappings.Customer, account)!;
        Assert.Equal("+1 555 0103", (string?)sandbox.Rows("BusinessCentral", "customers").Single(r => r.Id() == coupling.BcId).Value(sandbox, "BusinessCentral", "customers", "phoneNumber"));
        _ = healthy;
    }

    private static CrmSync.State.UncoupledFailure Failure(SandboxConnection sandbox, Guid source) =>
        sandbox.Connection.Store.Failures.Get(StandardMappings.Customer, SyncDirection.FromIntegrationTable, source)
        ?? throw new Xunit.Sdk.XunitException($"no failure is recorded for {source}");
}
