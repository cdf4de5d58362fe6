using CrmSync.Accounts;
using CrmSync.Connections;
using CrmSync.SandboxControl;
using CrmSync.Mapping;
using CrmSync.Sync;

// Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mapping,mapping,...>
//        CrmSync.SyncRunner <sandbox base url> <state file> import <salespeople csv>
if (args.Length != 4)
{
    Console.Error.WriteLine("Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mappings, comma-separated> | import <csv>");
    return 2;
}

var instance = await SandboxProcess.DescribeAsync(args[0]);
using var connection = await CrmSyncConnection.ConnectAsync(instance.ToConnectionSettings("runner", args[1]));
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
var jobs = await SyncEngine.For(connection).RunAsync(mappings, new SyncOptions { FullSync = args[2] == "full" }, new ConsoleObserver(), CancellationToken.None);
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
