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
    private const int Workers = 3;

    private static int Kills => SyncRunnerProcess.Long ? 40 : 6;

    [Fact]
    public async Task Workers_killed_again_and_again_on_one_PostgreSQL_state_duplicate_nothing_and_never_share_a_mapping()
    {
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions
        {
            ExtraCustomers = SyncRunnerProcess.Long ? 30_000 : 4_000,
            ExtraAccounts = SyncRunnerProcess.Long ? 10_000 : 1_000,
        });
        var state = cluster.NewDatabase("workers");
        var before = CustomerConvergence.Ids(host);
        var random = new Random(20261129);
        var kills = 0;
        var runs = 0;
        for (var round = 0; round < Kills * 3 && kills < Kills; round++)
        {
            // All workers start together; one or two of them are killed at a random moment, the others run to the end.
            var processes = Enumerable.Range(1, Workers).Select(w => Start(host, state, $"worker-{w}")).ToList();
            runs += processes.Count;
            await Task.Delay(random.Next(200, 2_500));
            foreach (var victim in processes.OrderBy(_ => random.Next()).Take(random.Next(1, 3)).Where(p => !p.HasExited))
            {
                victim.Kill(entireProcessTree: true);
                kills++;
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
                process.Dispose();
            }
        }

        using (var last = Start(host, state, "worker-final"))
        {
            var printed = await SyncRunnerProcess.ReadToEndAsync(last);
            Assert.True(last.ExitCode == 0, printed);
        }

        using var connection = CrmSyncConnection.Open("check", stateConnectionString: state);
        CustomerConvergence.Assert(host, connection.Store, before);
        var jobs = connection.Store.Jobs.GetAll().Where(j => j.FinishTime is not null).ToList();
        var overlaps = jobs.SelectMany(a => jobs.Where(b => a.Id != b.Id && a.Worker != b.Worker && string.Equals(a.MappingName, b.MappingName, StringComparison.OrdinalIgnoreCase)
            && a.StartTime < b.FinishTime && b.StartTime < a.FinishTime).Select(b => $"{a.MappingName}: {a.Worker} {a.StartTime:O}–{a.FinishTime:O} and {b.Worker} {b.StartTime:O}–{b.FinishTime:O}")).ToList();
        var couplings = connection.Store.Couplings.GetAll(StandardMappings.Customer).Count;
        output.WriteLine($"{Workers} workers, {runs} runs, {kills} kills, {jobs.Count} finished jobs by {jobs.Select(j => j.Worker).Distinct().Count()} workers; " +
            $"converged with {couplings:N0} customer couplings, 0 duplicates, no lost update, {overlaps.Count} overlapping leases.");
        Assert.Empty(overlaps);
        Assert.True(kills >= Kills, $"only {kills} workers were killed");
        Assert.All(jobs, j => Assert.StartsWith("worker-", j.Worker));
    }

    private static Process Start(SandboxHost host, string state, string worker) =>
        SyncRunnerProcess.Start(host, state, "full", environment: new Dictionary<string, string>
        {
            ["CRMSYNC_WORKER"] = worker,
            ["CRMSYNC_LEASE_SECONDS"] = "3",
            ["CRMSYNC_LEASE_WAIT_SECONDS"] = "60",
        });
}
