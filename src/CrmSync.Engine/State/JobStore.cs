using System.Data.Common;
using CrmSync.Mapping;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>The integration synchronization job log: one job per mapping and direction of a run, and its errors.</summary>
internal sealed class JobStore(StateDatabase db)
{
    public void Save(IntegrationSyncJob job)
    {
        db.InTransaction(() => db.Execute("""
            INSERT INTO sync_job (id, mapping_name, direction, type, start_time, finish_time, message, inserted, modified, deleted, unchanged, skipped, failed, coupled, uncoupled,
                dataverse_requests, business_central_requests, worker)
            VALUES ($id, $m, $dir, $type, $start, $finish, $msg, $ins, $mod, $del, $unch, $skip, $fail, $coup, $uncoup, $dvReq, $bcReq, $worker)
            ON CONFLICT(id) DO UPDATE SET finish_time = excluded.finish_time, message = excluded.message, inserted = excluded.inserted,
                modified = excluded.modified, deleted = excluded.deleted, unchanged = excluded.unchanged, skipped = excluded.skipped,
                failed = excluded.failed, coupled = excluded.coupled, uncoupled = excluded.uncoupled,
                dataverse_requests = excluded.dataverse_requests, business_central_requests = excluded.business_central_requests
            """,
            ("$id", Format(job.Id)), ("$m", job.MappingName), ("$dir", (int)job.Direction), ("$type", (int)job.Type),
            ("$start", Format(job.StartTime)), ("$finish", FormatNullable(job.FinishTime)), ("$msg", job.Message),
            ("$ins", job.Inserted), ("$mod", job.Modified), ("$del", job.Deleted), ("$unch", job.Unchanged),
            ("$skip", job.Skipped), ("$fail", job.Failed), ("$coup", job.Coupled), ("$uncoup", job.Uncoupled),
            ("$dvReq", job.DataverseRequests), ("$bcReq", job.BusinessCentralRequests), ("$worker", job.Worker)));
    }

    public IntegrationSyncJob? Get(Guid id) =>
        db.Query("SELECT * FROM sync_job WHERE id = $id", ReadJob, ("$id", Format(id))).FirstOrDefault();

    /// <summary>Jobs, newest first.</summary>
    public IReadOnlyList<IntegrationSyncJob> GetAll(string? mappingName = null, DateTimeOffset? since = null, bool failedOnly = false) =>
        db.Query("""
            SELECT * FROM sync_job
            WHERE ($m IS NULL OR mapping_name = $m) AND ($since IS NULL OR start_time >= $since) AND ($failed = 0 OR failed > 0)
            ORDER BY start_time DESC, id DESC
            """, ReadJob, ("$m", mappingName), ("$since", FormatNullable(since)), ("$failed", failedOnly));

    public long AddError(IntegrationSyncError error)
    {
        long id = 0;
        db.InTransaction(() => id = db.Query("""
            INSERT INTO sync_job_error (job_id, mapping_name, direction, source_id, destination_id, message, detail, time)
            VALUES ($job, $m, $dir, $src, $dst, $msg, $detail, $time)
            RETURNING id
            """, r => r.GetInt64(0),
            ("$job", Format(error.JobId)), ("$m", error.MappingName), ("$dir", (int)error.Direction), ("$src", error.SourceId),
            ("$dst", error.DestinationId), ("$msg", error.Message), ("$detail", error.Detail), ("$time", Format(error.Time))).Single());
        return id;
    }

    public IReadOnlyList<IntegrationSyncError> GetErrors(Guid? jobId = null) =>
        db.Query("SELECT * FROM sync_job_error WHERE ($job IS NULL OR job_id = $job) ORDER BY time DESC, id DESC", ReadJobError, ("$job", FormatNullable(jobId)));

    private static IntegrationSyncJob ReadJob(DbDataReader r) => new()
    {
        Id = Guid.Parse(r.GetString(r.GetOrdinal("id"))),
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        Direction = (SyncDirection)r.GetInt32(r.GetOrdinal("direction")),
        Type = (SyncJobType)r.GetInt32(r.GetOrdinal("type")),
        StartTime = ParseDate(r.GetString(r.GetOrdinal("start_time"))),
        FinishTime = ParseNullableDate(GetNullableString(r, "finish_time")),
        Message = GetNullableString(r, "message"),
        Inserted = r.GetInt32(r.GetOrdinal("inserted")),
        Modified = r.GetInt32(r.GetOrdinal("modified")),
        Deleted = r.GetInt32(r.GetOrdinal("deleted")),
        Unchanged = r.GetInt32(r.GetOrdinal("unchanged")),
        Skipped = r.GetInt32(r.GetOrdinal("skipped")),
        Failed = r.GetInt32(r.GetOrdinal("failed")),
        Coupled = r.GetInt32(r.GetOrdinal("coupled")),
        Uncoupled = r.GetInt32(r.GetOrdinal("uncoupled")),
        DataverseRequests = r.GetInt32(r.GetOrdinal("dataverse_requests")),
        BusinessCentralRequests = r.GetInt32(r.GetOrdinal("business_central_requests")),
        Worker = GetNullableString(r, "worker"),
    };

    private static IntegrationSyncError ReadJobError(DbDataReader r) => new()
    {
        Id = r.GetInt64(r.GetOrdinal("id")),
        JobId = Guid.Parse(r.GetString(r.GetOrdinal("job_id"))),
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        Direction = (SyncDirection)r.GetInt32(r.GetOrdinal("direction")),
        SourceId = GetNullableString(r, "source_id"),
        DestinationId = GetNullableString(r, "destination_id"),
        Message = r.GetString(r.GetOrdinal("message")),
        Detail = GetNullableString(r, "detail"),
        Time = ParseDate(r.GetString(r.GetOrdinal("time"))),
    };
}
