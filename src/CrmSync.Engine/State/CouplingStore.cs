using System.Data.Common;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>Couplings: which BC record is which Dataverse row, per mapping, with the last synchronization of each.</summary>
internal sealed class CouplingStore(StateDatabase db)
{
    public void Save(IntegrationCoupling coupling)
    {
        db.InTransaction(() => db.Execute("""
            INSERT INTO coupling (mapping_name, bc_id, dataverse_id, bc_last_synch_modified_on, dataverse_last_synch_modified_on, last_synch_result,
                last_synch_job_id, last_synch_crm_result, last_synch_crm_job_id, last_error_message, skipped, coupled_at, bc_version, dataverse_version,
                last_error_to_dataverse, last_error_to_bc)
            VALUES ($m, $bc, $dv, $bcMod, $dvMod, $result, $job, $crmResult, $crmJob, $error, $skipped, $at, $bcVersion, $dvVersion, $errorToDv, $errorToBc)
            ON CONFLICT(mapping_name, bc_id) DO UPDATE SET dataverse_id = excluded.dataverse_id,
                bc_version = excluded.bc_version, dataverse_version = excluded.dataverse_version,
                bc_last_synch_modified_on = excluded.bc_last_synch_modified_on, dataverse_last_synch_modified_on = excluded.dataverse_last_synch_modified_on,
                last_synch_result = excluded.last_synch_result, last_synch_job_id = excluded.last_synch_job_id,
                last_synch_crm_result = excluded.last_synch_crm_result, last_synch_crm_job_id = excluded.last_synch_crm_job_id,
                last_error_message = excluded.last_error_message, skipped = excluded.skipped, coupled_at = excluded.coupled_at,
                last_error_to_dataverse = excluded.last_error_to_dataverse, last_error_to_bc = excluded.last_error_to_bc
            """,
            ("$m", coupling.MappingName), ("$bc", Format(coupling.BcId)), ("$dv", Format(coupling.DataverseId)),
            ("$bcMod", FormatNullable(coupling.BcLastSynchModifiedOn)), ("$dvMod", FormatNullable(coupling.DataverseLastSynchModifiedOn)),
            ("$result", (int)coupling.LastSynchResult), ("$job", FormatNullable(coupling.LastSynchJobId)),
            ("$crmResult", (int)coupling.LastSynchCrmResult), ("$crmJob", FormatNullable(coupling.LastSynchCrmJobId)),
            ("$error", coupling.LastErrorMessage), ("$skipped", coupling.Skipped), ("$at", Format(coupling.CoupledAt)),
            ("$bcVersion", coupling.BcVersion), ("$dvVersion", coupling.DataverseVersion),
            ("$errorToDv", coupling.LastErrorToDataverse), ("$errorToBc", coupling.LastErrorToBusinessCentral)));
    }

    public IntegrationCoupling? GetByBcId(string mappingName, Guid bcId) =>
        db.Query("SELECT * FROM coupling WHERE mapping_name = $m AND bc_id = $id", ReadCoupling, ("$m", mappingName), ("$id", Format(bcId))).FirstOrDefault();

    public IntegrationCoupling? GetByDataverseId(string mappingName, Guid dataverseId) =>
        db.Query("SELECT * FROM coupling WHERE mapping_name = $m AND dataverse_id = $id", ReadCoupling, ("$m", mappingName), ("$id", Format(dataverseId))).FirstOrDefault();

    /// <summary>The couplings of many BC records of a mapping, by BC id, in a few queries (a pass plans a batch at once).</summary>
    public Dictionary<Guid, IntegrationCoupling> GetByBcIds(string mappingName, IEnumerable<Guid> bcIds) =>
        db.QueryIn("SELECT * FROM coupling WHERE mapping_name = $m AND bc_id IN $in", bcIds.Select(Format), ReadCoupling, ("$m", mappingName))
            .ToDictionary(c => c.BcId);

    /// <summary>The couplings of many Dataverse rows of a mapping, by Dataverse id, in a few queries.</summary>
    public Dictionary<Guid, IntegrationCoupling> GetByDataverseIds(string mappingName, IEnumerable<Guid> dataverseIds) =>
        db.QueryIn("SELECT * FROM coupling WHERE mapping_name = $m AND dataverse_id IN $in", dataverseIds.Select(Format), ReadCoupling, ("$m", mappingName))
            .ToDictionary(c => c.DataverseId);

    public IReadOnlyList<IntegrationCoupling> GetAll(string? mappingName = null) =>
        mappingName is null
            ? db.Query("SELECT * FROM coupling ORDER BY mapping_name, coupled_at", ReadCoupling)
            : db.Query("SELECT * FROM coupling WHERE mapping_name = $m ORDER BY coupled_at", ReadCoupling, ("$m", mappingName));

    /// <summary>
    /// Couplings whose last write in one direction failed and that are not skipped: the records a run retries. Asked
    /// of SQLite, so an incremental run does not load every coupling of a large table.
    /// </summary>
    // The literal 2 (SyncResult.Failure) lets SQLite use the partial indexes of migration 7.
    public IReadOnlyList<IntegrationCoupling> GetFailed(string mappingName, bool intoDataverse) =>
        db.Query(intoDataverse
                ? "SELECT * FROM coupling WHERE mapping_name = $m AND skipped = 0 AND last_synch_crm_result = 2"
                : "SELECT * FROM coupling WHERE mapping_name = $m AND skipped = 0 AND last_synch_result = 2",
            ReadCoupling, ("$m", mappingName));

    /// <summary>Whether the mapping has any coupling at all.</summary>
    public bool Any(string mappingName) =>
        db.Query("SELECT 1 FROM coupling WHERE mapping_name = $m LIMIT 1", r => true, ("$m", mappingName)).Count > 0;

    public bool Remove(string mappingName, Guid bcId)
    {
        var removed = 0;
        db.InTransaction(() => removed = db.Execute("DELETE FROM coupling WHERE mapping_name = $m AND bc_id = $id", ("$m", mappingName), ("$id", Format(bcId))));
        return removed > 0;
    }

    private static IntegrationCoupling ReadCoupling(DbDataReader r) => new()
    {
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        BcId = Guid.Parse(r.GetString(r.GetOrdinal("bc_id"))),
        DataverseId = Guid.Parse(r.GetString(r.GetOrdinal("dataverse_id"))),
        BcLastSynchModifiedOn = ParseNullableDate(GetNullableString(r, "bc_last_synch_modified_on")),
        DataverseLastSynchModifiedOn = ParseNullableDate(GetNullableString(r, "dataverse_last_synch_modified_on")),
        LastSynchResult = (SyncResult)r.GetInt32(r.GetOrdinal("last_synch_result")),
        LastSynchJobId = ParseNullableGuid(GetNullableString(r, "last_synch_job_id")),
        LastSynchCrmResult = (SyncResult)r.GetInt32(r.GetOrdinal("last_synch_crm_result")),
        LastSynchCrmJobId = ParseNullableGuid(GetNullableString(r, "last_synch_crm_job_id")),
        LastErrorMessage = GetNullableString(r, "last_error_message"),
        Skipped = r.GetInt32(r.GetOrdinal("skipped")) != 0,
        CoupledAt = ParseDate(r.GetString(r.GetOrdinal("coupled_at"))),
        BcVersion = GetNullableString(r, "bc_version"),
        DataverseVersion = GetNullableString(r, "dataverse_version"),
        LastErrorToDataverse = GetNullableString(r, "last_error_to_dataverse"),
        LastErrorToBusinessCentral = GetNullableString(r, "last_error_to_bc"),
    };
}
