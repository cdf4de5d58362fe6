using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CrmSync.Accounts;
using CrmSync.Connections;
using CrmSync.LocalSandbox;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.Benchmarks;

/// <summary>One scenario's measurements, as the child process reports them to the table.</summary>
public sealed record ScenarioResult(
    string Scenario, int Records, double Seconds, double RecordsPerSecond, double Ceiling, string CeilingBinding,
    int DataverseRequests, int BusinessCentralRequests, int Throttled, int PeakDataverseConcurrency, int PeakBusinessCentralConcurrency,
    double PeakManagedMiB, double PeakWorkingSetMiB, double BaselineRecordsPerSecond, int BaselineRecords, string Note);

/// <summary>
/// The sync engine against the sandbox in-process, with the realistic limits (reference/limits-and-reliability.md §0–3).
/// Each scenario runs in its own process (so peak memory belongs to one scenario) and prints one JSON line.
/// </summary>
public static class SyncBenchmark
{
    private sealed class QuietObserver : ISyncObserver
    {
        public int Failures;

        public bool ShouldProcess(string target, string action) => true;

        public void Progress(string mappingName, SyncDirection direction, int processed, string status)
        {
        }

        public void RecordFailed(SyncRecordResult result) => Interlocked.Increment(ref Failures);

        public void JobCompleted(IntegrationSyncJob job)
        {
        }

        public void Warning(string message)
        {
        }

        public void Verbose(string message)
        {
        }
    }

    private sealed class Yes : ISetupObserver
    {
        public bool ShouldProcess(string target, string action) => true;

        public void Progress(string activity, string status, int percent)
        {
        }
    }

    public static readonly string[] Scenarios = { "full-bc-to-dv", "full-dv-to-bc", "incremental-bc", "incremental-both", "idle" };

