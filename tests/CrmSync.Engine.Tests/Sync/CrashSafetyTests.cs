using System.Diagnostics;
using CrmSync.Connections;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

// A real process kill (not in-process cancellation) at random points during a full sync, repeated, then a
// final run: no duplicates on either side, every record coupled, values equal (design §5, crash safety).
public sealed class CrashSafetyTests
{
    [Fact]
    public async Task Killing_the_sync_process_repeatedly_loses_nothing_and_duplicates_nothing()
    {
        await using var host = await SandboxHost.StartAsync(new SandboxOptions
        {
            ExtraCustomers = 5000,
            DataverseUserSyncDelay = TimeSpan.Zero,
            Limits = new SandboxLimits
            {
                Dataverse = new ServiceLimits { LatencyPerRequest = TimeSpan.FromMilliseconds(5) },
                BusinessCentral = new ServiceLimits { LatencyPerRequest = TimeSpan.FromMilliseconds(5), SendRetryAfter = false },
            },
        });
        using var temp = new TempDirectory();
        var state = temp.File("state.db");
        var random = new Random(20261122);
        var kills = 0;
        for (var attempt = 0; attempt < 6; attempt++)
        {
            using var process = Start(host, state);
            // Kill after a random number of acknowledged write batches (mid-run), or at a random early moment.
            var target = host.Counters.Requests("Dataverse", "POST $batch") + random.Next(1, 9);
            var deadline = DateTime.UtcNow.AddMilliseconds(attempt % 3 == 2 ? random.Next(100, 700) : 60_000);
            while (!process.HasExited && DateTime.UtcNow < deadline && host.Counters.Requests("Dataverse", "POST $batch") < target)
            {
                await Task.Delay(random.Next(1, 15));
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                kills++;
            }

            await process.WaitForExitAsync();
        }

        using (var final = Start(host, state))
        {
            var output = final.StandardOutput.ReadToEndAsync();
            var errors = final.StandardError.ReadToEndAsync();
            await final.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(final.ExitCode == 0, await output + await errors);
        }

        Assert.True(kills >= 3, $"only {kills} runs were killed mid-way");
        using var connection = CrmSyncConnection.Open("check", state);
        var couplings = connection.Store.GetCouplings("CUSTOMER");
        var bcCustomers = Rows(host, "BusinessCentral", "customers");
        var dvAccounts = Rows(host, "Dataverse", "accounts");

        // Every unblocked BC customer is coupled exactly once, to an account that exists.
        var unblocked = bcCustomers.Where(r => (string?)r["blocked"] == "_x0020_").ToList();
        Assert.Equal(unblocked.Count, couplings.Count);
        Assert.Equal(couplings.Count, couplings.Select(c => c.BcId).Distinct().Count());
        Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
        var accountsById = dvAccounts.ToDictionary(a => (Guid)a["accountid"]!);
        var customersById = bcCustomers.ToDictionary(c => (Guid)c["id"]!);
        foreach (var coupling in couplings)
        {
            Assert.True(accountsById.TryGetValue(coupling.DataverseId, out var account), $"account {coupling.DataverseId} is missing");
            var customer = customersById[coupling.BcId];
            Assert.Equal(customer["displayName"], account!["name"]);
            Assert.Equal(Empty(customer["phoneNumber"]), Empty(account["telephone1"]));
            Assert.Equal(Empty(customer["city"]), Empty(account["address1_city"]));
        }

        // No duplicates on either side.
        Assert.Equal(5000, dvAccounts.Count(a => ((string?)a["name"])?.StartsWith("Benchmark Customer", StringComparison.Ordinal) == true));
        Assert.Single(bcCustomers, c => (string?)c["displayName"] == "Blue Yonder Airlines");
        Assert.Single(bcCustomers, c => (string?)c["displayName"] == "Proseware, Inc.");
        Assert.Empty(connection.Store.GetPendingWrites());
    }

    private static string? Empty(object? value) => value is string { Length: > 0 } s ? s : null;

    private static Process Start(SandboxHost host, string state)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CrmSync.SyncRunner.dll"));
        start.ArgumentList.Add(host.BaseUrl);
        start.ArgumentList.Add(state);
        start.ArgumentList.Add("full");
        start.ArgumentList.Add("CURRENCY,SALESPEOPLE,CUSTOMER");
        return Process.Start(start)!;
    }

    private static List<Dictionary<string, object?>> Rows(SandboxHost host, string service, string set)
    {
        var table = service == "Dataverse" ? host.Dataverse.Table(set) : host.BusinessCentral.Table(host.Sample!.CompanyId, set);
        var store = service == "Dataverse" ? host.Dataverse.Store : host.BusinessCentral.Store;
        lock (store.Sync)
        {
            return table.Rows.Select(r => table.Schema.Columns.Select((c, i) => (c.Name, Value: r.Values[i])).ToDictionary(x => x.Name, x => x.Value)).ToList();
        }
    }
}
