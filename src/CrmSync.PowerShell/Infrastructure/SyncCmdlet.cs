using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using CrmSync.Mapping;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>What the synchronization cmdlets share: running the engine and writing what it reports on the pipeline thread.</summary>
public abstract class SyncCmdlet : MappingCmdlet
{
    private const int MappingActivity = 1;
    private const int BatchActivity = 2;

    /// <summary>Who this run is, in leases and in the job log, on a PostgreSQL state several workers share; default: machine:process.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Worker { get; set; }

    /// <summary>On a shared state, how long to wait for a mapping another worker is synchronizing; 0 (default): skip it this run, with a warning.</summary>
    [Parameter]
    [ValidateRange(0, 86_400)]
    public int LeaseWaitSeconds { get; set; }

    /// <summary>On a shared state, how long a lease lasts without renewal (renewed at a third of it); a crashed worker's mappings free up after it.</summary>
    [Parameter]
    [ValidateRange(10, 3_600)]
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>The run's options from the common parameters.</summary>
    private protected SyncOptions RunOptions(Consent consent) => new()
    {
        WhatIf = consent == Consent.WhatIf,
        Worker = Worker ?? SyncOptions.DefaultWorker,
        LeaseWait = TimeSpan.FromSeconds(LeaseWaitSeconds),
        LeaseDuration = TimeSpan.FromSeconds(LeaseSeconds),
    };

    /// <summary>
    /// Runs the engine over the mappings; jobs stream out as they finish, failed records as non-terminating errors.
    /// With <see cref="Consent.WhatIf"/> the engine rehearses: every record it would write is reported through
    /// ShouldProcess ("What if: …") and nothing — record, coupling, job, watermark — is persisted.
    /// <paramref name="askPerRecord"/> passes each write to ShouldProcess (-Confirm asks per record); otherwise the
    /// consent already given for the run covers every record.
    /// </summary>
    internal IReadOnlyList<IntegrationSyncJob> Synchronize(IReadOnlyList<IntegrationTableMapping> mappings, Consent consent, bool askPerRecord) =>
        Run(mappings, ask: consent == Consent.WhatIf || askPerRecord, (engine, observer, cancel) =>
            engine.RunAsync(mappings, RunOptions(consent), observer, cancel));

    /// <summary>Full synchronization (<see cref="SyncEngine.RunFullSyncAsync"/>): the engine warns, runs, and asks its closing question through the observer.</summary>
    internal IReadOnlyList<IntegrationSyncJob> SynchronizeFully(IReadOnlyList<IntegrationTableMapping> mappings, FullSyncOptions options) =>
        Run(mappings, ask: options.WhatIf, (engine, observer, cancel) => engine.RunFullSyncAsync(mappings, options, observer, cancel));

    private IReadOnlyList<IntegrationSyncJob> Run(IReadOnlyList<IntegrationTableMapping> mappings, bool ask, Func<SyncEngine, ISyncObserver, CancellationToken, Task<IReadOnlyList<IntegrationSyncJob>>> work)
    {
        var connection = ResolvedConnection;
        var order = mappings.Select(m => m.Name).ToList();
        return RunConnected(MappingActivity, "Synchronizing", "Synchronization stopped. What was processed is saved; the next run continues from there.", async (bridge, log, cancel) =>
        {
            // The article: never synchronize as the administrator. Stops with the fix unless the integration identity is ready.
            await connection.EnsureSyncIdentityAsync(cancel).ConfigureAwait(false);
            return await work(SyncEngine.For(connection), new Observer(this, bridge, log, order, ask), cancel).ConfigureAwait(false);
        }) ?? Array.Empty<IntegrationSyncJob>();
    }

    /// <summary>Reports from the engine's worker thread, executed on the pipeline thread.</summary>
    private sealed class Observer(SyncCmdlet cmdlet, PipelineBridge bridge, IEngineLog log, IReadOnlyList<string> order, bool ask) : ISyncObserver
    {
        public bool ShouldProcess(string target, string action) => !ask || bridge.Invoke(() => cmdlet.ShouldProcess(target, action));

        // A choice rather than ShouldContinue, whose default is Yes: Business Central's closing question defaults to No.
        public bool? ShouldContinue(string caption, string question, string yesMeans, string noMeans) => bridge.Invoke(() =>
        {
            var choices = new Collection<ChoiceDescription> { new("&Yes", yesMeans), new("&No", noMeans) };
            try
            {
                return cmdlet.Host?.UI?.PromptForChoice(caption, question, choices, defaultChoice: 1) is { } choice ? choice == 0 : (bool?)null;
            }
            catch (Exception ex) when (ex is PSInvalidOperationException or HostException or NotImplementedException)
            {
                return null;
            }
        });

        public void Progress(string mappingName, SyncDirection direction, int processed, string status) => bridge.Post(() =>
        {
            var index = Math.Max(0, order.ToList().FindIndex(n => string.Equals(n, mappingName, StringComparison.OrdinalIgnoreCase)));
            cmdlet.WriteProgress(new ProgressRecord(MappingActivity, "Synchronizing", $"{mappingName} ({index + 1} of {order.Count})")
            {
                PercentComplete = order.Count == 0 ? -1 : Math.Min(100, index * 100 / order.Count),
            });
            cmdlet.WriteProgress(new ProgressRecord(BatchActivity, $"{mappingName} {Describe(direction)}", $"{processed} records — {status}")
            {
                ParentActivityId = MappingActivity,
                PercentComplete = -1,
            });
        });

        public void RecordFailed(SyncRecordResult result) => bridge.Post(() =>
        {
            var exception = new CrmSyncException("SyncRecordFailed", CrmSyncErrorKind.InvalidData, $"{result.MappingName} {Describe(result.Direction)}, {result.SourceKey}: {result.Message}", result);
            cmdlet.WriteError(CrmSyncCmdlet.ToErrorRecord(exception, result));
        });

        public void JobCompleted(IntegrationSyncJob job) => bridge.Post(() => cmdlet.WriteObject(job));

        public void Warning(string message) => log.Warning(message);

        public void Verbose(string message) => log.Verbose(message);

        private static string Describe(SyncDirection direction) => direction switch
        {
            SyncDirection.ToIntegrationTable => "Business Central → Dataverse",
            SyncDirection.FromIntegrationTable => "Dataverse → Business Central",
            _ => "both ways",
        };
    }
}