    public static async Task<ScenarioResult> RunAsync(string scenario, int n, int changes)
    {
        var limits = SandboxLimits.Realistic;
        var toBc = scenario == "full-dv-to-bc";
        await using var host = await SandboxHost.StartAsync(new SandboxOptions
        {
            Limits = limits,
            ExtraCustomers = toBc ? 0 : n,
            ExtraAccounts = toBc ? n : 0,
            DataverseUserSyncDelay = TimeSpan.Zero,
        });
        var instance = await SandboxProcess.DescribeAsync(host.BaseUrl);
        var state = Path.Combine(Path.GetTempPath(), $"crmsync-bench-{Guid.NewGuid():N}.db");
        var settings = instance.ToConnectionSettings("bench", state) with { IntegrationCredential = instance.IntegrationCredential() };
        using var connection = await CrmSyncConnection.ConnectAsync(settings);
        await new AccountSetup(connection, new Yes()).EnsureIntegrationUserAsync(new IntegrationUserRequest { ApplicationId = instance.IntegrationAppClientId!.Value }, CancellationToken.None);
        var catalog = new MappingCatalog(connection);
        var engine = new SyncEngine(connection);
        var observer = new QuietObserver();

        // Dependencies first, not measured: currencies and salespeople the customers look up.
        await engine.RunAsync(new[] { catalog.Get(StandardMappings.Currency), catalog.Get(StandardMappings.Salespeople) }, new SyncOptions { FullSync = true }, observer, CancellationToken.None);
        var customer = new[] { catalog.Get(StandardMappings.Customer) };
        if (scenario is "incremental-bc" or "incremental-both" or "idle")
        {
            await engine.RunAsync(customer, new SyncOptions { FullSync = true }, observer, CancellationToken.None);
            await engine.RunAsync(customer, new SyncOptions(), observer, CancellationToken.None);
            ChangeRecords(host, connection, scenario == "idle" ? 0 : changes, bothSides: scenario == "incremental-both");
        }

        host.Counters.Reset();
        GC.Collect();
        var clock = Stopwatch.StartNew();
        var peakManaged = 0L;
        using var sampler = new Timer(_ => peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false)), null, 0, 50);
        var jobs = await engine.RunAsync(customer, new SyncOptions { FullSync = scenario.StartsWith("full", StringComparison.Ordinal) }, observer, CancellationToken.None);
        clock.Stop();
        peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));

        var measured = scenario switch
        {
            "full-bc-to-dv" => jobs.Where(j => j.Direction == SyncDirection.ToIntegrationTable).Sum(j => j.Inserted + j.Modified + j.Unchanged),
            "full-dv-to-bc" => jobs.Where(j => j.Direction == SyncDirection.FromIntegrationTable).Sum(j => j.Inserted + j.Modified + j.Unchanged),
            _ => jobs.Sum(j => j.Inserted + j.Modified),
        };
        var seconds = scenario.StartsWith("full", StringComparison.Ordinal)
            ? jobs.Where(j => j.Direction == (toBc ? SyncDirection.FromIntegrationTable : SyncDirection.ToIntegrationTable)).Sum(j => ((j.FinishTime ?? j.StartTime) - j.StartTime).TotalSeconds)
            : clock.Elapsed.TotalSeconds;
        var (ceiling, binding) = toBc ? Ceiling.DataverseToBc(limits) : Ceiling.BcToDataverse(limits);
        var counters = host.Counters;
        var (dvRequests, bcRequests) = (counters.Requests("Dataverse"), counters.Requests("BusinessCentral"));
        var throttled = counters.Throttled("Dataverse") + counters.Throttled("BusinessCentral");
        var (dvPeak, bcPeak) = (counters.PeakConcurrency("Dataverse"), counters.PeakConcurrency("BusinessCentral"));
        if (Environment.GetEnvironmentVariable("CRMSYNC_BENCH_BUSY") is not null)
        {
            var dvLog = counters.Log.Where(e => e.Service == "Dataverse" && e.Endpoint.Contains("$batch")).ToList();
            var busy = dvLog.Sum(e => (e.CompletedAt - e.ReceivedAt).TotalSeconds);
            var first = dvLog.Min(e => e.ReceivedAt);
            var last = dvLog.Max(e => e.CompletedAt);
            Console.Error.WriteLine($"DV batch requests {dvLog.Count}, mean duration {busy / dvLog.Count:F3} s, span {(last - first).TotalSeconds:F1} s, busy/span {busy / (last - first).TotalSeconds:F2}");
        }

        if (Environment.GetEnvironmentVariable("CRMSYNC_BENCH_ENDPOINTS") is not null)
        {
            foreach (var service in new[] { "Dataverse", "BusinessCentral" })
            {
                foreach (var (endpoint, count) in counters.RequestsByEndpoint(service).OrderByDescending(kv => kv.Value).Take(8))
                {
                    Console.Error.WriteLine($"{service} {endpoint}: {count}");
                }
            }
        }

        var baseline = scenario.StartsWith("full", StringComparison.Ordinal) ? await BaselineAsync(host, toBc, Math.Min(n, 500)) : (0d, 0);
        File.Delete(state);
        return new ScenarioResult(
            scenario, measured, seconds, measured / Math.Max(0.001, seconds), ceiling, binding,
            dvRequests, bcRequests, throttled, dvPeak, bcPeak,
            peakManaged / 1048576.0, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, baseline.Item1, baseline.Item2,
            observer.Failures == 0 ? string.Empty : $"{observer.Failures} records failed");
    }

    // Changes made by people (not the integration identity), so the next run must carry them.
    private static void ChangeRecords(SandboxHost host, CrmSyncConnection connection, int count, bool bothSides)
    {
        var couplings = new CouplingService(connection).Get(StandardMappings.Customer).Take(count).ToList();
        var sample = host.Sample!;
        foreach (var (coupling, i) in couplings.Select((c, i) => (c, i)))
        {
            if (!bothSides || i % 2 == 0)
            {
                Require(host.Invoke("BusinessCentral", sample.Admin, "PATCH", $"companies({sample.CompanyId})/customers({coupling.BcId})",
                    new Dictionary<string, object> { ["phoneNumber"] = $"+1 555 {i:D4}" }, new Dictionary<string, string> { ["If-Match"] = "*" }));
            }
            else
            {
                Require(host.Invoke("Dataverse", sample.OrdinaryUser, "PATCH", $"accounts({coupling.DataverseId})",
                    new Dictionary<string, object> { ["telephone1"] = $"+1 555 {i:D4}" }, new Dictionary<string, string> { ["If-Match"] = "*" }));
            }
        }
    }

    private static void Require(ServiceResponse response)
    {
        if (response.Status >= 300)
        {
            throw new InvalidOperationException($"Changing a record failed: {response.Status} {response.BodyText}");
        }
    }

    /// <summary>What an admin's script does: read pages, then one POST per record, one after another.</summary>
    private static async Task<(double RecordsPerSecond, int Records)> BaselineAsync(SandboxHost host, bool toBc, int records)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false });
        var token = host.IssueToken(host.Sample!.IntegrationApp);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var clock = Stopwatch.StartNew();
        var company = $"{host.BusinessCentralApiUrl}companies({host.Sample.CompanyId})/";
        var source = toBc ? $"{host.DataverseApiUrl}accounts?$select=name,telephone1&$top={records}" : $"{company}customers?$select=displayName,phoneNumber&$top={records}";
        using var page = JsonDocument.Parse(await http.GetStringAsync(source));
        var rows = page.RootElement.GetProperty("value").EnumerateArray().ToList();
        foreach (var row in rows)
        {
            var body = toBc
                ? new { displayName = "Baseline " + row.GetProperty("name").GetString() } as object
                : new { name = "Baseline " + row.GetProperty("displayName").GetString(), customertypecode = 3 };
            using var response = await http.PostAsync(toBc ? company + "customers" : host.DataverseApiUrl + "accounts",
                new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }

        return (rows.Count / clock.Elapsed.TotalSeconds, rows.Count);
    }
}

