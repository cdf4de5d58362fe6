using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using CrmSync.Accounts;
using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.Sandbox.Limits;
using CrmSync.SandboxControl;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.Benchmarks;

/// <summary>One scenario's measurements, as the child process reports them to the table.</summary>
public sealed record ScenarioResult(
    string Scenario, int Records, double Seconds, double RecordsPerSecond, double Ceiling, string CeilingBinding,
    int DataverseRequests, int BusinessCentralRequests, int Throttled, int PeakDataverseConcurrency, int PeakBusinessCentralConcurrency,
    double PeakManagedMiB, double PeakWorkingSetMiB, double BaselineRecordsPerSecond, int BaselineRecords, string Note)
{
    /// <summary>What the scenario measured beyond the table's columns.</summary>
    public string Detail { get; init; } = string.Empty;
}

/// <summary>
/// The sync engine against the sandbox with the realistic limits (docs/reference/limits.md §0–3). Each scenario
/// runs in a process of its own and starts its own sandbox process, so peak memory is the engine's in one scenario; it
/// prints one JSON line.
/// </summary>
public static class SyncBenchmark
{
    private sealed class QuietObserver : ISyncObserver
    {
        public int Failures;

        public bool ShouldProcess(string target, string action) => true;
        public bool? ShouldContinue(string caption, string question, string yesMeans, string noMeans) => null;

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
        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Progress(string activity, string status, int percent)
        {
        }
    }

    public static readonly string[] Scenarios = { "full-bc-to-dv", "full-dv-to-bc", "incremental-bc", "incremental-both", "idle" };

    /// <summary>
    /// The state store at scale: <paramref name="couplings"/> couplings (10,000 of them real, the rest generated), coupling
    /// lookups timed at 10,000 and at the full size (flat when indexed), and an incremental run of <paramref name="changes"/>
    /// changed customers, with the share of its time spent in state-store transactions (per-batch commits).
    /// </summary>
    public static async Task<ScenarioResult> StateStoreAsync(int couplings, int changes)
    {
        const int real = 10_000;
        await using var sandbox = await SandboxService.StartAsync(new SandboxStartOptions { Profile = "realistic", ExtraCustomers = real, DataverseUserSyncDelay = TimeSpan.Zero });
        var instance = sandbox.Instance;
        var state = NewStatePath();
        using var connection = await ConnectForSyncAsync(instance, state);
        var catalog = new MappingCatalog(connection.Store);
        var engine = SyncEngine.For(connection);
        var observer = new QuietObserver();
        await engine.RunAsync(new[] { catalog.Get(StandardMappings.Currency), catalog.Get(StandardMappings.Salespeople), catalog.Get(StandardMappings.Customer) }, new SyncOptions { FullSync = true }, observer, CancellationToken.None);
        var store = connection.Store;
        var coupled = store.Couplings.GetAll(StandardMappings.Customer);
        var lookupsAtReal = TimeLookups(store, coupled);

        var generate = Stopwatch.StartNew();
        var toAdd = Math.Max(0, couplings - coupled.Count);
        for (var done = 0; done < toAdd; done += 50_000)
        {
            store.InTransaction(() =>
            {
                for (var i = done; i < Math.Min(toAdd, done + 50_000); i++)
                {
                    store.Couplings.Save(new IntegrationCoupling { MappingName = StandardMappings.Customer, BcId = Guid.NewGuid(), DataverseId = Guid.NewGuid(), CoupledAt = DateTimeOffset.UtcNow, LastSynchCrmResult = SyncResult.Success });
                }
            });
        }

        generate.Stop();
        var lookupsAtFull = TimeLookups(store, coupled);
        await ChangeRecordsAsync(sandbox, connection, changes, bothSides: false);
        await sandbox.ResetCountsAsync();
        var transactionsBefore = store.TransactionTime;
        var clock = Stopwatch.StartNew();
        var jobs = await engine.RunAsync(new[] { catalog.Get(StandardMappings.Customer) }, new SyncOptions(), observer, CancellationToken.None);
        clock.Stop();
        var commitShare = (store.TransactionTime - transactionsBefore) / clock.Elapsed;
        var counts = await sandbox.CountsAsync();
        var modified = jobs.Sum(j => j.Modified + j.Inserted);
        File.Delete(state);
        return new ScenarioResult(
            "state-store", modified, clock.Elapsed.TotalSeconds, modified / clock.Elapsed.TotalSeconds, 0, "—",
            counts.Of("Dataverse").Requests, counts.Of("BusinessCentral").Requests,
            counts.Throttled, counts.Of("Dataverse").PeakConcurrency, counts.Of("BusinessCentral").PeakConcurrency,
            GC.GetTotalMemory(false) / 1048576.0, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 0, 0,
            observer.Failures == 0 && modified == changes ? string.Empty : $"{observer.Failures} records failed, {modified} of {changes} written")
        {
            Detail = string.Create(CultureInfo.InvariantCulture,
                $"state store with {coupled.Count + toAdd:N0} couplings ({toAdd:N0} generated in {generate.Elapsed.TotalSeconds:F1} s, {toAdd / Math.Max(0.001, generate.Elapsed.TotalSeconds):N0}/s): " +
                $"a coupling lookup takes {lookupsAtReal.TotalMicroseconds:F0} µs at {coupled.Count:N0} and {lookupsAtFull.TotalMicroseconds:F0} µs at {coupled.Count + toAdd:N0} ({lookupsAtFull / lookupsAtReal:F2}×); " +
                $"the incremental run of {changes:N0} spent {commitShare:P1} of its {clock.Elapsed.TotalSeconds:F2} s in state-store transactions"),
        };
    }

