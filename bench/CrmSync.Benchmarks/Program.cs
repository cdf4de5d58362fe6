using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using CrmSync.Sandbox.Hosting;

namespace CrmSync.Benchmarks;

/// <summary>
/// sandbox-seed: seeds N BC customers and N Dataverse accounts, then reads all of them back through
/// server-driven paging over HTTP. Prints times, rates and memory measured in this run.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var benchmark = args.FirstOrDefault() ?? "sync";
        int Option(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();
        switch (benchmark)
        {
            case "sandbox-seed":
                await SandboxSeed(Option("--rows", 100_000));
                return 0;
            case "sync":
                return await SyncTable.RunAsync(quick: args.Contains("--quick"), sizes: args.Contains("--quick") ? new[] { 1_000 } : new[] { 10_000, 100_000 });
            case "sync-scenario":
                // One scenario in this process (started by "sync"), its result as one JSON line.
                var result = args[1] switch
                {
                    "state-store" => await SyncBenchmark.StateStoreAsync(Option("--n", 1_000_000), Option("--changes", 1_000)),
                    "import-salespeople" => await SyncBenchmark.ImportSalespeopleAsync(Option("--n", 1_000)),
                    _ => await SyncBenchmark.RunAsync(args[1], Option("--n", 10_000), Option("--changes", 1_000), Option("--identities", 1), Option("--record-latency", 0)),
                };
                Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
                return 0;
            default:
                Console.Error.WriteLine($"Unknown benchmark '{benchmark}'. Available: sync [--quick], sandbox-seed [--rows N]");
                return 2;
        }
    }

    private static async Task SandboxSeed(int rows)
    {
        Console.WriteLine($"sandbox-seed: {rows:N0} BC customers + {rows:N0} Dataverse accounts, {Environment.ProcessorCount} cores");
        var baselineClock = Stopwatch.StartNew();
        await using (await SandboxHost.StartAsync(new SandboxOptions()))
        {
        }

        var baseline = baselineClock.Elapsed;
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        await using var host = await SandboxHost.StartAsync(new SandboxOptions { ExtraCustomers = rows, ExtraAccounts = rows });
        var seeded = clock.Elapsed;
        var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"  start with sample data only:    {baseline.TotalSeconds,8:F2} s");
        Console.WriteLine($"  start with {2 * rows:N0} extra rows: {seeded.TotalSeconds,8:F2} s  ({2 * rows / Math.Max(0.001, (seeded - baseline).TotalSeconds):N0} rows/s seeded)");
        Console.WriteLine($"  managed heap for the data:      {(memoryAfter - memoryBefore) / 1024.0 / 1024.0,8:F1} MiB ({(memoryAfter - memoryBefore) / (2.0 * rows):N0} bytes/row)");

        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false });
        var token = host.IssueToken(host.Sample!.SetupApp);
        var (dvRows, dvPages, dvTime) = await ReadAll(http, token, host.DataverseApiUrl + "accounts?$select=name,telephone1,address1_city", 5000);
        var (bcRows, bcPages, bcTime) = await ReadAll(http, token, $"{host.BusinessCentralApiUrl}companies({host.Sample.CompanyId})/customers?$select=number,displayName,city", 20000);
        Console.WriteLine($"  Dataverse paged read:  {dvRows,8:N0} rows in {dvPages,3} pages, {dvTime.TotalSeconds,6:F2} s ({dvRows / dvTime.TotalSeconds:N0} rows/s)");
        Console.WriteLine($"  BC paged read:         {bcRows,8:N0} rows in {bcPages,3} pages, {bcTime.TotalSeconds,6:F2} s ({bcRows / bcTime.TotalSeconds:N0} rows/s)");
        Console.WriteLine($"  peak working set:      {Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0,8:F1} MiB");
    }

    private static async Task<(int Rows, int Pages, TimeSpan Time)> ReadAll(HttpClient http, string token, string url, int pageSize)
    {
        var clock = Stopwatch.StartNew();
        var rows = 0;
        var pages = 0;
        string? next = url;
        while (next is not null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, next);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("Prefer", $"odata.maxpagesize={pageSize}");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync();
            using var document = await JsonDocument.ParseAsync(stream);
            rows += document.RootElement.GetProperty("value").GetArrayLength();
            pages++;
            next = document.RootElement.TryGetProperty("@odata.nextLink", out var link) ? link.GetString() : null;
        }

        return (rows, pages, clock.Elapsed);
    }
}
