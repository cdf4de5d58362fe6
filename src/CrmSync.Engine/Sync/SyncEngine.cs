using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.State;
using CrmSync.Sync.Passes;

namespace CrmSync.Sync;

/// <summary>
/// Synchronizes integration table mappings the way Business Central does (docs/reference/integration.md §C;
/// docs/ARCHITECTURE.md, "The data path of a synchronization"): per mapping in dependency order, BC → Dataverse first and then back; candidates from the watermark
/// with an overlap plus failed records; echo suppression; change detection against the coupling;
/// field-level conflicts on bidirectional fields; only changed fields written, in batches; couplings,
/// failures and watermarks committed per acknowledged batch; one job per mapping and direction.
/// </summary>
public sealed class SyncEngine
{
    /// <summary>Rows modified this long before the watermark are read again (second-precision modifiedon, late commits).</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(1);

    private readonly SyncServices _services;
    private readonly StateStore _store;

    internal SyncEngine(SyncServices services)
    {
        _services = services;
        _store = services.Store;
    }

    /// <summary>The engine for a connection: its state, written as its integration identity when it has one.</summary>
    public static SyncEngine For(CrmSyncConnection connection) => new(SyncServices.Of(connection));

    /// <summary>Synchronizes the mappings (in dependency order) and returns one job per mapping and direction.</summary>
    public async Task<IReadOnlyList<IntegrationSyncJob>> RunAsync(IReadOnlyList<IntegrationTableMapping> mappings, SyncOptions options, ISyncObserver observer, CancellationToken cancellationToken)
    {
        var ordered = MappingOrder.SortSubset(mappings.Select(m => _store.Mappings.Get(m.Name) ?? m), _store.Mappings.GetAll());
        var lookups = new LookupContext(_services);
        var jobs = new List<IntegrationSyncJob>();
        var integrationUserIds = _services.IntegrationUserIds;
        foreach (var mapping in ordered)
        {
            // On a state several workers share, a mapping is synchronized only under a lease. A file has one writer (its
            // lock) and a rehearsal writes nothing: neither takes one.
            var leased = _store.IsShared && !options.WhatIf;
            await using var lease = leased ? await MappingLease.AcquireAsync(_store, mapping.Name, options, observer, cancellationToken).ConfigureAwait(false) : null;
            if (leased && lease is null)
            {
                continue;
            }

            var token = lease?.Token ?? cancellationToken;
            var mappingOptions = lease is null ? options : options with { CommitFence = lease.Fence };
            try
            {
                if (mapping.Direction != SyncDirection.ToIntegrationTable)
                {
                    // What an interrupted run created in BC is found before either pass reads BC (PendingCreateRecovery).
                    var bc = new BusinessCentralSideAccess(mapping, _services.BusinessCentral);
                    await new PendingCreateRecovery(mapping, _store, bc, mappingOptions, observer).ReconcileAsync(token).ConfigureAwait(false);
                }

                foreach (var pass in Passes(mapping.Direction))
                {
                    var run = new SyncPass(_services, mapping, pass, mappingOptions, observer, lookups, integrationUserIds);
                    jobs.Add(await run.RunAsync(token).ConfigureAwait(false));
                }
            }
            catch (OperationCanceledException) when (lease is { Lost: true } && !cancellationToken.IsCancellationRequested)
            {
                throw lease.LostError();
            }
        }

        return jobs;
    }