    /// <summary>
    /// Import-Salesperson of <paramref name="rows"/> CSV rows: users created in Entra (Graph), licensed, found in Dataverse,
    /// given the Salesperson role and coupled to the BC salespeople with their e-mails. X*: Graph counts every request of a
    /// $batch against its limit, and each row needs at least two (create the user, assign the license).
    /// </summary>
    public static async Task<ScenarioResult> ImportSalespeopleAsync(int rows)
    {
        const int baselineRows = 20;
        await using var sandbox = await SandboxService.StartAsync(new SandboxStartOptions { Profile = "realistic", ExtraSalespeople = rows, DataverseUserSyncDelay = TimeSpan.Zero });
        var instance = sandbox.Instance;
        var state = NewStatePath();
        using var connection = await CrmSyncConnection.ConnectAsync(instance.ToConnectionSettings("bench", state));
        var csv = Path.Combine(Path.GetTempPath(), $"crmsync-bench-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(csv, new[] { string.Join(',', SalespersonCsv.Headers) }.Concat(Enumerable.Range(1, rows).Select(i =>
        {
            var number = i.ToString("D5", CultureInfo.InvariantCulture);
            var values = SalespersonCsv.Headers.Select(h => h switch
            {
                SalespersonCsv.UserName => $"sales{number}@contoso.com",
                SalespersonCsv.FirstName => "Sales",
                SalespersonCsv.LastName => "Person " + number,
                SalespersonCsv.DisplayName => "Sales Person " + number,
                SalespersonCsv.Country => "United States",
                _ => string.Empty,
            });
            return string.Join(',', values);
        })));
        var parsed = SalespersonCsv.Read(csv);
        File.Delete(csv);

        await sandbox.ResetCountsAsync();
        GC.Collect();
        var peakManaged = 0L;
        using var sampler = new Timer(_ => peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false)), null, 0, 50);
        var badRows = 0;
        var clock = Stopwatch.StartNew();
        var results = await SalespersonImport.For(connection, new Yes()).ImportAsync(parsed, new SalespersonImportOptions { PollInterval = TimeSpan.FromSeconds(1) }, _ => badRows++, CancellationToken.None);
        clock.Stop();
        var counts = await sandbox.CountsAsync();
        var imported = results.Count(r => r.Steps.All(s => s.Outcome is StepOutcome.Done or StepOutcome.AlreadyDone));
        var limits = SandboxLimits.Realistic.Graph;
        var ceiling = limits.RequestsPerWindow!.Value / limits.Window.TotalSeconds / 2;

        // The baseline: a script creating and licensing users one request at a time (the rest of the import not counted).
        var baselineClock = Stopwatch.StartNew();
        for (var i = 1; i <= baselineRows; i++)
        {
            using var created = await sandbox.SendAsync(HttpMethod.Post, $"{instance.GraphUrl.TrimEnd('/')}/users", new
            {
                accountEnabled = true, displayName = $"Baseline {i}", mailNickname = $"baseline{i}", userPrincipalName = $"baseline{i}@contoso.com", usageLocation = "US",
                passwordProfile = new { forceChangePasswordNextSignIn = true, password = "Baseline-Pass-1!" },
            });
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            using var licensed = await sandbox.SendAsync(HttpMethod.Post, $"{instance.GraphUrl.TrimEnd('/')}/users/{id}/assignLicense", new
            {
                addLicenses = new[] { new { skuId = "ea126fc5-a19e-42e2-a731-da9d437bffcf" } }, removeLicenses = Array.Empty<Guid>(),
            });
        }

        var baselineRate = baselineRows / baselineClock.Elapsed.TotalSeconds;
        File.Delete(state);
        return new ScenarioResult(
            "import-salespeople", imported, clock.Elapsed.TotalSeconds, imported / clock.Elapsed.TotalSeconds, ceiling, "Graph: requests (3500/10 s), 2 per row",
            counts.Of("Dataverse").Requests, counts.Of("BusinessCentral").Requests, counts.Throttled, counts.Of("Dataverse").PeakConcurrency, counts.Of("BusinessCentral").PeakConcurrency,
            peakManaged / 1048576.0, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, baselineRate, baselineRows,
            imported == rows && badRows == 0 ? string.Empty : $"{imported} of {rows} rows imported, {badRows} rejected")
        {
            Detail = $"Graph: {counts.Of("Graph").Requests:N0} requests ({string.Join(", ", counts.Of("Graph").Endpoints.OrderByDescending(e => e.Value).Take(5).Select(e => $"{e.Key} {e.Value:N0}"))}), peak concurrency {counts.Of("Graph").PeakConcurrency}",
        };
    }

    // Mean time of a coupling lookup by BC id and by Dataverse id, over real couplings and absent ids.
    private static TimeSpan TimeLookups(StateStore store, IReadOnlyList<IntegrationCoupling> coupled)
    {
        var random = new Random(1);
        const int lookups = 10_000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < lookups; i++)
        {
            var c = coupled[random.Next(coupled.Count)];
            _ = i % 3 == 0 ? store.Couplings.GetByBcId(StandardMappings.Customer, Guid.NewGuid())
                : i % 3 == 1 ? store.Couplings.GetByBcId(StandardMappings.Customer, c.BcId)
                : store.Couplings.GetByDataverseId(StandardMappings.Customer, c.DataverseId);
        }

        return clock.Elapsed / lookups;
    }

    /// <param name="identities">Integration identities the connection spreads its requests over (a pool): each has the sandbox's limits, so X* is that many times one identity's.</param>
    /// <param name="recordLatencyMs">Server time per record (0: the realistic profile's 1 ms).</param>
    public static async Task<ScenarioResult> RunAsync(string scenario, int n, int changes, int identities = 1, int recordLatencyMs = 0)
    {
        // The child sandbox runs --profile realistic (with --record-latency when given): these limits (for X*).
        var recordLatency = recordLatencyMs > 0 ? TimeSpan.FromMilliseconds(recordLatencyMs) : (TimeSpan?)null;
        var limits = recordLatency is { } perRecord ? SandboxLimits.Realistic.WithRecordLatency(perRecord) : SandboxLimits.Realistic;
        var toBc = scenario == "full-dv-to-bc";
        await using var sandbox = await SandboxService.StartAsync(new SandboxStartOptions
        {
            Profile = "realistic",
            ExtraCustomers = toBc ? 0 : n,
            ExtraAccounts = toBc ? n : 0,
            DataverseUserSyncDelay = TimeSpan.Zero,
            IntegrationApps = Math.Max(4, identities),
            RecordLatency = recordLatency,
        });
        var instance = sandbox.Instance;
        var state = NewStatePath();
        using var connection = await ConnectForSyncAsync(instance, state, identities);
        var catalog = new MappingCatalog(connection.Store);
        var engine = SyncEngine.For(connection);
        var observer = new QuietObserver();

        // Dependencies first, not measured: currencies and salespeople the customers look up.
        await engine.RunAsync(new[] { catalog.Get(StandardMappings.Currency), catalog.Get(StandardMappings.Salespeople) }, new SyncOptions { FullSync = true }, observer, CancellationToken.None);
        var customer = new[] { catalog.Get(StandardMappings.Customer) };
        if (scenario is "incremental-bc" or "incremental-both" or "idle")
        {
            await engine.RunAsync(customer, new SyncOptions { FullSync = true }, observer, CancellationToken.None);
            await engine.RunAsync(customer, new SyncOptions(), observer, CancellationToken.None);
            await ChangeRecordsAsync(sandbox, connection, scenario == "idle" ? 0 : changes, bothSides: scenario == "incremental-both");
        }

        await sandbox.ResetCountsAsync();
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
        (ceiling, binding) = identities == 1 ? (ceiling, binding) : (ceiling * identities, $"{identities} × ({binding})");
        var counts = await sandbox.CountsAsync();
        var (dv, bc) = (counts.Of("Dataverse"), counts.Of("BusinessCentral"));
        if (Environment.GetEnvironmentVariable("CRMSYNC_BENCH_ENDPOINTS") is not null)
        {
            foreach (var (service, count) in new[] { ("Dataverse", dv), ("BusinessCentral", bc) })
            {
                foreach (var (endpoint, requests) in count.Endpoints.OrderByDescending(kv => kv.Value).Take(8))
                {
                    Console.Error.WriteLine($"{service} {endpoint}: {requests}");
                }
            }
        }

        var peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
        var baseline = scenario.StartsWith("full", StringComparison.Ordinal) ? await BaselineAsync(sandbox, toBc, Math.Min(n, 500)) : (0d, 0);
        File.Delete(state);
        return new ScenarioResult(
            scenario, measured, seconds, measured / Math.Max(0.001, seconds), ceiling, binding,
            dv.Requests, bc.Requests, dv.Throttled + bc.Throttled, dv.PeakConcurrency, bc.PeakConcurrency,
            peakManaged / 1048576.0, peakWorkingSet, baseline.Item1, baseline.Item2,
            observer.Failures == 0 ? string.Empty : $"{observer.Failures} records failed");
    }

    private static string NewStatePath() => Path.Combine(Path.GetTempPath(), $"crmsync-bench-{Guid.NewGuid():N}.db");

    // Connected as the sync cmdlets leave it: the integration users exist, and the engine writes as the integration
    // identities (a pool of them when more than one), so only their changes are echoes.
    private static async Task<CrmSyncConnection> ConnectForSyncAsync(SandboxInstance instance, string statePath, int identities = 1)
    {
        var connection = await CrmSyncConnection.ConnectAsync(instance.ToConnectionSettings("bench", statePath) with { IntegrationCredentials = instance.IntegrationCredentials(identities) });
        foreach (var app in instance.IntegrationApps.Take(identities))
        {
            await IntegrationUserSetup.For(connection, new Yes()).EnsureAsync(new IntegrationUserRequest { ApplicationId = app.ClientId }, CancellationToken.None);
        }

        await connection.EnsureSyncIdentityAsync(CancellationToken.None);
        return connection;
    }

    // Changes made by someone other than the integration identity (the setup application), so the next run must carry them.
    private static async Task ChangeRecordsAsync(SandboxService sandbox, CrmSyncConnection connection, int count, bool bothSides)
    {
        var couplings = CouplingService.For(connection).Get(StandardMappings.Customer).Take(count).ToList();
        foreach (var (coupling, i) in couplings.Select((c, i) => (c, i)))
        {
            // Not a value any generated record has (+1 555 dddd), so every change is a change.
            var phone = $"+1 556 {i:D4}";
            using var response = !bothSides || i % 2 == 0
                ? await sandbox.SendAsync(HttpMethod.Patch, $"{sandbox.CompanyUrl}customers({coupling.BcId})", new { phoneNumber = phone }, ifMatch: "*")
                : await sandbox.SendAsync(HttpMethod.Patch, $"{sandbox.DataverseApiUrl}accounts({coupling.DataverseId})", new { telephone1 = phone }, ifMatch: "*");
        }
    }

    /// <summary>What an admin's script does: read pages, then one POST per record, one after another.</summary>
    private static async Task<(double RecordsPerSecond, int Records)> BaselineAsync(SandboxService sandbox, bool toBc, int records)
    {
        var clock = Stopwatch.StartNew();
        var source = toBc ? $"{sandbox.DataverseApiUrl}accounts?$select=name,telephone1&$top={records}" : $"{sandbox.CompanyUrl}customers?$select=displayName,phoneNumber&$top={records}";
        using var pageResponse = await sandbox.SendAsync(HttpMethod.Get, source, integration: true);
        using var page = JsonDocument.Parse(await pageResponse.Content.ReadAsStringAsync());
        var rows = page.RootElement.GetProperty("value").EnumerateArray().ToList();
        foreach (var row in rows)
        {
            var body = toBc
                ? new { displayName = "Baseline " + row.GetProperty("name").GetString() } as object
                : new { name = "Baseline " + row.GetProperty("displayName").GetString(), customertypecode = 3 };
            using var response = await sandbox.SendAsync(HttpMethod.Post, toBc ? sandbox.CompanyUrl + "customers" : sandbox.DataverseApiUrl + "accounts", body, integration: true);
        }

        return (rows.Count / clock.Elapsed.TotalSeconds, rows.Count);
    }
}

/// <summary>
/// X*, the ceiling the sandbox's configured limits allow (docs/reference/limits.md §3.1), for one user on one
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
