using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using CrmSync.Sandbox.Hosting;

namespace CrmSync.Benchmarks;

/// <summary>
/// The benchmark programs (System.CommandLine): "sync" (the default) runs every sync scenario in a process of its own
/// and prints the table; "sync-scenario" is one of those processes; "sandbox-seed" seeds N BC customers and N Dataverse
/// accounts, then reads all of them back through server-driven paging over HTTP. Each prints what it measured in this run.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => Command().Parse(args).InvokeAsync();

    private static RootCommand Command()
    {
        var quick = new Option<bool>("--quick") { Description = "A smoke run: 1,000 records per scenario (what CI runs)." };
        var sync = new Command("sync", "Every sync scenario at 10,000 and 100,000 records, each in a process of its own: the table.") { quick };
        sync.SetAction((result, _) => RunSyncAsync(result.GetValue(quick)));

        var rows = Count("--rows", 100_000, "BC customers and Dataverse accounts to seed.");
        var seed = new Command("sandbox-seed", "Seed the sandbox and read every row back through server-driven paging.") { rows };
        seed.SetAction(async (result, _) =>
        {
            await SandboxSeed(result.GetValue(rows));
            return 0;
        });

        var scenarioName = new Argument<string>("scenario") { Description = "The scenario (as the sync table names it)." };
        var n = new Option<int?>("--n") { Description = "Records (default 10,000; state-store 1,000,000, import-salespeople 1,000).", HelpName = "n" };
        var changes = Count("--changes", 1_000, "Changed records of the incremental scenarios.");
        var identities = Count("--identities", 1, "Integration identities in the pool.");
        var recordLatency = Count("--record-latency", 0, "Server time per record in ms (0: the realistic profile's).");
        var scenario = new Command("sync-scenario", "One scenario in this process (started by sync); prints its result as one JSON line.")
        {
            scenarioName, n, changes, identities, recordLatency,
        };
        scenario.SetAction(async (result, _) =>
        {
            var name = result.GetValue(scenarioName)!;
            var measured = name switch
            {
                "state-store" => await SyncBenchmark.StateStoreAsync(result.GetValue(n) ?? 1_000_000, result.GetValue(changes)),
                "import-salespeople" => await SyncBenchmark.ImportSalespeopleAsync(result.GetValue(n) ?? 1_000),
                _ => await SyncBenchmark.RunAsync(name, result.GetValue(n) ?? 10_000, result.GetValue(changes), result.GetValue(identities), result.GetValue(recordLatency)),
            };
            Console.WriteLine("RESULT " + JsonSerializer.Serialize(measured));
            return 0;
        });

        var root = new RootCommand("CrmSync benchmarks: the sync engine against the sandbox with realistic limits.") { sync, seed, scenario };
        root.SetAction((_, _) => RunSyncAsync(quick: false));
        return root;
    }

    private static Task<int> RunSyncAsync(bool quick) => SyncTable.RunAsync(quick, sizes: quick ? new[] { 1_000 } : new[] { 10_000, 100_000 });

    private static Option<int> Count(string name, int fallback, string description) => new(name)
    {
        Description = description,
        HelpName = "n",
        DefaultValueFactory = _ => fallback,
    };

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