    /// <summary>
    /// Full synchronization as Business Central runs it: warns where it would duplicate records, synchronizes every
    /// record (uncoupled ones created and coupled whatever "Synch. Only Coupled Records" says), then settles BC's
    /// closing question — should scheduled synchronization keep creating records for uncoupled rows? — default No.
    /// </summary>
    public async Task<IReadOnlyList<IntegrationSyncJob>> RunFullSyncAsync(IReadOnlyList<IntegrationTableMapping> mappings, FullSyncOptions options, ISyncObserver observer, CancellationToken cancellationToken)
    {
        foreach (var risk in await DuplicateRisksAsync(mappings, cancellationToken).ConfigureAwait(false))
        {
            observer.Warning(risk);
        }

        var onlyCoupledBefore = mappings.Where(m => (_store.Mappings.Get(m.Name) ?? m).SynchOnlyCoupledRecords).Select(m => m.Name).ToList();
        var jobs = await RunAsync(mappings, options.Run with { FullSync = true }, observer, cancellationToken).ConfigureAwait(false);
        if (!options.WhatIf && jobs.Count > 0 && onlyCoupledBefore.Count > 0 && KeepCreatingNewRecords(onlyCoupledBefore, options, observer))
        {
            var catalog = new MappingCatalog(_store);
            foreach (var name in onlyCoupledBefore)
            {
                var plan = catalog.Plan(name, new MappingSettingsChange { SynchOnlyCoupledRecords = false });
                if (plan.HasChanges)
                {
                    catalog.Apply(plan);
                    observer.Verbose($"{name}: SynchOnlyCoupledRecords is now False.");
                }
            }
        }

        return jobs;
    }

    // The answer to BC's closing question for the mappings that synchronized only coupled records before the run.
    private static bool KeepCreatingNewRecords(IReadOnlyList<string> onlyCoupled, FullSyncOptions options, ISyncObserver observer)
    {
        if (options.KeepCreatingNewRecords is { } decided)
        {
            return decided;
        }

        var names = string.Join(", ", onlyCoupled);
        if (!options.AskAtEnd)
        {
            observer.Verbose($"{names} keep 'Synch. Only Coupled Records' (-Force without -KeepCreatingNewRecords).");
            return false;
        }

        var answer = observer.ShouldContinue("Keep creating new records?",
            $"Scheduled synchronization of {names} now synchronizes only coupled records. Should it also create and couple new records for uncoupled rows from now on?",
            "Clear 'Synch. Only Coupled Records': scheduled synchronization also creates and couples records for uncoupled rows.",
            "Keep 'Synch. Only Coupled Records': scheduled synchronization updates coupled records only.");
        if (answer is null)
        {
            observer.Warning($"No one could be asked whether scheduled synchronization should create new records: {names} keep " +
                "'Synch. Only Coupled Records' (only coupled records are synchronized). Add -KeepCreatingNewRecords $true to choose otherwise.");
        }

        return answer ?? false;
    }

    /// <summary>Mappings where both sides already hold records and nothing is coupled yet: a full sync would copy each side to the other (duplicates).</summary>
    public async Task<IReadOnlyList<string>> DuplicateRisksAsync(IReadOnlyList<IntegrationTableMapping> mappings, CancellationToken cancellationToken)
    {
        var risks = new List<string>();
        foreach (var mapping in mappings.Where(m => m.Direction == SyncDirection.Bidirectional))
        {
            if (_store.Couplings.Any(mapping.Name))
            {
                continue;
            }

            var bc = new BusinessCentralSideAccess(mapping, _services.BusinessCentral);
            var dv = new DataverseSideAccess(mapping, _services.Dataverse);
            if (await bc.AnyAsync(cancellationToken).ConfigureAwait(false) && await dv.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                risks.Add($"Both Business Central ({mapping.BcTable}) and Dataverse ({mapping.DataverseTable}) already hold records for {mapping.Name} and none are coupled: " +
                    $"a full synchronization copies every uncoupled record to the other side, which duplicates records that exist on both. Couple them first (New-IntegrationCoupling -Name {mapping.Name} -MatchBased).");
            }
        }

        return risks;
    }

    private static IEnumerable<SyncDirection> Passes(SyncDirection direction) => direction switch
    {
        SyncDirection.Bidirectional => new[] { SyncDirection.ToIntegrationTable, SyncDirection.FromIntegrationTable },
        _ => new[] { direction },
    };
}
