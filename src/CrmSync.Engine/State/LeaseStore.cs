using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>A worker's hold on a mapping: who, since when, until when (renewed while it runs).</summary>
public sealed record SyncLease(string MappingName, string Holder, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Leases on mappings, so that of several workers sharing one state only one synchronizes a mapping at a time. A lease
/// is taken in one statement (insert, or take over when expired or already ours), renewed while the work runs and
/// released at its end; a crashed worker's lease simply expires. Times come from the state's clock
/// (<see cref="StateStore.CurrentTime"/>: the database server's), so workers' clocks may differ.
/// </summary>
internal sealed class LeaseStore(StateDatabase db)
{
    /// <summary>Takes the lease, or returns the lease someone else holds.</summary>
    public (bool Acquired, SyncLease Lease) TryAcquire(string mappingName, string holder, TimeSpan duration, DateTimeOffset now)
    {
        var taken = db.Query("""
            INSERT INTO sync_lease (mapping_name, holder, acquired_at, expires_at) VALUES ($m, $holder, $now, $until)
            ON CONFLICT(mapping_name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
            WHERE sync_lease.expires_at <= $now OR sync_lease.holder = $holder
            RETURNING mapping_name, holder, acquired_at, expires_at
            """, ReadLease, ("$m", mappingName), ("$holder", holder), ("$now", Format(now)), ("$until", Format(now + duration)));
        return taken.Count == 1 ? (true, taken[0]) : (false, Get(mappingName)!);
    }

    /// <summary>Extends a lease this holder still has; false when it was lost (expired and taken over).</summary>
    public bool Renew(string mappingName, string holder, TimeSpan duration, DateTimeOffset now) =>
        db.Execute("UPDATE sync_lease SET expires_at = $until WHERE mapping_name = $m AND holder = $holder AND expires_at > $now",
            ("$m", mappingName), ("$holder", holder), ("$until", Format(now + duration)), ("$now", Format(now))) == 1;

    public void Release(string mappingName, string holder) =>
        db.Execute("DELETE FROM sync_lease WHERE mapping_name = $m AND holder = $holder", ("$m", mappingName), ("$holder", holder));

    public SyncLease? Get(string mappingName) =>
        db.Query("SELECT mapping_name, holder, acquired_at, expires_at FROM sync_lease WHERE mapping_name = $m", ReadLease, ("$m", mappingName)).FirstOrDefault();

    private static SyncLease ReadLease(System.Data.Common.DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), ParseDate(r.GetString(2)), ParseDate(r.GetString(3)));
}
