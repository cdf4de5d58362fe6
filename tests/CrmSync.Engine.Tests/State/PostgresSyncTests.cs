using CrmSync.Connections;
using CrmSync.Engine.Tests.Services;
using CrmSync.Engine.Tests.Sync;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Engine.Tests.State;

/// <summary>Synchronization on a PostgreSQL state, and moving a SQLite state into PostgreSQL.</summary>
public sealed class PostgresSyncTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    [Fact]
    public async Task A_full_sync_and_a_modified_sync_run_on_a_PostgreSQL_state_as_on_a_file()
    {
        var database = cluster.NewDatabase("sync");
        await using var sandbox = await SandboxConnection.StartAsync(adjust: s => s with { StatePath = null, StateConnectionString = database });

        var (full, observer) = await sandbox.SyncAsync(full: true);
        var (modified, _) = await sandbox.SyncAsync();

        Assert.Equal("PostgreSQL", sandbox.Connection.StateKind);
        Assert.Empty(observer.Failures);
        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "VENDOR", "CUSTOMER", "CUSTOMER", "CONTACT", "CONTACT" }, full.Select(j => j.MappingName));
        Assert.Equal(8, full.Job("CUSTOMER", SyncDirection.ToIntegrationTable).Inserted);
        Assert.All(modified, j => Assert.Equal((0, 0, 0), (j.Inserted, j.Modified, j.Failed)));
        Assert.Equal(5, sandbox.Connection.Store.Couplings.GetAll("CURRENCY").Count);
    }

    [Fact]
    public async Task A_state_file_copied_into_PostgreSQL_carries_on_where_it_stopped()
    {
        var database = cluster.NewDatabase("copy");
        await using var sandbox = await SandboxConnection.StartAsync();
        var (full, _) = await sandbox.SyncAsync(full: true);
        var before = sandbox.Connection.Store;
        var couplings = before.Couplings.GetAll().OrderBy(c => c.BcId).ToList();
        var jobs = before.Jobs.GetAll().Count;
        sandbox.Connection.Dispose();

        StateCopyResult result;
        using (var source = StateStore.Open(sandbox.StatePath))
        using (var destination = StateStore.OpenPostgres(database))
        {
            result = StateCopy.Copy(source, destination);
        }

        Assert.Equal(couplings.Count, result.Couplings);
        Assert.Equal(jobs, result.Jobs);
        Assert.Equal(StandardMappings.All().Count, result.Mappings);
        using var moved = CrmSyncConnection.Open("moved", stateConnectionString: database);
        Assert.Equal(couplings, moved.Store.Couplings.GetAll().OrderBy(c => c.BcId).ToList());
        Assert.Equal(full.Count, new CrmSync.Sync.JobLog(moved.Store).GetJobs().Count);
        var again = Assert.Throws<CrmSyncException>(() => StateCopy.Copy(StateStore.Open(sandbox.StatePath), moved.Store));
        Assert.Equal("StateStoreNotEmpty", again.ErrorId);
    }

    [Fact]
    public async Task A_mapping_another_worker_holds_is_skipped_or_waited_for_and_each_job_names_its_worker()
    {
        var database = cluster.NewDatabase("workers");
        await using var sandbox = await SandboxConnection.StartAsync(adjust: s => s with { StatePath = null, StateConnectionString = database });
        using var other = StateStore.OpenPostgres(database);
        var engine = CrmSync.Sync.SyncEngine.For(sandbox.Connection);
        var currency = new MappingCatalog(sandbox.Connection.Store).Get("CURRENCY");
        Assert.True(other.Leases.TryAcquire("CURRENCY", "worker-b", TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow).Acquired);

        var skipping = new RecordingObserver();
        var skipped = await engine.RunAsync(new[] { currency }, new CrmSync.Sync.SyncOptions { FullSync = true, Worker = "worker-a" }, skipping, CancellationToken.None);

        Assert.Empty(skipped);
        Assert.Contains(skipping.Warnings, w => w.Contains("worker-b", StringComparison.Ordinal) && w.Contains("-LeaseWaitSeconds", StringComparison.Ordinal));

        var release = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => other.Leases.Release("CURRENCY", "worker-b"));
        var waited = await engine.RunAsync(new[] { currency }, new CrmSync.Sync.SyncOptions { FullSync = true, Worker = "worker-a", LeaseWait = TimeSpan.FromSeconds(30) }, new RecordingObserver(), CancellationToken.None);
        await release;

        var job = Assert.Single(waited);
        Assert.Equal("worker-a", job.Worker);
        Assert.Equal("worker-a", other.Jobs.Get(job.Id)!.Worker);
        Assert.Null(other.Leases.Get("CURRENCY"));
    }

    [Fact]
    public async Task A_worker_whose_lease_was_taken_over_commits_nothing_more_and_stops()
    {
        var database = cluster.NewDatabase("fence");
        using var a = StateStore.OpenPostgres(database);
        using var b = StateStore.OpenPostgres(database);
        var options = new CrmSync.Sync.SyncOptions { Worker = "worker-a", LeaseDuration = TimeSpan.FromMinutes(1) };

        await using (var lease = await CrmSync.Sync.MappingLease.AcquireAsync(a, "CUSTOMER", options, new RecordingObserver(), CancellationToken.None))
        {
            a.InTransaction(lease!.Fence);
            // worker-a stalls past its lease (seen from worker-b's clock) and worker-b takes the mapping over.
            Assert.True(b.Leases.TryAcquire("CUSTOMER", "worker-b", TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow.AddMinutes(5)).Acquired);

            var lost = Assert.Throws<CrmSyncException>(() => a.InTransaction(() =>
            {
                lease.Fence();
                a.Settings.Set("written-by", "worker-a");
            }));

            Assert.Equal("LeaseLost", lost.ErrorId);
            Assert.True(lease.Token.IsCancellationRequested);
            Assert.Null(b.Settings.Get("written-by"));
        }

        Assert.Equal("worker-b", b.Leases.Get("CUSTOMER")!.Holder);
    }
}