/// <summary>
/// X*, the ceiling the sandbox's configured limits allow (reference/limits-and-reliability.md §3.1), for one user on one
/// web server: the writing side's min(request-count, execution-time, concurrency) bound at its best batch size, and the
/// reading side's bound; the lower of the two binds.
/// </summary>
public static class Ceiling
{
    public static (double RecordsPerSecond, string Binding) BcToDataverse(SandboxLimits limits)
    {
        var write = Best(limits.Dataverse, maxBatch: 1000, "Dataverse write");
        var read = Read(limits.BusinessCentral, pageSize: 20000, "BC read");
        return write.RecordsPerSecond <= read.RecordsPerSecond ? write : read;
    }

    public static (double RecordsPerSecond, string Binding) DataverseToBc(SandboxLimits limits)
    {
        var write = Best(limits.BusinessCentral, maxBatch: 100, "BC write");
        var read = Read(limits.Dataverse, pageSize: 5000, "Dataverse read");
        return write.RecordsPerSecond <= read.RecordsPerSecond ? write : read;
    }

    private static (double RecordsPerSecond, string Binding) Best(ServiceLimits s, int maxBatch, string side)
    {
        var best = (RecordsPerSecond: 0d, Binding: string.Empty);
        for (var b = 1; b <= maxBatch; b++)
        {
            var request = Bounds(s, b);
            var (rate, bound) = request.MinBy(x => x.Rate);
            if (rate > best.RecordsPerSecond)
            {
                best = (rate, $"{side}: {bound} at {b} records/request");
            }
        }

        return best;
    }

    private static IEnumerable<(double Rate, string Bound)> Bounds(ServiceLimits s, int b)
    {
        var tRecord = s.LatencyPerRecord.TotalSeconds;
        var latency = s.LatencyPerRequest.TotalSeconds + b * tRecord;
        if (s.RequestsPerWindow is { } requests)
        {
            yield return (requests / s.Window.TotalSeconds * b, $"requests ({requests}/{s.Window.TotalSeconds:0} s)");
        }

        if (s.ExecutionTimeBudget is { } budget)
        {
            yield return (budget.TotalSeconds / s.Window.TotalSeconds / (latency / b), $"execution time ({budget.TotalMinutes:0} min/{s.Window.TotalMinutes:0} min)");
        }

        yield return ((s.MaxConcurrent ?? 52) * b / Math.Max(latency, 1e-6), $"concurrency ({s.MaxConcurrent ?? 52})");
    }

    private static (double RecordsPerSecond, string Binding) Read(ServiceLimits s, int pageSize, string side) =>
        ((s.MaxConcurrent ?? 52) * pageSize / (s.LatencyPerRequest.TotalSeconds + pageSize * s.LatencyPerRecord.TotalSeconds), $"{side}: concurrency ({s.MaxConcurrent ?? 52}) at {pageSize} records/page");
}
