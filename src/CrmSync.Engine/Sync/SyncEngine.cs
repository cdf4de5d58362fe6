using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.State;
using CrmSync.Sync.Passes;

namespace CrmSync.Sync;

/// <summary>
/// Synchronizes integration table mappings the way Business Central does (reference/domain.md §C; design
/// §5): per mapping in dependency order, BC → Dataverse first and then back; candidates from the watermark
/// with an overlap plus failed records; echo suppression; change detection against the coupling;
/// field-level conflicts on bidirectional fields; only changed fields written, in batches; couplings,
/// failures and watermarks committed per acknowledged batch; one job per mapping and direction.
/// </summary>
public sealed class SyncEngine
{
    /// <summary>Rows modified this long before the watermark are read again (second-precision modifiedon, late commits).</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(1);

    private readonly CrmSyncConnection _connection;
    private readonly StateStore _store;

    public SyncEngine(CrmSyncConnection connection)
    {
        _connection = connection;
        _store = connection.Store;
    }

    /// <summary>Synchronizes the mappings (in dependency order) and returns one job per mapping and direction.</summary>
    public async Task<IReadOnlyList<IntegrationSyncJob>> RunAsync(IReadOnlyList<IntegrationTableMapping> mappings, SyncOptions options, ISyncObserver observer, CancellationToken cancellationToken)
    {
        var ordered = MappingOrder.SortSubset(mappings.Select(m => _store.Mappings.Get(m.Name) ?? m), _store.Mappings.GetAll());
        var lookups = new LookupContext(_connection);
        var jobs = new List<IntegrationSyncJob>();
        foreach (var mapping in ordered)
        {
            if (mapping.Direction != SyncDirection.ToIntegrationTable)
            {
                // What an interrupted run created in BC is found before either pass reads BC (PendingCreateRecovery).
                var bc = new BusinessCentralSideAccess(mapping, _connection.SyncBusinessCentral);
                await new PendingCreateRecovery(mapping, _store, bc, options, observer).ReconcileAsync(cancellationToken).ConfigureAwait(false);
            }

            foreach (var pass in Passes(mapping.Direction))
            {
                var run = new SyncPass(_connection, mapping, pass, options, observer, lookups, IntegrationUserIds);
                jobs.Add(await run.RunAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return jobs;
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

            var bc = new BusinessCentralSideAccess(mapping, _connection.SyncBusinessCentral);
            var dv = new DataverseSideAccess(mapping, _connection.SyncDataverse);
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

    /// <summary>
    /// The Dataverse users whose changes are never synchronized back: the integration user recorded by New-IntegrationUser
    /// and the identity synchronization writes as (the integration identity, else the connection's own user).
    /// </summary>
    internal IReadOnlyList<Guid> IntegrationUserIds =>
        new[] { Guid.TryParse(_store.Settings.Get(SettingKeys.IntegrationUserId), out var configured) ? configured : (Guid?)null, _connection.SyncDataverseUserId ?? _connection.DataverseUserId }
            .OfType<Guid>().Distinct().ToList();
}
