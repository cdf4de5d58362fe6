using System.Data.Common;
using CrmSync.Mapping;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>Creates sent but not yet confirmed (the crash-recovery journal): what a restarted run looks for before it creates again.</summary>
internal sealed class PendingWriteStore(StateDatabase db)
{
    public long Add(PendingWrite write)
    {
        long id = 0;
        db.InTransaction(() =>
        {
            db.Execute("""
                INSERT INTO pending_write (mapping_name, side, source_id, operation, marker, created_at) VALUES ($m, $side, $src, $op, $marker, $at)
                ON CONFLICT(mapping_name, side, source_id, operation) DO UPDATE SET marker = excluded.marker
                """,
                ("$m", write.MappingName), ("$side", (int)write.Side), ("$src", write.SourceId), ("$op", write.Operation),
                ("$marker", write.Marker), ("$at", Format(write.CreatedAt)));
            id = db.Query("SELECT id FROM pending_write WHERE mapping_name = $m AND side = $side AND source_id = $src AND operation = $op", r => r.GetInt64(0),
                ("$m", write.MappingName), ("$side", (int)write.Side), ("$src", write.SourceId), ("$op", write.Operation)).Single();
        });
        return id;
    }

    public IReadOnlyList<PendingWrite> GetAll(string? mappingName = null) =>
        db.Query("SELECT * FROM pending_write WHERE ($m IS NULL OR mapping_name = $m) ORDER BY id", ReadPendingWrite, ("$m", mappingName));

    public bool Remove(long id)
    {
        var removed = 0;
        db.InTransaction(() => removed = db.Execute("DELETE FROM pending_write WHERE id = $id", ("$id", id)));
        return removed > 0;
    }

    private static PendingWrite ReadPendingWrite(DbDataReader r) => new()
    {
        Id = r.GetInt64(r.GetOrdinal("id")),
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        Side = (SyncSide)r.GetInt32(r.GetOrdinal("side")),
        SourceId = r.GetString(r.GetOrdinal("source_id")),
        Operation = r.GetString(r.GetOrdinal("operation")),
        Marker = GetNullableString(r, "marker"),
        CreatedAt = ParseDate(r.GetString(r.GetOrdinal("created_at"))),
    };
}
