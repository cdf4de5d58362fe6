using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>What every part of one pass (one mapping in one direction) shares: the sides, the options, the store, the job.</summary>
internal sealed class PassContext
{
    public PassContext(IntegrationTableMapping mapping, SyncDirection pass, SyncOptions options, ISyncObserver observer, StateStore store,
        SyncSideAccess source, SyncSideAccess destination, LookupContext lookups, PassJob job)
    {
        Mapping = mapping;
        Pass = pass;
        Options = options;
        Observer = observer;
        Store = store;
        Source = source;
        Destination = destination;
        Lookups = lookups;
        Job = job;
    }

    public IntegrationTableMapping Mapping { get; }

    public SyncDirection Pass { get; }

    public SyncOptions Options { get; }

    public ISyncObserver Observer { get; }

    public StateStore Store { get; }

    public SyncSideAccess Source { get; }

    public SyncSideAccess Destination { get; }

    public LookupContext Lookups { get; }

    public PassJob Job { get; }

    public Guid JobId => Job.Id;

    public bool ToDataverse => Pass == SyncDirection.ToIntegrationTable;

    /// <summary>The couplings of a batch's source records (those coupled), seen from this pass: a few queries, not one per record.</summary>
    public Dictionary<Guid, CouplingView> CouplingsOfSources(IReadOnlyCollection<Guid> sourceIds) =>
        (ToDataverse ? Store.Couplings.GetByBcIds(Mapping.Name, sourceIds) : Store.Couplings.GetByDataverseIds(Mapping.Name, sourceIds))
            .ToDictionary(kv => kv.Key, kv => new CouplingView(kv.Value, ToDataverse));

    /// <summary>Whether a destination record is already coupled (to some source record), or claimed by a batch not yet committed.</summary>
    public bool IsDestinationCoupled(Guid destinationId) =>
        _claimed.Contains(destinationId) ||
        (ToDataverse ? Store.Couplings.GetByDataverseId(Mapping.Name, destinationId) : Store.Couplings.GetByBcId(Mapping.Name, destinationId)) is not null;

    /// <summary>A destination record a planned batch couples by matching fields: no later batch may couple it too, committed or not.</summary>
    public void ClaimDestination(Guid destinationId) => _claimed.Add(destinationId);

    private readonly HashSet<Guid> _claimed = new();

    public CouplingView NewCoupling(Guid sourceId, Guid destinationId) => new(CouplingView.New(Mapping.Name, ToDataverse, sourceId, destinationId), ToDataverse);

    /// <summary>Writes to the state store, unless this is a -WhatIf rehearsal.</summary>
    public void Save(Action write)
    {
        if (!Options.WhatIf)
        {
            write();
        }
    }

    /// <summary>How people know the source record: "C10000 Adatum Corporation", a Dataverse name, else its id.</summary>
    public string Key(SideRow row)
    {
        if (Source.Side == SyncSide.BusinessCentral)
        {
            var key = row.Data[Mapping.BcKeyField]?.ToString();
            var name = row.Data["displayName"]?.ToString();
            return string.Join(' ', new[] { key, name }.Where(s => !string.IsNullOrEmpty(s)));
        }

        return row.Data[Mapping.DataverseNameColumn]?.ToString() is { Length: > 0 } dvName ? dvName : row.Id.ToString();
    }
}
