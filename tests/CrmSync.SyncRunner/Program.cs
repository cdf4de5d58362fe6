using CrmSync.Accounts;
using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.SandboxControl;
using CrmSync.Sync;

// Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mapping,mapping,...>
//        CrmSync.SyncRunner <sandbox base url> <state file> import <salespeople csv>
// The state may be a PostgreSQL connection string (Host=…); CRMSYNC_WORKER, CRMSYNC_LEASE_SECONDS and
// CRMSYNC_LEASE_WAIT_SECONDS then name the worker and set its leases.
if (args.Length != 4)
{
    Console.Error.WriteLine("Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mappings, comma-separated> | import <csv>");
    return 2;
}

var instance = await SandboxProcess.DescribeAsync(args[0]);
var settings = args[1].StartsWith("Host=", StringComparison.Ordinal)
    ? instance.ToConnectionSettings("runner", null) with { StateConnectionString = args[1] }
    : instance.ToConnectionSettings("runner", args[1]);
using var connection = await CrmSyncConnection.ConnectAsync(settings);
if (args[2] == "import")
{
    var rows = SalespersonCsv.Read(args[3]);
    var results = await SalespersonImport.For(connection, new Yes()).ImportAsync(rows,
        new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromMinutes(2) }, bad => Console.Error.WriteLine(bad.Message), CancellationToken.None);
    Console.WriteLine($"{results.Count(r => r.Succeeded)} of {rows.Count} rows imported");
    return results.All(r => r.Succeeded) && results.Count == rows.Count ? 0 : 1;
}

var catalog = new MappingCatalog(connection.Store);
var mappings = args[3].Split(',').Select(catalog.Get).ToList();
int Seconds(string variable, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) ? value : fallback;
var options = new SyncOptions
{
    FullSync = args[2] == "full",
    Worker = Environment.GetEnvironmentVariable("CRMSYNC_WORKER") ?? SyncOptions.DefaultWorker,
    LeaseDuration = TimeSpan.FromSeconds(Seconds("CRMSYNC_LEASE_SECONDS", 120)),
    LeaseWait = TimeSpan.FromSeconds(Seconds("CRMSYNC_LEASE_WAIT_SECONDS", 0)),
};
var jobs = await SyncEngine.For(connection).RunAsync(mappings, options, new ConsoleObserver(), CancellationToken.None);
foreach (var job in jobs)
{
    Console.WriteLine($"{job.MappingName} {job.Direction}: {job.Message}");
}

return jobs.Any(j => j.Failed > 0) ? 1 : 0;

internal sealed class Yes : ISetupObserver
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

internal sealed class ConsoleObserver : ISyncObserver
{
    public bool ShouldProcess(string target, string action) => true;
    public bool? ShouldContinue(string caption, string question, string yesMeans, string noMeans) => null;

    public void Progress(string mappingName, SyncDirection direction, int processed, string status)
    {
    }

    public void RecordFailed(SyncRecordResult result) => Console.Error.WriteLine(result);

    public void JobCompleted(CrmSync.State.IntegrationSyncJob job)
    {
    }

    public void Warning(string message) => Console.Error.WriteLine(message);

    public void Verbose(string message)
    {
    }
}
