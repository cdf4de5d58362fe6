using System.Data.Common;
using CrmSync.Mapping;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>Integration table mappings with their field mappings (and, read with them, their watermarks).</summary>
internal sealed class MappingStore(StateDatabase db, WatermarkStore watermarkStore)
{
    /// <summary>True when no mapping has ever been stored (a new file).</summary>
    public bool HasAny => db.Query("SELECT COUNT(*) FROM integration_table_mapping", r => r.GetInt64(0)).Single() > 0;

    public IReadOnlyList<IntegrationTableMapping> GetAll()
    {
        return db.Locked(() =>
        {
            var fields = db.Query("SELECT * FROM integration_field_mapping ORDER BY mapping_name, no", ReadFieldMapping)
                .GroupBy(f => f.MappingName, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<IntegrationFieldMapping>)g.ToList(), StringComparer.OrdinalIgnoreCase);
            var watermarks = watermarkStore.GetAll();
            return db.Query("SELECT * FROM integration_table_mapping ORDER BY name", ReadTableMapping)
                .Select(m => m with
                {
                    FieldMappings = fields.TryGetValue(m.Name, out var f) ? f : Array.Empty<IntegrationFieldMapping>(),
                    BcWatermark = watermarks.Where(w => Same(w.Name, m.Name) && w.Side == SyncSide.BusinessCentral).Select(w => (DateTimeOffset?)w.Value).FirstOrDefault(),
                    DataverseWatermark = watermarks.Where(w => Same(w.Name, m.Name) && w.Side == SyncSide.Dataverse).Select(w => (DateTimeOffset?)w.Value).FirstOrDefault(),
                })
                .ToList();
        });
    }

    public IntegrationTableMapping? Get(string name) =>
        GetAll().FirstOrDefault(m => Same(m.Name, name));

    /// <summary>Inserts or replaces a mapping with its field mappings (watermarks are kept: see <see cref="WatermarkStore.Set"/>).</summary>
    public void Save(IntegrationTableMapping mapping)
    {
        db.InTransaction(() =>
        {
            db.Execute("""
                INSERT INTO integration_table_mapping (name, bc_table, bc_table_id, bc_entity_set, bc_key_field, dataverse_table, dataverse_entity_set,
                    dataverse_id_column, dataverse_name_column, direction, table_filter, integration_table_filter, synch_only_coupled_records,
                    update_conflict_resolution, deletion_conflict_resolution, dependency_filter, create_new_in_case_of_no_match)
                VALUES ($name, $bcTable, $bcTableId, $bcSet, $bcKey, $dvTable, $dvSet, $dvId, $dvName, $direction, $tableFilter, $intFilter,
                    $onlyCoupled, $update, $deletion, $deps, $createNew)
                ON CONFLICT(name) DO UPDATE SET bc_table = excluded.bc_table, bc_table_id = excluded.bc_table_id, bc_entity_set = excluded.bc_entity_set,
                    bc_key_field = excluded.bc_key_field, dataverse_table = excluded.dataverse_table, dataverse_entity_set = excluded.dataverse_entity_set,
                    dataverse_id_column = excluded.dataverse_id_column, dataverse_name_column = excluded.dataverse_name_column, direction = excluded.direction,
                    table_filter = excluded.table_filter, integration_table_filter = excluded.integration_table_filter,
                    synch_only_coupled_records = excluded.synch_only_coupled_records, update_conflict_resolution = excluded.update_conflict_resolution,
                    deletion_conflict_resolution = excluded.deletion_conflict_resolution, dependency_filter = excluded.dependency_filter,
                    create_new_in_case_of_no_match = excluded.create_new_in_case_of_no_match
                """,
                ("$name", mapping.Name), ("$bcTable", mapping.BcTable), ("$bcTableId", mapping.BcTableId), ("$bcSet", mapping.BcEntitySet),
                ("$bcKey", mapping.BcKeyField), ("$dvTable", mapping.DataverseTable), ("$dvSet", mapping.DataverseEntitySet),
                ("$dvId", mapping.DataverseIdColumn), ("$dvName", mapping.DataverseNameColumn), ("$direction", (int)mapping.Direction),
                ("$tableFilter", mapping.TableFilter), ("$intFilter", mapping.IntegrationTableFilter), ("$onlyCoupled", mapping.SynchOnlyCoupledRecords),
                ("$update", (int)mapping.UpdateConflictResolution), ("$deletion", (int)mapping.DeletionConflictResolution),
                ("$deps", string.Join('|', mapping.Dependencies)), ("$createNew", mapping.CreateNewInCaseOfNoMatch));
            db.Execute("DELETE FROM integration_field_mapping WHERE mapping_name = $name", ("$name", mapping.Name));
            foreach (var field in mapping.FieldMappings)
            {
                db.Execute("""
                    INSERT INTO integration_field_mapping (mapping_name, no, bc_field_caption, bc_field, dataverse_field, direction, status, constant_value,
                        clear_value_on_failed_sync, not_null, use_for_match_based_coupling, match_priority, case_sensitive_matching, lookup_mapping, note)
                    VALUES ($mapping, $no, $caption, $bcField, $dvField, $direction, $status, $constant, $clear, $notNull, $match, $priority, $caseSensitive, $lookup, $note)
                    """,
                    ("$mapping", mapping.Name), ("$no", field.No), ("$caption", field.BcFieldCaption), ("$bcField", field.BcField),
                    ("$dvField", field.DataverseField), ("$direction", (int)field.Direction), ("$status", (int)field.Status),
                    ("$constant", field.ConstantValue), ("$clear", field.ClearValueOnFailedSync), ("$notNull", field.NotNull),
                    ("$match", field.UseForMatchBasedCoupling), ("$priority", field.MatchPriority), ("$caseSensitive", field.CaseSensitiveMatching),
                    ("$lookup", field.LookupMapping), ("$note", field.Note));
            }
        });
    }

    public bool Delete(string name)
    {
        var deleted = 0;
        db.InTransaction(() => deleted = db.Execute("DELETE FROM integration_table_mapping WHERE name = $name", ("$name", name)));
        return deleted > 0;
    }


    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static IntegrationTableMapping ReadTableMapping(DbDataReader r) => new()
    {
        Name = r.GetString(r.GetOrdinal("name")),
        BcTable = r.GetString(r.GetOrdinal("bc_table")),
        BcTableId = r.GetInt32(r.GetOrdinal("bc_table_id")),
        BcEntitySet = r.GetString(r.GetOrdinal("bc_entity_set")),
        BcKeyField = r.GetString(r.GetOrdinal("bc_key_field")),
        DataverseTable = r.GetString(r.GetOrdinal("dataverse_table")),
        DataverseEntitySet = r.GetString(r.GetOrdinal("dataverse_entity_set")),
        DataverseIdColumn = r.GetString(r.GetOrdinal("dataverse_id_column")),
        DataverseNameColumn = r.GetString(r.GetOrdinal("dataverse_name_column")),
        Direction = (SyncDirection)r.GetInt32(r.GetOrdinal("direction")),
        TableFilter = GetNullableString(r, "table_filter"),
        IntegrationTableFilter = GetNullableString(r, "integration_table_filter"),
        SynchOnlyCoupledRecords = r.GetInt32(r.GetOrdinal("synch_only_coupled_records")) != 0,
        UpdateConflictResolution = (UpdateConflictResolution)r.GetInt32(r.GetOrdinal("update_conflict_resolution")),
        DeletionConflictResolution = (DeletionConflictResolution)r.GetInt32(r.GetOrdinal("deletion_conflict_resolution")),
        Dependencies = r.GetString(r.GetOrdinal("dependency_filter")).Split('|', StringSplitOptions.RemoveEmptyEntries),
        CreateNewInCaseOfNoMatch = r.GetInt32(r.GetOrdinal("create_new_in_case_of_no_match")) != 0,
    };

    private static IntegrationFieldMapping ReadFieldMapping(DbDataReader r) => new()
    {
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        No = r.GetInt32(r.GetOrdinal("no")),
        BcFieldCaption = r.GetString(r.GetOrdinal("bc_field_caption")),
        BcField = GetNullableString(r, "bc_field"),
        DataverseField = GetNullableString(r, "dataverse_field"),
        Direction = (SyncDirection)r.GetInt32(r.GetOrdinal("direction")),
        Status = (FieldMappingStatus)r.GetInt32(r.GetOrdinal("status")),
        ConstantValue = GetNullableString(r, "constant_value"),
        ClearValueOnFailedSync = r.GetInt32(r.GetOrdinal("clear_value_on_failed_sync")) != 0,
        NotNull = r.GetInt32(r.GetOrdinal("not_null")) != 0,
        UseForMatchBasedCoupling = r.GetInt32(r.GetOrdinal("use_for_match_based_coupling")) != 0,
        MatchPriority = r.GetInt32(r.GetOrdinal("match_priority")),
        CaseSensitiveMatching = r.GetInt32(r.GetOrdinal("case_sensitive_matching")) != 0,
        LookupMapping = GetNullableString(r, "lookup_mapping"),
        Note = GetNullableString(r, "note"),
    };
}
