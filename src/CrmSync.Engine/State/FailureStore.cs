using System.Data.Common;
using CrmSync.Mapping;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>Failures of records not coupled yet, per mapping, direction and source record: counted, and skipped after the second.</summary>
internal sealed class FailureStore(StateDatabase db)
{
    public void Save(UncoupledFailure failure) =>
        db.InTransaction(() => db.Execute("""
            INSERT INTO sync_failure (mapping_name, direction, source_id, message, failure_count, skipped, last_job_id, failed_at)
            VALUES ($m, $d, $s, $msg, $count, $skipped, $job, $at)
            ON CONFLICT(mapping_name, direction, source_id) DO UPDATE SET message = excluded.message, failure_count = excluded.failure_count,
                skipped = excluded.skipped, last_job_id = excluded.last_job_id, failed_at = excluded.failed_at
            """,
            ("$m", failure.MappingName), ("$d", (int)failure.Direction), ("$s", Format(failure.SourceId)), ("$msg", failure.Message),
            ("$count", failure.FailureCount), ("$skipped", failure.Skipped), ("$job", FormatNullable(failure.LastJobId)), ("$at", Format(failure.FailedAt))));

    public UncoupledFailure? Get(string mappingName, SyncDirection direction, Guid sourceId) =>
        db.Query("SELECT * FROM sync_failure WHERE mapping_name = $m AND direction = $d AND source_id = $s", ReadFailure,
            ("$m", mappingName), ("$d", (int)direction), ("$s", Format(sourceId))).FirstOrDefault();

    /// <summary>The failures of many source records of one pass, by source id, in a few queries.</summary>
    public Dictionary<Guid, UncoupledFailure> GetMany(string mappingName, SyncDirection direction, IEnumerable<Guid> sourceIds) =>
        db.QueryIn("SELECT * FROM sync_failure WHERE mapping_name = $m AND direction = $d AND source_id IN $in", sourceIds.Select(Format), ReadFailure,
            ("$m", mappingName), ("$d", (int)direction)).ToDictionary(f => f.SourceId);

    public IReadOnlyList<UncoupledFailure> GetAll(string? mappingName = null) =>
        db.Query("SELECT * FROM sync_failure WHERE ($m IS NULL OR mapping_name = $m) ORDER BY failed_at", ReadFailure, ("$m", mappingName));

    public bool Remove(string mappingName, SyncDirection direction, Guid sourceId)
    {
        var removed = 0;
        db.InTransaction(() => removed = db.Execute("DELETE FROM sync_failure WHERE mapping_name = $m AND direction = $d AND source_id = $s",
            ("$m", mappingName), ("$d", (int)direction), ("$s", Format(sourceId))));
        return removed > 0;
    }

    private static UncoupledFailure ReadFailure(DbDataReader r) => new()
    {
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        Direction = (SyncDirection)r.GetInt32(r.GetOrdinal("direction")),
        SourceId = Guid.Parse(r.GetString(r.GetOrdinal("source_id"))),
        Message = r.GetString(r.GetOrdinal("message")),
        FailureCount = r.GetInt32(r.GetOrdinal("failure_count")),
        Skipped = r.GetInt32(r.GetOrdinal("skipped")) != 0,
        LastJobId = ParseNullableGuid(GetNullableString(r, "last_job_id")),
        FailedAt = ParseDate(r.GetString(r.GetOrdinal("failed_at"))),
    };
}
