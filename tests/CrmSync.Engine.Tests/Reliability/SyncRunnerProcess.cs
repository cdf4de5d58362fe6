using System.Diagnostics;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>A sync (or a salespeople import) in its own process (tests/CrmSync.SyncRunner), so a test can kill it or run two at once.</summary>
internal static class SyncRunnerProcess
{
    /// <summary>The long forms of the reliability tests run with CRMSYNC_LONG_TESTS=1 (their figures are in docs/reliability.md).</summary>
    public static bool Long { get; } = Environment.GetEnvironmentVariable("CRMSYNC_LONG_TESTS") == "1";

    public const string CustomerMappings = "CURRENCY,SALESPEOPLE,CUSTOMER";

    /// <param name="mode">full, modified or import.</param>
    /// <param name="argument">The mappings, comma-separated; for import, the CSV path.</param>
    /// <param name="environment">Variables for the runner (a worker's name and leases on a shared state).</param>
    public static Process Start(SandboxHost host, string state, string mode, string argument = CustomerMappings, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CrmSync.SyncRunner.dll"));
        start.ArgumentList.Add(host.BaseUrl);
        start.ArgumentList.Add(state);
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    /// <summary>Waits for the process and returns what it printed (output, then errors).</summary>
    public static async Task<string> ReadToEndAsync(Process process)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return await output + await errors;
    }

    /// <summary>The sandbox the kill tests run against: fast services (5 ms a request), BC's 429s without Retry-After.</summary>
    public static Task<SandboxHost> StartSandboxAsync(SandboxOptions options) => SandboxHost.StartAsync(options with
    {
        DataverseUserSyncDelay = TimeSpan.Zero,
        Limits = new SandboxLimits
        {
            Dataverse = new ServiceLimits { LatencyPerRequest = TimeSpan.FromMilliseconds(5) },
            BusinessCentral = new ServiceLimits { LatencyPerRequest = TimeSpan.FromMilliseconds(5), SendRetryAfter = false },
        },
    });

    public static string NewStatePath() => Path.Combine(Path.GetTempPath(), $"crmsync-runner-{Guid.NewGuid():N}.db");

    public static void DeleteState(string state)
    {
        foreach (var file in new[] { state, state + "-wal", state + "-shm", state + ".lock", state + ".owner" })
        {
            File.Delete(file);
        }
    }
}
