using System.Diagnostics;
using CrmSync.Connections;
using CrmSync.Engine.Tests.State;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using Xunit.Abstractions;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// Several workers — each a process of its own — on one PostgreSQL state, killed at random and started again: the
/// customers converge with no duplicate and no lost update, and the state's write log (<see cref="StateWriteLog"/>) shows
/// no two workers ever synchronizing a mapping at once. Short leases (3 s) so that a killed worker's mappings free up quickly; the kill tests' sandbox.
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
        using (CrmSyncConnection.Open("create", stateConnectionString: state))
        {
            // The engine creates the state's tables; the log's triggers go on them.
        }

        var log = StateWriteLog.Install(state);
        var before = CustomerConvergence.Ids(host);
        var random = new Random(20261129);
        var clock = Stopwatch.StartNew();

        // Half the kills during full synchronizations, half during incremental ones after changes on both sides.
        var (fullRuns, fullKills) = await KillRoundsAsync(host, state, log, "full", Kills / 2, random, changes: null);
        var expected = new List<(string Service, Guid Id, string Field, string Value)>();
        var (modifiedRuns, modifiedKills) = await KillRoundsAsync(host, state, log, "modified", Kills - fullKills, random, changes: round =>
        {
            using var connection = CrmSyncConnection.Open("changes", stateConnectionString: state);
            expected.AddRange(CustomerConvergence.ChangeEitherSide(host, connection.Store, random, $"Worker round {round}"));
        });

        using (var last = Start(host, state, "modified", "worker-final"))
        {
            var printed = await SyncRunnerProcess.ReadToEndAsync(last);
            Assert.True(last.ExitCode == 0, printed);
        }

        // Never shared: over every run, killed ones included, no lease was taken before it expired and no mapping's data
        // was written by a process not holding its lease. (First: when it fails, duplicates and lost updates follow from it.)
        var shared = log.SharedMappings();
        Assert.True(shared.Count == 0, string.Join("\n", shared.Take(10)));
        using var check = CrmSyncConnection.Open("check", stateConnectionString: state);
        CustomerConvergence.Assert(host, check.Store, before);
        // No lost update: the last value each changed record was given is still there (and, converged, on both sides).
        var now = new[] { "BusinessCentral", "Dataverse" }.ToDictionary(service => service, service => CustomerConvergence.RowsById(host, service));
        var lost = expected.GroupBy(e => (e.Service, e.Id)).Select(g => g.Last()).Where(e => !Equals(now[e.Service][e.Id][e.Field], e.Value)).ToList();
        var jobs = check.Store.Jobs.GetAll();
        var couplings = check.Store.Couplings.GetAll(StandardMappings.Customer).Count;
        var kills = fullKills + modifiedKills;
        output.WriteLine($"{Workers} workers, {fullRuns + modifiedRuns} runs ({fullRuns} full, {modifiedRuns} incremental), {kills} kills after the victim had committed " +
            $"({fullKills} during full, {modifiedKills} during incremental), {jobs.Count} jobs ({jobs.Count(j => j.FinishTime is null)} never finished) by " +
            $"{jobs.Select(j => j.Worker).Distinct().Count()} workers, {expected.Count:N0} changes; converged with {couplings:N0} customer couplings, " +
            $"0 duplicates, {lost.Count} lost updates, {shared.Count} writes or takeovers outside a lease, in {clock.Elapsed.TotalMinutes:F1} min.");
        Assert.Empty(lost);
        Assert.Equal(Kills, kills);
        Assert.All(jobs, j => Assert.StartsWith("worker-", j.Worker));
    }

    // Rounds in which all workers start together and, while a request waits in the sandbox, one or two of the running
    // workers that have already committed synchronized work are killed, the others running to the end. The first request
    // held is one the round is certain to send (its k-th write, or a read when no write is certain); while no running
    // worker has committed anything yet, that request goes on and the next one is held instead. A round whose workers all
    // end first kills nobody; rounds are bounded so a run that never offers a kill fails instead of looping.
    private static async Task<(int Runs, int Kills)> KillRoundsAsync(SandboxHost host, string state, StateWriteLog log, string mode, int wanted, Random random, Action<int>? changes)
    {
        var (runs, kills) = (0, 0);
        for (var round = 0; kills < wanted; round++)
        {
            Assert.True(round < 5 * wanted, $"{round} {mode} rounds killed {kills} of {wanted} workers: no round offered a running worker that had committed something.");
            changes?.Invoke(round);
            int certainWrites;
            using (var connection = CrmSyncConnection.Open("plan", stateConnectionString: state))
            {
                certainWrites = changes is not null ? 1
                    : KillPoint.CertainFullSyncWrites(host, connection.Store, KillPoint.Dataverse) + KillPoint.CertainFullSyncWrites(host, connection.Store, KillPoint.BusinessCentral);
            }

            var hold = KillPoint.Arm(host, random, certainWrites, KillPoint.Dataverse, KillPoint.BusinessCentral);
            var processes = Enumerable.Range(1, Workers).Select(w => Start(host, state, mode, $"worker-{w}")).ToList();
            runs += processes.Count;
            var allExited = Task.WhenAll(processes.Select(p => p.WaitForExitAsync()));
            try
            {
                while (await Task.WhenAny(hold.Reached, allExited).WaitAsync(TimeSpan.FromMinutes(5)) == hold.Reached)
                {
                    var committed = log.ProcessesThatCommitted(processes.Where(p => !p.HasExited).Select(p => p.Id));
                    if (committed.Count > 0)
                    {
                        var victims = processes.Where(p => committed.Contains(p.Id)).OrderBy(_ => random.Next()).Take(Math.Min(wanted - kills, random.Next(1, 3))).ToList();
                        await KillPoint.KillAndReleaseAsync(hold, victims, random);
                        kills += victims.Count;
                        break;
                    }

                    await hold.ReleaseAsync(handle: true);
                    hold = host.Hold((_, _, _) => true, 1);
                }
            }
            finally
            {
                hold.Dispose();
            }

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
