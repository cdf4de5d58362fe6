using CrmSync.Engine.Tests.Services;
using CrmSync.Engine.Tests.Sync;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using Xunit.Abstractions;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// With a share of every service's requests failing at random — 5xx, 429 with and without Retry-After, a dropped
/// connection before and after the service commits, answers slower than the client waits — a full sync and then
/// incremental syncs with changes on both sides converge: every record coupled once, both sides equal on every mapped
/// field, no duplicates (docs/reference/limits.md §4–5). CI runs 1,500 records; CRMSYNC_LONG_TESTS=1 runs 10,000.
/// </summary>
public sealed class FaultConvergenceTests(ITestOutputHelper output)
{
    private static bool Long => SyncRunnerProcess.Long;

    private static readonly string[] Mappings = { StandardMappings.Currency, StandardMappings.Salespeople, StandardMappings.Customer };

    // A slow answer never comes (the sandbox waits until the client gives up), so it outlasts any attempt timeout; the
    // attempt timeout is 3 s, a wide margin over what a sandbox request takes even on a busy machine (a $batch of 500
    // records: a few hundred milliseconds).
    private static FaultOptions Faults(int seed) => FaultOptions.AtRate(0.05, seed, slowDelay: Timeout.InfiniteTimeSpan);

    private static Http.RetrySettings Retry => new() { BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(1), AttemptTimeout = TimeSpan.FromSeconds(3) };

    [Fact]
    public async Task Full_and_incremental_syncs_converge_with_5_percent_of_requests_failing()
    {
        var customers = Long ? 10_000 : 1_500;
        var faults = Faults(seed: 20261129);
        await using var sandbox = await SandboxConnection.StartAsync(
            new SandboxOptions { ExtraCustomers = customers, ExtraAccounts = customers / 4, DataverseUserSyncDelay = TimeSpan.Zero }.WithFaults(faults),
            settings => settings with { Retry = Retry });

        // Besides the random 5 %, every kind of fault hits a write batch of each service once, early: so even the short
        // run meets a create batch that BC commits and never answers (reset after commit), and one that times out.
        foreach (var service in new[] { "Dataverse", "BusinessCentral" })
        {
            foreach (var kind in Enum.GetValues<FaultKind>())
            {
                sandbox.Host.Faults(service).Enqueue(kind, 1, (method, path) => method == "POST" && path.EndsWith("$batch", StringComparison.Ordinal));
            }
        }

        var before = CustomerConvergence.Ids(sandbox.Host);
        var fullRuns = await ConvergeAsync(sandbox, full: true);
        CustomerConvergence.Assert(sandbox.Host, sandbox.Connection.Store, before);

        // Rounds of changes on both sides (different records), each followed by incremental runs under the same faults.
        var random = new Random(7);
        var incrementalRuns = 0;
        var bcChanges = 0;
        var dvChanges = 0;
        for (var round = 1; round <= (Long ? 10 : 4); round++)
        {
            var couplings = sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Customer);
            var bcChanged = couplings.Where(_ => random.NextDouble() < 0.03).Select(c => c.BcId).ToList();
            var dvChanged = couplings.Where(c => !bcChanged.Contains(c.BcId) && random.NextDouble() < 0.03).Select(c => c.DataverseId).ToList();
            foreach (var id in bcChanged)
            {
                sandbox.ChangeBc("customers", id, new { city = $"BC round {round}" });
            }

            foreach (var id in dvChanged)
            {
                sandbox.ChangeDv(sandbox.Host.Sample!.Admin, "accounts", id, new { telephone1 = $"+47 {round} {id.ToString("N")[..6]}" });
            }

            incrementalRuns += await ConvergeAsync(sandbox, full: false);
            CustomerConvergence.Assert(sandbox.Host, sandbox.Connection.Store, before);
            foreach (var id in bcChanged)
            {
                var account = sandbox.Connection.Store.Couplings.GetByBcId(StandardMappings.Customer, id)!.DataverseId;
                Assert.Equal($"BC round {round}", (string?)Account(sandbox, account)["address1_city"]);
            }

            bcChanges += bcChanged.Count;
            dvChanges += dvChanged.Count;
        }

