using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using Xunit.Abstractions;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// A real process kill (kill -9 of the sync process, not in-process cancellation) at random points, again and again, then a
/// final run: nothing duplicated, nothing lost, every record coupled, both sides equal (limits-and-reliability.md §5).
/// Each direction has its own hazards: BC → Dataverse writes bulk upserts; Dataverse → BC creates records BC cannot
/// create idempotently (announced pending creates must be found again, not repeated); incremental runs carry changes
/// from both sides. CI kills 4 times per scenario; CRMSYNC_LONG_TESTS=1 kills 20 times.
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
            var kills = 0;
            var rounds = 0;
            while (kills < Kills && rounds < Kills * 3)
            {
                rounds++;
                using (var store = CrmSyncConnection.Open("changes", state))
                {
                    // Changes on both sides between runs, and while the run that gets killed is reading.
                    CustomerConvergence.ChangeEitherSide(host, store.Store, random, $"Kill round {rounds}");
                }

                kills += await RunAndKillAsync(host, state, "modified", "Dataverse", random) ? 1 : 0;
            }

            await RunToEndAsync(host, state, "modified");
            using var connection = CrmSyncConnection.Open("check", state);
            CustomerConvergence.Assert(host, connection.Store, before);
            output.WriteLine($"incremental: {rounds} rounds of changes on both sides, {kills} kills; converged with {connection.Store.Couplings.GetAll(StandardMappings.Customer).Count:N0} couplings, 0 duplicates, no lost update.");
            Assert.True(kills >= Kills, $"only {kills} runs were killed mid-way");
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
            var kills = 0;
            for (var attempt = 0; attempt < Kills * 3 && kills < Kills; attempt++)
            {
                kills += await RunAndKillAsync(host, state, "import", "Graph", random, csv) ? 1 : 0;
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
            output.WriteLine($"Import-Salesperson of {people}: {kills} kills, {people} users, each once, licensed and coupled once; {graphRequests:N0} Graph requests.");
            Assert.True(kills >= Kills, $"only {kills} runs were killed mid-way");
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
            var kills = 0;
            for (var attempt = 0; attempt < Kills * 3 && kills < Kills; attempt++)
            {
                kills += await RunAndKillAsync(host, state, mode, writtenService, random) ? 1 : 0;
            }

            await RunToEndAsync(host, state, mode);
            using var connection = CrmSyncConnection.Open("check", state);
            CustomerConvergence.Assert(host, connection.Store, before);

            // Work sent again after a kill is bounded by the batches in flight: every created record needed one write, so
            // the extra write requests are at most (batches in flight + the one being formed) per kill.
            var created = connection.Store.Couplings.GetAll(StandardMappings.Customer).Count;
            var writes = host.Counters.Requests(writtenService, "POST $batch");
            var needed = (int)Math.Ceiling(created / (writtenService == "Dataverse" ? 500.0 : 100.0));
            output.WriteLine($"{mode} to {writtenService}: {kills} kills, {created:N0} couplings, {writes:N0} write requests ({needed:N0} needed without kills), 0 duplicates.");
            Assert.True(kills >= Kills, $"only {kills} runs were killed mid-way");
            Assert.InRange(writes - needed, int.MinValue, kills * 4 * requestsPerBatch + requestsPerBatch);
        }
        finally
        {
            SyncRunnerProcess.DeleteState(state);
        }
    }

    // Kills the run after a random number of acknowledged write requests (mid-run), or at a random early moment (connecting,
    // reading). Returns whether it was killed before it finished.
    private static async Task<bool> RunAndKillAsync(SandboxHost host, string state, string mode, string writtenService, Random random, string? csv = null)
    {
        using var process = SyncRunnerProcess.Start(host, state, mode, csv ?? SyncRunnerProcess.CustomerMappings);
        var written = () => mode == "import" ? host.Counters.Requests(writtenService) : host.Counters.Requests(writtenService, "POST $batch");
        var target = written() + (mode == "import" ? random.Next(2, 12) : random.Next(1, 9));
        var deadline = DateTime.UtcNow.AddMilliseconds(random.Next(4) == 0 ? random.Next(100, 900) : 60_000);
        while (!process.HasExited && DateTime.UtcNow < deadline && written() < target)
        {
            await Task.Delay(random.Next(1, 15));
        }

        var killed = !process.HasExited;
        if (killed)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        return killed;
    }

    private static async Task RunToEndAsync(SandboxHost host, string state, string mode, string? csv = null)
    {
        using var final = SyncRunnerProcess.Start(host, state, mode, csv ?? SyncRunnerProcess.CustomerMappings);
        var printed = await SyncRunnerProcess.ReadToEndAsync(final);
        Assert.True(final.ExitCode == 0, printed);
    }
}
