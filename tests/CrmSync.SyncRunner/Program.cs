using CrmSync.Connections;
using CrmSync.LocalSandbox;
using CrmSync.Mapping;
using CrmSync.Sync;

// Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mapping,mapping,...>
if (args.Length != 4)
{
    Console.Error.WriteLine("Usage: CrmSync.SyncRunner <sandbox base url> <state file> <full|modified> <mappings, comma-separated>");
    return 2;
}

var instance = await SandboxProcess.DescribeAsync(args[0]);
using var connection = await CrmSyncConnection.ConnectAsync(instance.ToConnectionSettings("runner", args[1]));
var catalog = new MappingCatalog(connection);
var mappings = args[3].Split(',').Select(catalog.Get).ToList();
var jobs = await new SyncEngine(connection).RunAsync(mappings, new SyncOptions { FullSync = args[2] == "full" }, new ConsoleObserver(), CancellationToken.None);
foreach (var job in jobs)
{
    Console.WriteLine($"{job.MappingName} {job.Direction}: {job.Message}");
}

return jobs.Any(j => j.Failed > 0) ? 1 : 0;

internal sealed class ConsoleObserver : ISyncObserver
{
    public bool ShouldProcess(string target, string action) => true;

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