        var injected = new[] { "Dataverse", "BusinessCentral", "Graph" }.SelectMany(s => sandbox.Host.Faults(s).Injected).GroupBy(f => f.Key).ToDictionary(g => g.Key, g => g.Sum(f => f.Value));
        var requests = sandbox.Connection.RequestsSent(Http.ServiceKind.Dataverse) + sandbox.Connection.RequestsSent(Http.ServiceKind.BusinessCentral);
        output.WriteLine($"{customers:N0} BC customers + {customers / 4:N0} Dataverse accounts; full sync converged in {fullRuns} run(s), " +
                         $"{bcChanges} BC + {dvChanges} Dataverse changes in {incrementalRuns} incremental run(s); {requests:N0} requests sent, " +
                         $"faults injected: {string.Join(", ", injected.Select(f => $"{f.Key} {f.Value}"))}; {sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Customer).Count:N0} couplings, 0 duplicates.");
        Assert.All(Enum.GetValues<FaultKind>(), kind => Assert.True(injected.GetValueOrDefault(kind) > 0, $"no {kind} was injected"));
    }

    [Fact]
    public async Task Import_Salesperson_converges_with_5_percent_of_requests_failing_and_partial_batch_failures()
    {
        var people = Long ? 500 : 80;
        var faults = Faults(seed: 20261130);
        await using var sandbox = await SandboxConnection.StartAsync(
            new SandboxOptions { ExtraSalespeople = people, DataverseUserSyncDelay = TimeSpan.Zero }.WithFaults(faults),
            settings => settings with { Retry = Retry });
        // Every kind hits a Graph $batch early, and requests inside them fail one by one (Graph's partial failures).
        foreach (var kind in Enum.GetValues<FaultKind>())
        {
            sandbox.Host.Faults("Graph").Enqueue(kind, 1, (method, path) => method == "POST" && path.EndsWith("$batch", StringComparison.Ordinal));
            sandbox.Host.Faults("Graph").Enqueue(kind, 2, (method, _) => method.StartsWith("INNER ", StringComparison.Ordinal));
        }

        var rows = Enumerable.Range(1, people).Select(i => Accounts.SalespersonTestRows.Row(i + 1, $"sales{i:D5}@contoso.com", $"Sales Person {i:D5}")).ToList();
        var options = new CrmSync.Accounts.SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromSeconds(30) };
        var runs = 0;
        var stopped = new List<string>();
        for (var done = false; !done && runs < 20; runs++)
        {
            try
            {
                var results = await CrmSync.Accounts.SalespersonImport.For(sandbox.Connection, new Accounts.AcceptAllSetupObserver()).ImportAsync(rows, options, _ => { }, CancellationToken.None);
                done = results.Count == people && results.All(r => r.Succeeded);
            }
            catch (CrmSyncException ex)
            {
                stopped.Add(ex.Message.Length > 140 ? ex.Message[..140] : ex.Message);
            }
        }

        Assert.True(runs < 20, "the import did not converge in 20 runs: " + string.Join(" | ", stopped.TakeLast(3)));
        var upns = sandbox.Host.Graph.Users.Rows.Select(r => (string)r.Values[CrmSync.Sandbox.Graph.GraphService.UserSchema.IndexOf("userPrincipalName")]!)
            .Where(u => u.StartsWith("sales", StringComparison.Ordinal)).ToList();
        Assert.Equal(people, upns.Count);
        Assert.Equal(people, upns.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        var licensed = sandbox.Host.Graph.Users.Rows
            .Where(r => ((string)r.Values[CrmSync.Sandbox.Graph.GraphService.UserSchema.IndexOf("userPrincipalName")]!).StartsWith("sales", StringComparison.Ordinal))
            .Select(r => ((System.Text.Json.Nodes.JsonArray?)r.Values[CrmSync.Sandbox.Graph.GraphService.UserSchema.IndexOf("assignedLicenses")])?.Count ?? 0);
        Assert.All(licensed, count => Assert.Equal(1, count));
        var couplings = sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Salespeople);
        Assert.Equal(couplings.Count, couplings.Select(c => c.BcId).Distinct().Count());
        Assert.True(couplings.Count >= people, $"{couplings.Count} salespeople coupled");
        var graphFaults = sandbox.Host.Faults("Graph").Injected;
        output.WriteLine($"Import-Salesperson of {people} under faults: converged in {runs} run(s) ({stopped.Count} stopped); Graph faults injected: " +
                         $"{string.Join(", ", graphFaults.Select(f => $"{f.Key} {f.Value}"))}; {people} users, each once, {couplings.Count} couplings.");
    }

    /// <summary>
    /// Runs the mappings until a run has no failed record and nothing pending, as a scheduled runbook would: a run that a
    /// fault stopped (a write batch whose outcome is unknown is never sent twice in the same run) is simply run again.
    /// Returns how many runs it took.
    /// </summary>
    private async Task<int> ConvergeAsync(SandboxConnection sandbox, bool full)
    {
        var stopped = new List<string>();
        for (var run = 1; run <= 20; run++)
        {
            try
            {
                // A full sync that a fault stopped is run again in full, as an admin would: the records it had not reached yet
                // are uncoupled, and a modified-records run only creates those when "Synch. Only Coupled Records" is off.
                var (jobs, observer) = await sandbox.SyncAsync(full, false, Mappings);
                if (jobs.All(j => j.Failed == 0) && observer.Failures.Count == 0 && sandbox.Connection.Store.PendingWrites.GetAll().Count == 0
                    && sandbox.Connection.Store.Failures.GetAll().Count == 0)
                {
                    output.WriteLine($"{(full ? "full" : "incremental")}: converged in run {run}; earlier runs stopped by: {(stopped.Count == 0 ? "nothing" : string.Join(" | ", stopped))}");
                    return run;
                }
            }
            catch (CrmSyncException ex)
            {
                stopped.Add(ex.Message.Length > 140 ? ex.Message[..140] : ex.Message);
            }
        }

        throw new Xunit.Sdk.XunitException("The syncs did not converge in 20 runs: " + string.Join(" | ", stopped.TakeLast(5)) + " " +
            string.Join("; ", sandbox.Connection.Store.Failures.GetAll().Take(5).Select(f => f.ToString())));
    }

    private static Dictionary<string, object?> Account(SandboxConnection sandbox, Guid id) => CustomerConvergence.Row(sandbox.Host, "Dataverse", "accounts", id);
}
