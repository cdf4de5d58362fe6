using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sandbox.Core;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

/// <summary>Runs the sync engine against a sandbox and inspects both sides.</summary>
internal sealed class RecordingObserver : ISyncObserver
{
    public List<SyncRecordResult> Failures { get; } = new();

    public List<IntegrationSyncJob> Jobs { get; } = new();

    public List<(string Target, string Action)> Asked { get; } = new();

    public List<string> Warnings { get; } = new();

    public bool Answer { get; set; } = true;

    /// <summary>The answer to a ShouldContinue question; null: nobody could answer.</summary>
    public bool? ContinueAnswer { get; set; }

    public List<string> Questions { get; } = new();

    public bool? ShouldContinue(string caption, string question, string yesMeans, string noMeans)
    {
        Questions.Add(caption);
        return ContinueAnswer;
    }

    public bool ShouldProcess(string target, string action)
    {
        lock (Asked)
        {
            Asked.Add((target, action));
        }

        return Answer;
    }

    public void Progress(string mappingName, SyncDirection direction, int processed, string status)
    {
    }

    public void RecordFailed(SyncRecordResult result) => Failures.Add(result);

    public void JobCompleted(IntegrationSyncJob job) => Jobs.Add(job);

    public void Warning(string message) => Warnings.Add(message);

    public void Verbose(string message)
    {
    }
}

internal static class SyncTestKit
{
    public static async Task<(IReadOnlyList<IntegrationSyncJob> Jobs, RecordingObserver Observer)> SyncAsync(this SandboxConnection sandbox, bool full = false, bool whatIf = false, params string[] names)
    {
        var catalog = new MappingCatalog(sandbox.Connection.Store);
        var mappings = names.Length == 0 ? catalog.GetAll() : names.Select(catalog.Get).ToList();
        var observer = new RecordingObserver { Answer = !whatIf };
        var jobs = await SyncEngine.For(sandbox.Connection).RunAsync(mappings, new SyncOptions { FullSync = full, WhatIf = whatIf }, observer, CancellationToken.None);
        return (jobs, observer);
    }

    public static IntegrationSyncJob Job(this IReadOnlyList<IntegrationSyncJob> jobs, string mapping, SyncDirection direction) =>
        jobs.Single(j => j.MappingName == mapping && j.Direction == direction);

    public static IReadOnlyList<Row> Rows(this SandboxConnection sandbox, string service, string entitySet)
    {
        if (service == "Dataverse")
        {
            lock (sandbox.Host.Dataverse.Store.Sync)
            {
                return sandbox.Host.Dataverse.Table(entitySet).Rows.ToList();
            }
        }

        if (service == "Graph")
        {
            lock (sandbox.Host.Graph.Store.Sync)
            {
                return sandbox.Host.Graph.Users.Rows.ToList();
            }
        }

        lock (sandbox.Host.BusinessCentral.Store.Sync)
        {
            return sandbox.Host.BusinessCentral.Table(sandbox.Host.Sample!.CompanyId, entitySet).Rows.ToList();
        }
    }

    public static object? Value(this Row row, SandboxConnection sandbox, string service, string entitySet, string column)
    {
        var schema = service == "Dataverse" ? sandbox.Host.Dataverse.Table(entitySet).Schema : sandbox.Host.BusinessCentral.Table(sandbox.Host.Sample!.CompanyId, entitySet).Schema;
        return row.Values[schema.IndexOf(column)];
    }

    /// <summary>The data versions of the three services: any row written, license or role assigned in one moves its version.</summary>
    public static (long Dataverse, long BusinessCentral, long Graph) DataVersions(this SandboxConnection sandbox) =>
        (sandbox.Host.Dataverse.Store.CurrentVersion, sandbox.Host.BusinessCentral.Store.CurrentVersion, sandbox.Host.Graph.Store.CurrentVersion);

    /// <summary>Requests since the counters were last reset that are not reads, as "service endpoint".</summary>
    public static IEnumerable<string> NonReadRequests(this SandboxConnection sandbox) =>
        sandbox.Host.Counters.Log.Where(e => e.Method != "GET").Select(e => $"{e.Service} {e.Endpoint}");

    /// <summary>What a state holds for synchronization and setup: couplings of every mapping, failures, pending writes, settings.</summary>
    public static string StateContent(this SandboxConnection sandbox)
    {
        var store = sandbox.Connection.Store;
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            Couplings = store.Mappings.GetAll().SelectMany(m => store.Couplings.GetAll(m.Name)).ToList(),
            Failures = store.Mappings.GetAll().SelectMany(m => store.Failures.GetAll(m.Name)).ToList(),
            PendingWrites = store.PendingWrites.GetAll(),
            Settings = store.Settings.GetAll().ToDictionary(setting => setting.Key, setting => setting.Value),
        });
    }

    public static Row Bc(this SandboxConnection sandbox, string entitySet, string column, string value) =>
        sandbox.Rows("BusinessCentral", entitySet).Single(r => Equals(r.Value(sandbox, "BusinessCentral", entitySet, column), value));

    public static Row Dv(this SandboxConnection sandbox, string entitySet, string column, string value) =>
        sandbox.Rows("Dataverse", entitySet).Single(r => Equals(r.Value(sandbox, "Dataverse", entitySet, column), value));

    public static Guid Id(this Row row) => (Guid)row.Values[0]!;

    /// <summary>Changes a BC record as the admin (through the BC API, with its etag).</summary>
    public static void ChangeBc(this SandboxConnection sandbox, string entitySet, Guid id, object changes)
    {
        var response = sandbox.Host.Invoke("BusinessCentral", sandbox.Host.Sample!.Admin, "PATCH", $"companies({sandbox.Host.Sample.CompanyId})/{entitySet}({id})", changes,
            new Dictionary<string, string> { ["If-Match"] = "*" });
        Assert.True(response.Status == 200, response.BodyText);
    }

    /// <summary>Changes a Dataverse row as some identity.</summary>
    public static void ChangeDv(this SandboxConnection sandbox, Sandbox.Identity.SandboxIdentity who, string entitySet, Guid id, object changes)
    {
        var response = sandbox.Host.Invoke("Dataverse", who, "PATCH", $"{entitySet}({id})", changes, new Dictionary<string, string> { ["If-Match"] = "*" });
        Assert.True(response.Status == 204, response.BodyText);
    }
}
