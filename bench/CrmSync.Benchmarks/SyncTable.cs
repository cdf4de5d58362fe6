using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace CrmSync.Benchmarks;

/// <summary>Runs every sync scenario in a process of its own and prints the table: measured in this run, never assumed.</summary>
public static class SyncTable
{
    /// <summary>Integration identities in the pool rows (k = 1 is the plain full-bc-to-dv row).</summary>
    private static readonly int[] PoolSizes = { 2, 4 };

    /// <summary>Server time per record of the pool rows: the realistic 1 ms (0), and a slower service.</summary>
    private static readonly int[] PoolRecordLatencies = { 0, 4 };

    public static async Task<int> RunAsync(bool quick, IReadOnlyList<int> sizes)
    {
        Console.WriteLine($"sync: the engine against the sandbox (a process of its own), realistic limits, {Environment.ProcessorCount} cores{(quick ? " (quick: a smoke run)" : string.Empty)}");
        var results = new List<ScenarioResult>();
        foreach (var n in sizes)
        {
            foreach (var scenario in SyncBenchmark.Scenarios)
            {
                var changes = Math.Min(1_000, n / 10);
                var result = await RunChildAsync(scenario, n, changes);
                if (result is null)
                {
                    return 1;
                }

                results.Add(result with { Scenario = $"{result.Scenario} N={n:N0}" + (scenario.StartsWith("incremental", StringComparison.Ordinal) ? $" M={changes:N0}" : string.Empty) });
                Print(results[^1]);
            }
        }

        // Several application users (a pool), each with its own limits: the full sync into Dataverse at the largest size,
        // against k times one identity's X*. With the realistic 1 ms per record, k = 4 asks for more than two cores can
        // process (engine and emulator of all three services share them); with 4 ms per record the services' limits bind
        // first, which is the scaling the pool is for.
        foreach (var latency in PoolRecordLatencies)
        {
            foreach (var k in latency == 0 ? PoolSizes : PoolSizes.Prepend(1))
            {
                var result = await RunChildAsync("full-bc-to-dv", sizes[^1], 0, k, latency);
                if (result is null)
                {
                    return 1;
                }

                results.Add(result with { Scenario = $"{result.Scenario} k={k}{(latency == 0 ? string.Empty : $" {latency} ms/record")} N={sizes[^1]:N0}" });
                Print(results[^1]);
            }
        }

        var store = await RunChildAsync("state-store", quick ? 20_000 : 1_000_000, quick ? 100 : 1_000);
        var import = store is null ? null : await RunChildAsync("import-salespeople", quick ? 50 : 1_000, 0);
        if (store is null || import is null)
        {
            return 1;
        }

        results.Add(store with { Scenario = $"state-store N={(quick ? 20_000 : 1_000_000):N0} M={(quick ? 100 : 1_000):N0}" });
        Print(results[^1]);
        results.Add(import with { Scenario = $"import-salespeople N={(quick ? 50 : 1_000):N0}" });
        Print(results[^1]);

        Console.WriteLine();
        Console.WriteLine("| scenario | records | s | rec/s | X* rec/s | of X* | binding limit | DV req | BC req | 429 | peak conc DV/BC | managed MiB | RSS MiB | baseline rec/s | × baseline |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var ofCeiling = r.Ceiling > 0 ? r.RecordsPerSecond / r.Ceiling : 0;
            var vsBaseline = r.BaselineRecordsPerSecond > 0 ? $"{r.RecordsPerSecond / r.BaselineRecordsPerSecond:F1}×" : "—";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Records:N0} | {r.Seconds:F1} | {r.RecordsPerSecond:F0} | {r.Ceiling:F0} | {ofCeiling:P0} | {r.CeilingBinding} | {r.DataverseRequests:N0} | {r.BusinessCentralRequests:N0} | {r.Throttled} | {r.PeakDataverseConcurrency}/{r.PeakBusinessCentralConcurrency} | {r.PeakManagedMiB:F0} | {r.PeakWorkingSetMiB:F0} | {(r.BaselineRecordsPerSecond > 0 ? r.BaselineRecordsPerSecond.ToString("F1", CultureInfo.InvariantCulture) : "—")} | {vsBaseline} |"));
        }

        foreach (var r in results.Where(r => r.Detail.Length > 0))
        {
            Console.WriteLine();
            Console.WriteLine($"{r.Scenario}: {r.Detail}");
        }

        return results.Any(r => !string.IsNullOrEmpty(r.Note)) ? 1 : 0;
    }

    private static void Print(ScenarioResult r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {r.Scenario,-40} {r.Records,8:N0} records {r.Seconds,7:F1} s {r.RecordsPerSecond,8:F0} rec/s  X* {r.Ceiling:F0} ({r.CeilingBinding})  DV {r.DataverseRequests:N0} req, BC {r.BusinessCentralRequests:N0} req, 429: {r.Throttled} {r.Note}"));

    private static async Task<ScenarioResult?> RunChildAsync(string scenario, int n, int changes, int identities = 1, int recordLatencyMs = 0)
    {
        var self = typeof(SyncTable).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { self, "sync-scenario", scenario, "--n", n.ToString(CultureInfo.InvariantCulture), "--changes", changes.ToString(CultureInfo.InvariantCulture), "--identities", identities.ToString(CultureInfo.InvariantCulture), "--record-latency", recordLatencyMs.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            Console.Error.WriteLine($"Scenario {scenario} (N={n}) failed with exit code {process.ExitCode}:{Environment.NewLine}{output}{errors}");
            return null;
        }

        return JsonSerializer.Deserialize<ScenarioResult>(line["RESULT ".Length..]);
    }
}
