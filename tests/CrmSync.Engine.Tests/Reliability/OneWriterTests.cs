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
        var state = SyncRunnerProcess.NewStatePath();
        try
        {
            using var first = SyncRunnerProcess.Start(host, state, "full");
            using var second = SyncRunnerProcess.Start(host, state, "full");
            var outputs = await Task.WhenAll(SyncRunnerProcess.ReadToEndAsync(first), SyncRunnerProcess.ReadToEndAsync(second));

            var exits = new[] { first.ExitCode, second.ExitCode };
            Assert.Contains(0, exits);
            var refused = outputs[Array.IndexOf(exits, exits.First(e => e != 0))];
            Assert.True(exits.Count(e => e == 0) == 1, "exactly one of them synchronized: " + string.Join(" || ", outputs));
            // The holder is named once it has written its note beside the lock; a moment before, it is "another process".
            Assert.Matches(@"is in use by (process \d+|another process)", refused);
            Assert.Contains(state, refused);

            using var connection = CrmSyncConnection.Open("check", state);
            var couplings = connection.Store.Couplings.GetAll(StandardMappings.Customer);
            Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
            Assert.Equal(3_000, host.Dataverse.Table("accounts").Rows.Count(r => ((string?)r.Values[host.Dataverse.Table("accounts").Schema.IndexOf("name")])?.StartsWith("Benchmark Customer", StringComparison.Ordinal) == true));
        }
        finally
        {
            SyncRunnerProcess.DeleteState(state);
        }
    }
}
