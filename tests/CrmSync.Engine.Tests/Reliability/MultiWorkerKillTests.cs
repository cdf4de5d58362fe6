using System.Diagnostics;
using CrmSync.Connections;
using CrmSync.Engine.Tests.State;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using Xunit.Abstractions;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// Several workers — each a process of its own — on one PostgreSQL state, killed at random and started again: the
/// customers converge with no duplicate and no lost update, and the job log shows no two workers ever synchronizing a
/// mapping at once. Short leases (3 s) so that a killed worker's mappings free up quickly; the kill tests' sandbox.
/// </summary>
public sealed class MultiWorkerKillTests(PostgresCluster cluster, ITestOutputHelper output) : IClassFixture<PostgresCluster>
{
    // The long form (CRMSYNC_LONG_TESTS=1) is the issue's: 4 workers, 100,000 customers, each worker killed 10 times.
    private static int Workers => SyncRunnerProcess.Long ? 4 : 3;

    private static int Kills => SyncRunnerProcess.Long ? 40 : 6;

    [Fact]
    public async Task Workers_killed_again_and_again_on_one_PostgreSQL_state_duplicate_nothing_lose_no_update_and_never_share_a_mapping()
    {
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions
        {
            ExtraCustomers = SyncRunnerProcess.Long ? 100_000 : 4_000,
            ExtraAccounts = SyncRunnerProcess.Long ? 10_000 : 1_000,
        });
        var state = cluster.NewDatabase("workers");
        var before = CustomerConvergence.Ids(host);
        var random = new Random(20261129);
        var clock = Stopwatch.StartNew();

        // Half the kills during full synchronizations, half during incremental ones after changes on both sides.
        var (fullRuns, fullKills) = await KillRoundsAsync(host, state, "full", Kills / 2, random, changes: null);
        var expected = new List<(string Service, Guid Id, string Field, string Value)>();
        var (modifiedRuns, modifiedKills) = await KillRoundsAsync(host, state, "modified", Kills - fullKills, random, changes: round =>
        {
            using var connection = CrmSyncConnection.Open("changes", stateConnectionString: state);
            expected.AddRange(CustomerConvergence.ChangeEitherSide(host, connection.Store, random, $"Worker round {round}"));
        });

        using (var last = Start(host, state, "modified", "worker-final"))
        {
            var printed = await SyncRunnerProcess.ReadToEndAsync(last);
            Assert.True(last.ExitCode == 0, printed);
        }

        using var check = CrmSyncConnection.Open("check", stateConnectionString: state);
        CustomerConvergence.Assert(host, check.Store, before);
        // No lost update: the last value each changed record was given is still there (and, converged, on both sides).
        var now = new[] { "BusinessCentral", "Dataverse" }.ToDictionary(service => service, service => CustomerConvergence.RowsById(host, service));
        var lost = expected.GroupBy(e => (e.Service, e.Id)).Select(g => g.Last()).Where(e => !Equals(now[e.Service][e.Id][e.Field], e.Value)).ToList();
        var jobs = check.Store.Jobs.GetAll().Where(j => j.FinishTime is not null).ToList();
        var overlaps = jobs.SelectMany(a => jobs.Where(b => a.Id != b.Id && a.Worker != b.Worker && string.Equals(a.MappingName, b.MappingName, StringComparison.OrdinalIgnoreCase)
            && a.StartTime < b.FinishTime && b.StartTime < a.FinishTime).Select(b => $"{a.MappingName}: {a.Worker} {a.StartTime:O}–{a.FinishTime:O} and {b.Worker} {b.StartTime:O}–{b.FinishTime:O}")).ToList();
        var couplings = check.Store.Couplings.GetAll(StandardMappings.Customer).Count;
        var kills = fullKills + modifiedKills;
        output.WriteLine($"{Workers} workers, {fullRuns + modifiedRuns} runs ({fullRuns} full, {modifiedRuns} incremental), {kills} kills ({fullKills} during full, {modifiedKills} during incremental), " +
            $"{jobs.Count} finished jobs by {jobs.Select(j => j.Worker).Distinct().Count()} workers, {expected.Count:N0} changes; converged with {couplings:N0} customer couplings, " +
            $"0 duplicates, {lost.Count} lost updates, {overlaps.Count} overlapping leases, in {clock.Elapsed.TotalMinutes:F1} min.");
        Assert.Empty(lost);
        Assert.Empty(overlaps);
        Assert.Equal(Kills, kills);
        Assert.All(jobs, j => Assert.StartsWith("worker-", j.Worker));
    }

    // Rounds in which all workers start together and one or two of those still running are killed while a request the
    // round is certain to send waits in the sandbox (its k-th write, or a read when no write is certain), the others
    // running to the end: each round kills, whatever the machine's speed.
    private static async Task<(int Runs, int Kills)> KillRoundsAsync(SandboxHost host, string state, string mode, int wanted, Random random, Action<int>? changes)
    {
        var (runs, kills) = (0, 0);
        for (var round = 0; kills < wanted; round++)
        {
            changes?.Invoke(round);
            int certainWrites;
            using (var connection = CrmSyncConnection.Open("plan", stateConnectionString: state))
            {
                certainWrites = changes is not null ? 1
                    : KillPoint.CertainFullSyncWrites(host, connection.Store, KillPoint.Dataverse) + KillPoint.CertainFullSyncWrites(host, connection.Store, KillPoint.BusinessCentral);
            }

            using var hold = KillPoint.Arm(host, random, certainWrites, KillPoint.Dataverse, KillPoint.BusinessCentral);
            var processes = Enumerable.Range(1, Workers).Select(w => Start(host, state, mode, $"worker-{w}")).ToList();
            runs += processes.Count;
            var victims = await KillPoint.KillWhenReachedAsync(hold, processes, random,
                running => running.OrderBy(_ => random.Next()).Take(Math.Min(wanted - kills, random.Next(1, 3))));
            kills += victims.Count;
            foreach (var process in processes)
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
                process.Dispose();
            }
        }

        return (runs, kills);
    }

    private static Process Start(SandboxHost host, string state, string mode, string worker) =>
        SyncRunnerProcess.Start(host, state, mode, environment: new Dictionary<string, string>
        {
            ["CRMSYNC_WORKER"] = worker,
            ["CRMSYNC_LEASE_SECONDS"] = "3",
            ["CRMSYNC_LEASE_WAIT_SECONDS"] = "60",
        });
}
