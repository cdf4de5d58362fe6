using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using Xunit.Abstractions;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// A real process kill (kill -9 of the sync process, not in-process cancellation) at random points, again and again, then a
/// final run: nothing duplicated, nothing lost, every record coupled, both sides equal (docs/reference/limits.md §5).
/// Each direction has its own hazards: BC → Dataverse writes bulk upserts; Dataverse → BC creates records BC cannot
/// create idempotently (announced pending creates must be found again, not repeated); incremental runs carry changes
/// from both sides. Each kill lands while a request the run is certain to send waits in the sandbox (<see cref="KillPoint"/>), so every
/// run is killed mid-way whatever the machine's speed. CI kills 4 times per scenario; CRMSYNC_LONG_TESTS=1 kills 20 times.
/// </summary>
public sealed class KillTests(ITestOutputHelper output)
{
    private static bool Long => SyncRunnerProcess.Long;

    private static int Kills => Long ? 20 : 4;

    [Fact]
    public async Task A_full_sync_to_Dataverse_killed_again_and_again_duplicates_and_loses_nothing()
    {
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions { ExtraCustomers = Long ? 30_000 : 6_000 });
        await KillRepeatedlyAsync(host, "full", "Dataverse", requestsPerBatch: 4);
    }

    [Fact]
    public async Task A_full_sync_to_Business_Central_killed_again_and_again_creates_each_customer_once()
    {
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions { ExtraAccounts = Long ? 25_000 : 5_000 });
        await KillRepeatedlyAsync(host, "full", "BusinessCentral", requestsPerBatch: 5);
    }

    [Fact]
    public async Task Incremental_syncs_with_changes_on_both_sides_killed_again_and_again_lose_no_update()
    {
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions { ExtraCustomers = 3_000, ExtraAccounts = 1_000 });
        var state = SyncRunnerProcess.NewStatePath();
        try
        {
            var before = CustomerConvergence.Ids(host);
            await RunToEndAsync(host, state, "full");
            var random = new Random(20261129);
            for (var round = 1; round <= Kills; round++)
            {
                int changes;
                using (var store = CrmSyncConnection.Open("changes", state))
                {
                    // Changes on both sides between runs: each is a write the next run must send.
                    changes = CustomerConvergence.ChangeEitherSide(host, store.Store, random, $"Kill round {round}").Count;
                }

                Assert.True(changes > 0, "the round changed no record");
                await RunAndKillAsync(host, state, "modified", KillPoint.Arm(host, random, certainWrites: 1, KillPoint.Dataverse, KillPoint.BusinessCentral), random);
            }

            await RunToEndAsync(host, state, "modified");
            using var connection = CrmSyncConnection.Open("check", state);
            CustomerConvergence.Assert(host, connection.Store, before);
            output.WriteLine($"incremental: {Kills} rounds of changes on both sides, each run killed mid-way; converged with {connection.Store.Couplings.GetAll(StandardMappings.Customer).Count:N0} couplings, 0 duplicates, no lost update.");
        }
        finally
        {
            SyncRunnerProcess.DeleteState(state);
        }
    }

    [Fact]
    public async Task Import_Salesperson_killed_again_and_again_creates_licenses_and_couples_each_salesperson_once()
    {
        var people = Long ? 300 : 60;
        await using var host = await SyncRunnerProcess.StartSandboxAsync(new SandboxOptions { ExtraSalespeople = people });
        var state = SyncRunnerProcess.NewStatePath();
        var csv = Path.Combine(Path.GetTempPath(), $"crmsync-kill-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(csv, new[] { string.Join(',', CrmSync.Accounts.SalespersonCsv.Headers) }.Concat(Enumerable.Range(1, people).Select(i =>
            string.Join(',', CrmSync.Accounts.SalespersonCsv.Headers.Select(h => h switch
            {
                CrmSync.Accounts.SalespersonCsv.UserName => $"sales{i:D5}@contoso.com",
                CrmSync.Accounts.SalespersonCsv.FirstName => "Sales",
                CrmSync.Accounts.SalespersonCsv.LastName => $"Person {i:D5}",
                CrmSync.Accounts.SalespersonCsv.DisplayName => $"Sales Person {i:D5}",
                CrmSync.Accounts.SalespersonCsv.Country => "United States",
                _ => string.Empty,
            })))));
        try
        {
            var random = new Random(20261129);
            for (var kill = 0; kill < Kills; kill++)
            {
                // Every run sends more than 12 Graph requests: the domains, then one look-up per row.
                await RunAndKillAsync(host, state, "import", KillPoint.ArmAny(host, random, KillPoint.Graph, 2, 12), random, csv);
            }

            await RunToEndAsync(host, state, "import", csv);

            // Each salesperson is one Entra user (never two with a suffix), licensed once, a Dataverse user with the
            // Salesperson role, and coupled to its BC salesperson exactly once.
            using var connection = CrmSyncConnection.Open("check", state);
            var users = host.Graph.Users.Rows.Select(r => (string)r.Values[GraphSchema("userPrincipalName")]!).Where(u => u.StartsWith("sales", StringComparison.Ordinal)).ToList();
            Assert.Equal(people, users.Count);
            Assert.Equal(people, users.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            var licenses = host.Graph.Users.Rows
                .Where(r => ((string)r.Values[GraphSchema("userPrincipalName")]!).StartsWith("sales", StringComparison.Ordinal))
                .Select(r => ((System.Text.Json.Nodes.JsonArray?)r.Values[GraphSchema("assignedLicenses")])?.Count(l => (Guid?)Guid.Parse((string)l!["skuId"]!) == CrmSync.Sandbox.Seed.SampleData.Dynamics365Plan1SkuId) ?? 0)
                .ToList();
            Assert.All(licenses, count => Assert.Equal(1, count));
            var couplings = connection.Store.Couplings.GetAll(StandardMappings.Salespeople);
            Assert.Equal(couplings.Count, couplings.Select(c => c.BcId).Distinct().Count());
            Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
            Assert.True(couplings.Count >= people, $"{couplings.Count} salespeople coupled, {people} imported");
            var graphRequests = host.Counters.Requests("Graph");
            output.WriteLine($"Import-Salesperson of {people}: {Kills} kills, {people} users, each once, licensed and coupled once; {graphRequests:N0} Graph requests.");
        }
        finally
        {
            SyncRunnerProcess.DeleteState(state);
            File.Delete(csv);
        }
    }

    private static int GraphSchema(string column) => CrmSync.Sandbox.Graph.GraphService.UserSchema.IndexOf(column);

    private async Task KillRepeatedlyAsync(SandboxHost host, string mode, string writtenService, int requestsPerBatch)
    {
        var state = SyncRunnerProcess.NewStatePath();
        try
        {
            var before = CustomerConvergence.Ids(host);
            var random = new Random(20261122);
            for (var kill = 0; kill < Kills; kill++)
            {
                int certainWrites;
                using (var store = File.Exists(state) ? CrmSyncConnection.Open("plan", state) : null)
                {
                    certainWrites = KillPoint.CertainFullSyncWrites(host, store?.Store, writtenService);
                }

                await RunAndKillAsync(host, state, mode, KillPoint.Arm(host, random, certainWrites, writtenService), random);
            }

            await RunToEndAsync(host, state, mode);
            using var connection = CrmSyncConnection.Open("check", state);
            CustomerConvergence.Assert(host, connection.Store, before);

            // Work sent again after a kill is bounded by the batches in flight: every created record needed one write, so
            // the extra write requests are at most (batches in flight + the one being formed) per kill.
            var created = connection.Store.Couplings.GetAll(StandardMappings.Customer).Count;
            var writes = host.Counters.Requests(writtenService, "POST $batch");
            var needed = (int)Math.Ceiling(created / (writtenService == "Dataverse" ? 500.0 : 100.0));
            output.WriteLine($"{mode} to {writtenService}: {Kills} kills, {created:N0} couplings, {writes:N0} write requests ({needed:N0} needed without kills), 0 duplicates.");
            Assert.InRange(writes - needed, int.MinValue, Kills * 4 * requestsPerBatch + requestsPerBatch);
        }
        finally
        {
            SyncRunnerProcess.DeleteState(state);
        }
    }

    // Starts a run and kills it while the request the hold was armed on waits in the sandbox (mid-run by construction).
    private static async Task RunAndKillAsync(SandboxHost host, string state, string mode, RequestHold hold, Random random, string? csv = null)
    {
        using (hold)
        {
            using var process = SyncRunnerProcess.Start(host, state, mode, csv ?? SyncRunnerProcess.CustomerMappings);
            await KillPoint.KillWhenReachedAsync(hold, [process], random);
        }
    }

    private static async Task RunToEndAsync(SandboxHost host, string state, string mode, string? csv = null)
    {
        using var final = SyncRunnerProcess.Start(host, state, mode, csv ?? SyncRunnerProcess.CustomerMappings);
        var printed = await SyncRunnerProcess.ReadToEndAsync(final);
        Assert.True(final.ExitCode == 0, printed);
    }
}
