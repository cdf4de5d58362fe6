using System.Diagnostics;
using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// Two runbooks started together on the same state file: one synchronizes, the other stops at once with an error that
/// names the state file and the process holding it. Never two writers.
/// </summary>
public sealed class OneWriterTests
{
    [Fact]
    public async Task Two_processes_syncing_with_one_state_file_never_write_together()
    {
        await using var host = await SandboxHost.StartAsync(new SandboxOptions { ExtraCustomers = 3_000, DataverseUserSyncDelay = TimeSpan.Zero });
        var state = Path.Combine(Path.GetTempPath(), $"crmsync-two-{Guid.NewGuid():N}.db");
        try
        {
            using var first = Start(host, state);
            using var second = Start(host, state);
            var outputs = await Task.WhenAll(ReadAsync(first), ReadAsync(second));

            var exits = new[] { first.ExitCode, second.ExitCode };
            Assert.Contains(0, exits);
            var refused = outputs[Array.IndexOf(exits, exits.First(e => e != 0))];
            Assert.True(exits.Count(e => e == 0) == 1, "exactly one of them synchronized: " + string.Join(" || ", outputs));
            Assert.Contains("is in use by process", refused);
            Assert.Contains(state, refused);

            using var connection = CrmSyncConnection.Open("check", state);
            var couplings = connection.Store.GetCouplings(StandardMappings.Customer);
            Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
            Assert.Equal(3_000, host.Dataverse.Table("accounts").Rows.Count(r => ((string?)r.Values[host.Dataverse.Table("accounts").Schema.IndexOf("name")])?.StartsWith("Benchmark Customer", StringComparison.Ordinal) == true));
        }
        finally
        {
            foreach (var file in new[] { state, state + "-wal", state + "-shm", state + ".lock", state + ".owner" })
            {
                File.Delete(file);
            }
        }
    }

    private static async Task<string> ReadAsync(Process process)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return await output + await errors;
    }

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
}
