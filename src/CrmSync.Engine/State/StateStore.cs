using System.Globalization;
using CrmSync.Mapping;
using Microsoft.Data.Sqlite;

namespace CrmSync.State;

/// <summary>
/// The connection's SQLite state file: mappings, couplings, watermarks, jobs and errors. One writer per file
/// (a second one gets a clear "in use by process N" error); WAL journal; forward-only migrations. Thread-safe:
/// calls are serialized. No SQLite type appears in this class's public surface.
/// </summary>
public sealed class StateStore : IDisposable
{
    private static readonly object InitLock = new();
    private static bool _sqliteInitialized;

    private readonly object _gate = new();
    private readonly SqliteConnection _connection;
    private readonly StateFileLock _fileLock;
    private SqliteTransaction? _transaction;
    private bool _disposed;

    private StateStore(string path, SqliteConnection connection, StateFileLock fileLock)
    {
        Path = path;
        _connection = connection;
        _fileLock = fileLock;
    }

    /// <summary>Full path of the state file.</summary>
    public string Path { get; }

    /// <summary>Schema version of the open file.</summary>
    public int SchemaVersion => ReadSchemaVersion();

    public static int LatestSchemaVersion => StateMigrations.LatestVersion;

    /// <summary>Opens (creating when needed) the state file and migrates it to the latest schema.</summary>
    public static StateStore Open(string path) => Open(path, StateMigrations.All);

    internal static StateStore Open(string path, IReadOnlyList<StateMigration> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        StateFileLock fileLock;
        try
        {
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            EnsureSqliteInitialized();
            fileLock = StateFileLock.Acquire(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // StateStoreInUse is an IOException's answer too, already a CrmSyncException; this is a folder or file that cannot be made.
            throw new CrmSyncException("StateStoreUnwritable", CrmSyncErrorKind.PermissionDenied,
                $"The state file '{fullPath}' cannot be created: {ex.Message} Connect with -StatePath in a folder you can write to.", fullPath, ex);
        }

        SqliteConnection? connection = null;
        try
        {
            OwnerOnlyFiles.EnsureDatabase(fullPath);
            connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            connection.Open();
            var store = new StateStore(fullPath, connection, fileLock);
            store.ExecuteRaw("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
            store.Migrate(migrations);
            return store;
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            fileLock.Dispose();
            throw new CrmSyncException("StateStoreUnreadable", CrmSyncErrorKind.InvalidData,
                $"The state file '{fullPath}' cannot be opened as a CrmSync state store: {ex.Message} " +
                "Connect with another -StatePath, or move this file away to start afresh.", fullPath, ex);
        }
        catch
        {
            connection?.Dispose();
            fileLock.Dispose();
            throw;
        }
    }

    private static void EnsureSqliteInitialized()
    {
        lock (InitLock)
        {
            if (!_sqliteInitialized)
            {
                SQLitePCL.Batteries_V2.Init();
                _sqliteInitialized = true;
            }
        }
    }

    private void Migrate(IReadOnlyList<StateMigration> migrations)
    {
        ExecuteRaw("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);");
        var current = ReadSchemaVersion();
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
        {
            throw new CrmSyncException("StateStoreTooNew", CrmSyncErrorKind.InvalidData,
                $"The state file '{Path}' has schema version {current}, but this CrmSync knows only up to {latest}. Update the CrmSync module.", Path);
        }

        foreach (var migration in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
        {
            InTransaction(() =>
            {
                ExecuteRaw(migration.Sql);
                Execute("INSERT INTO schema_version (version, description, applied_at) VALUES ($v, $d, $t)",
                    ("$v", migration.Version), ("$d", migration.Description), ("$t", Format(DateTimeOffset.UtcNow)));
            });
        }
    }

    private int ReadSchemaVersion() =>
        Query("SELECT COALESCE(MAX(version), 0) FROM schema_version", r => r.GetInt32(0)).Single();

    /// <summary>Runs <paramref name="action"/> atomically: everything it writes is committed together or not at all. Nested calls join the outer transaction.</summary>
    public void InTransaction(Action action)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_transaction is not null)
            {
                action();
                return;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _transaction = _connection.BeginTransaction();
            try
            {
                action();
                _transaction.Commit();
            }
            catch
            {
                _transaction.Rollback();
                throw;
            }
            finally
            {
                _transaction.Dispose();
                _transaction = null;
                _transactionTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
            }
        }
    }

    private long _transactionTicks;

    /// <summary>Time spent in transactions (writes and commits) since the store was opened: what state keeping costs a run.</summary>
    public TimeSpan TransactionTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _transactionTicks));

    // ---- Mappings -------------------------------------------------------------------------------

    /// <summary>True when no mapping has ever been stored (a new file).</summary>
    public bool HasMappings => Query("SELECT COUNT(*) FROM integration_table_mapping", r => r.GetInt64(0)).Single() > 0;

    public IReadOnlyList<IntegrationTableMapping> GetMappings()
    {
        lock (_gate)
        {
            var fields = Query("SELECT * FROM integration_field_mapping ORDER BY mapping_name, no", ReadFieldMapping)
                .GroupBy(f => f.MappingName, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<IntegrationFieldMapping>)g.ToList(), StringComparer.OrdinalIgnoreCase);
            var watermarks = Query("SELECT mapping_name, side, value FROM watermark", r => (Name: r.GetString(0), Side: (SyncSide)r.GetInt32(1), Value: ParseDate(r.GetString(2))))
                .ToList();
            return Query("SELECT * FROM integration_table_mapping ORDER BY name", ReadTableMapping)
                .Select(m => m with
                {
                    FieldMappings = fields.TryGetValue(m.Name, out var f) ? f : Array.Empty<IntegrationFieldMapping>(),
                    BcWatermark = watermarks.Where(w => Same(w.Name, m.Name) && w.Side == SyncSide.BusinessCentral).Select(w => (DateTimeOffset?)w.Value).FirstOrDefault(),
                    DataverseWatermark = watermarks.Where(w => Same(w.Name, m.Name) && w.Side == SyncSide.Dataverse).Select(w => (DateTimeOffset?)w.Value).FirstOrDefault(),
                })
                .ToList();
        }
    }

    public IntegrationTableMapping? GetMapping(string name) =>
        GetMappings().FirstOrDefault(m => Same(m.Name, name));

    /// <summary>Inserts or replaces a mapping with its field mappings (watermarks are kept: see <see cref="SetWatermark"/>).</summary>
    public void SaveMapping(IntegrationTableMapping mapping)
    {
        InTransaction(() =>
        {
            Execute("""
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
            Execute("DELETE FROM integration_field_mapping WHERE mapping_name = $name", ("$name", mapping.Name));
            foreach (var field in mapping.FieldMappings)
            {
                Execute("""
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

    public bool DeleteMapping(string name)
    {
        var deleted = 0;
        InTransaction(() => deleted = Execute("DELETE FROM integration_table_mapping WHERE name = $name", ("$name", name)));
        return deleted > 0;
    }

    // ---- Watermarks -----------------------------------------------------------------------------

    public DateTimeOffset? GetWatermark(string mappingName, SyncSide side) =>
        Query("SELECT value FROM watermark WHERE mapping_name = $m AND side = $s", r => (DateTimeOffset?)ParseDate(r.GetString(0)),
            ("$m", mappingName), ("$s", (int)side)).FirstOrDefault();

    /// <summary>Moves a watermark forward; an earlier value is ignored (watermarks never move back). Returns the stored value.</summary>
    public DateTimeOffset AdvanceWatermark(string mappingName, SyncSide side, DateTimeOffset value)
    {
        DateTimeOffset result = value;
        InTransaction(() =>
        {
            var current = GetWatermark(mappingName, side);
            if (current is { } existing && existing >= value)
            {
                result = existing;
                return;
            }

            SetWatermark(mappingName, side, value);
        });
        return result;
    }

    /// <summary>Sets or (with null) clears a watermark unconditionally — for resets and full-sync bookkeeping.</summary>
    public void SetWatermark(string mappingName, SyncSide side, DateTimeOffset? value)
    {
        InTransaction(() =>
        {
            if (value is null)
            {
                Execute("DELETE FROM watermark WHERE mapping_name = $m AND side = $s", ("$m", mappingName), ("$s", (int)side));
            }
            else
            {
                Execute("INSERT INTO watermark (mapping_name, side, value) VALUES ($m, $s, $v) ON CONFLICT(mapping_name, side) DO UPDATE SET value = excluded.value",
                    ("$m", mappingName), ("$s", (int)side), ("$v", Format(value.Value)));
            }
        });
    }

    // ---- Couplings ------------------------------------------------------------------------------

    public void SaveCoupling(IntegrationCoupling coupling)
    {
        InTransaction(() => Execute("""
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

    public IntegrationCoupling? GetCouplingByBcId(string mappingName, Guid bcId) =>
        Query("SELECT * FROM coupling WHERE mapping_name = $m AND bc_id = $id", ReadCoupling, ("$m", mappingName), ("$id", Format(bcId))).FirstOrDefault();

    public IntegrationCoupling? GetCouplingByDataverseId(string mappingName, Guid dataverseId) =>
        Query("SELECT * FROM coupling WHERE mapping_name = $m AND dataverse_id = $id", ReadCoupling, ("$m", mappingName), ("$id", Format(dataverseId))).FirstOrDefault();

    public IReadOnlyList<IntegrationCoupling> GetCouplings(string? mappingName = null) =>
        mappingName is null
            ? Query("SELECT * FROM coupling ORDER BY mapping_name, coupled_at", ReadCoupling)
            : Query("SELECT * FROM coupling WHERE mapping_name = $m ORDER BY coupled_at", ReadCoupling, ("$m", mappingName));

    /// <summary>
    /// Couplings whose last write in one direction failed and that are not skipped: the records a run retries. Asked
    /// of SQLite, so an incremental run does not load every coupling of a large table.
    /// </summary>
    // The literal 2 (SyncResult.Failure) lets SQLite use the partial indexes of migration 7.
    public IReadOnlyList<IntegrationCoupling> GetFailedCouplings(string mappingName, bool intoDataverse) =>
        Query(intoDataverse
                ? "SELECT * FROM coupling WHERE mapping_name = $m AND skipped = 0 AND last_synch_crm_result = 2"
                : "SELECT * FROM coupling WHERE mapping_name = $m AND skipped = 0 AND last_synch_result = 2",
            ReadCoupling, ("$m", mappingName));

    /// <summary>Whether the mapping has any coupling at all.</summary>
    public bool HasCouplings(string mappingName) =>
        Query("SELECT EXISTS (SELECT 1 FROM coupling WHERE mapping_name = $m)", r => r.GetInt32(0) != 0, ("$m", mappingName)).Single();

    public bool RemoveCoupling(string mappingName, Guid bcId)
    {
        var removed = 0;
        InTransaction(() => removed = Execute("DELETE FROM coupling WHERE mapping_name = $m AND bc_id = $id", ("$m", mappingName), ("$id", Format(bcId))));
        return removed > 0;
    }

    // ---- Jobs and errors ------------------------------------------------------------------------

    public void SaveJob(IntegrationSyncJob job)
    {
        InTransaction(() => Execute("""
            INSERT INTO sync_job (id, mapping_name, direction, type, start_time, finish_time, message, inserted, modified, deleted, unchanged, skipped, failed, coupled, uncoupled,
                dataverse_requests, business_central_requests)
            VALUES ($id, $m, $dir, $type, $start, $finish, $msg, $ins, $mod, $del, $unch, $skip, $fail, $coup, $uncoup, $dvReq, $bcReq)
            ON CONFLICT(id) DO UPDATE SET finish_time = excluded.finish_time, message = excluded.message, inserted = excluded.inserted,
                modified = excluded.modified, deleted = excluded.deleted, unchanged = excluded.unchanged, skipped = excluded.skipped,
                failed = excluded.failed, coupled = excluded.coupled, uncoupled = excluded.uncoupled,
                dataverse_requests = excluded.dataverse_requests, business_central_requests = excluded.business_central_requests
            """,
            ("$id", Format(job.Id)), ("$m", job.MappingName), ("$dir", (int)job.Direction), ("$type", (int)job.Type),
            ("$start", Format(job.StartTime)), ("$finish", FormatNullable(job.FinishTime)), ("$msg", job.Message),
            ("$ins", job.Inserted), ("$mod", job.Modified), ("$del", job.Deleted), ("$unch", job.Unchanged),
            ("$skip", job.Skipped), ("$fail", job.Failed), ("$coup", job.Coupled), ("$uncoup", job.Uncoupled),
            ("$dvReq", job.DataverseRequests), ("$bcReq", job.BusinessCentralRequests)));
    }

    public IntegrationSyncJob? GetJob(Guid id) =>
        Query("SELECT * FROM sync_job WHERE id = $id", ReadJob, ("$id", Format(id))).FirstOrDefault();

    /// <summary>Jobs, newest first.</summary>
    public IReadOnlyList<IntegrationSyncJob> GetJobs(string? mappingName = null, DateTimeOffset? since = null, bool failedOnly = false) =>
        Query("""
            SELECT * FROM sync_job
            WHERE ($m IS NULL OR mapping_name = $m) AND ($since IS NULL OR start_time >= $since) AND ($failed = 0 OR failed > 0)
            ORDER BY start_time DESC, rowid DESC
            """, ReadJob, ("$m", mappingName), ("$since", FormatNullable(since)), ("$failed", failedOnly));

    public long AddJobError(IntegrationSyncError error)
    {
        long id = 0;
        InTransaction(() =>
        {
            Execute("""
                INSERT INTO sync_job_error (job_id, mapping_name, direction, source_id, destination_id, message, detail, time)
                VALUES ($job, $m, $dir, $src, $dst, $msg, $detail, $time)
                """,
                ("$job", Format(error.JobId)), ("$m", error.MappingName), ("$dir", (int)error.Direction), ("$src", error.SourceId),
                ("$dst", error.DestinationId), ("$msg", error.Message), ("$detail", error.Detail), ("$time", Format(error.Time)));
            id = Query("SELECT last_insert_rowid()", r => r.GetInt64(0)).Single();
        });
        return id;
    }

    public IReadOnlyList<IntegrationSyncError> GetJobErrors(Guid? jobId = null) =>
        Query("SELECT * FROM sync_job_error WHERE ($job IS NULL OR job_id = $job) ORDER BY time DESC, id DESC", ReadJobError, ("$job", FormatNullable(jobId)));

    // ---- Failures of uncoupled records (schema 3) ------------------------------------------------

    public void SaveFailure(UncoupledFailure failure) =>
        InTransaction(() => Execute("""
            INSERT INTO sync_failure (mapping_name, direction, source_id, message, failure_count, skipped, last_job_id, failed_at)
            VALUES ($m, $d, $s, $msg, $count, $skipped, $job, $at)
            ON CONFLICT(mapping_name, direction, source_id) DO UPDATE SET message = excluded.message, failure_count = excluded.failure_count,
                skipped = excluded.skipped, last_job_id = excluded.last_job_id, failed_at = excluded.failed_at
            """,
            ("$m", failure.MappingName), ("$d", (int)failure.Direction), ("$s", Format(failure.SourceId)), ("$msg", failure.Message),
            ("$count", failure.FailureCount), ("$skipped", failure.Skipped), ("$job", FormatNullable(failure.LastJobId)), ("$at", Format(failure.FailedAt))));

    public UncoupledFailure? GetFailure(string mappingName, SyncDirection direction, Guid sourceId) =>
        Query("SELECT * FROM sync_failure WHERE mapping_name = $m AND direction = $d AND source_id = $s", ReadFailure,
            ("$m", mappingName), ("$d", (int)direction), ("$s", Format(sourceId))).FirstOrDefault();

    public IReadOnlyList<UncoupledFailure> GetFailures(string? mappingName = null) =>
        Query("SELECT * FROM sync_failure WHERE ($m IS NULL OR mapping_name = $m) ORDER BY failed_at", ReadFailure, ("$m", mappingName));

    public bool RemoveFailure(string mappingName, SyncDirection direction, Guid sourceId)
    {
        var removed = 0;
        InTransaction(() => removed = Execute("DELETE FROM sync_failure WHERE mapping_name = $m AND direction = $d AND source_id = $s",
            ("$m", mappingName), ("$d", (int)direction), ("$s", Format(sourceId))));
        return removed > 0;
    }

    private static UncoupledFailure ReadFailure(SqliteDataReader r) => new()
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

    // ---- Pending writes and settings (schema 2) -------------------------------------------------

    public long AddPendingWrite(PendingWrite write)
    {
        long id = 0;
        InTransaction(() =>
        {
            Execute("""
                INSERT INTO pending_write (mapping_name, side, source_id, operation, marker, created_at) VALUES ($m, $side, $src, $op, $marker, $at)
                ON CONFLICT(mapping_name, side, source_id, operation) DO UPDATE SET marker = excluded.marker
                """,
                ("$m", write.MappingName), ("$side", (int)write.Side), ("$src", write.SourceId), ("$op", write.Operation),
                ("$marker", write.Marker), ("$at", Format(write.CreatedAt)));
            id = Query("SELECT id FROM pending_write WHERE mapping_name = $m AND side = $side AND source_id = $src AND operation = $op", r => r.GetInt64(0),
                ("$m", write.MappingName), ("$side", (int)write.Side), ("$src", write.SourceId), ("$op", write.Operation)).Single();
        });
        return id;
    }

    public IReadOnlyList<PendingWrite> GetPendingWrites(string? mappingName = null) =>
        Query("SELECT * FROM pending_write WHERE ($m IS NULL OR mapping_name = $m) ORDER BY id", ReadPendingWrite, ("$m", mappingName));

    public bool RemovePendingWrite(long id)
    {
        var removed = 0;
        InTransaction(() => removed = Execute("DELETE FROM pending_write WHERE id = $id", ("$id", id)));
        return removed > 0;
    }

    public string? GetSetting(string key) =>
        Query("SELECT value FROM setting WHERE key = $k", r => r.IsDBNull(0) ? null : r.GetString(0), ("$k", key)).FirstOrDefault();

    public void SetSetting(string key, string? value) =>
        InTransaction(() => Execute("INSERT INTO setting (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value)));

    // ---- Plumbing -------------------------------------------------------------------------------

    internal void ExecuteRaw(string sql)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var command = _connection.CreateCommand();
            command.Transaction = _transaction;
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    internal int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var command = CreateCommand(sql, parameters);
            return command.ExecuteNonQuery();
        }
    }

    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var command = CreateCommand(sql, parameters);
            using var reader = command.ExecuteReader();
            var results = new List<T>();
            while (reader.Read())
            {
                results.Add(read(reader));
            }

            return results;
        }
    }

    private SqliteCommand CreateCommand(string sql, (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value switch
            {
                null => DBNull.Value,
                bool b => b ? 1 : 0,
                _ => value,
            });
        }

        return command;
    }

    private static IntegrationTableMapping ReadTableMapping(SqliteDataReader r) => new()
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

    private static IntegrationFieldMapping ReadFieldMapping(SqliteDataReader r) => new()
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

    private static IntegrationCoupling ReadCoupling(SqliteDataReader r) => new()
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

    private static IntegrationSyncJob ReadJob(SqliteDataReader r) => new()
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
    };

    private static IntegrationSyncError ReadJobError(SqliteDataReader r) => new()
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

    private static PendingWrite ReadPendingWrite(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(r.GetOrdinal("id")),
        MappingName = r.GetString(r.GetOrdinal("mapping_name")),
        Side = (SyncSide)r.GetInt32(r.GetOrdinal("side")),
        SourceId = r.GetString(r.GetOrdinal("source_id")),
        Operation = r.GetString(r.GetOrdinal("operation")),
        Marker = GetNullableString(r, "marker"),
        CreatedAt = ParseDate(r.GetString(r.GetOrdinal("created_at"))),
    };

    private static string? GetNullableString(SqliteDataReader r, string column)
    {
        var ordinal = r.GetOrdinal(column);
        return r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
    }

    // Dates are stored as UTC ISO 8601 with 7 fractional digits, so text order is time order.
    private static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string? FormatNullable(DateTimeOffset? value) => value is null ? null : Format(value.Value);

    private static string Format(Guid value) => value.ToString("D");

    private static string? FormatNullable(Guid? value) => value?.ToString("D");

    private static DateTimeOffset ParseDate(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static DateTimeOffset? ParseNullableDate(string? value) => value is null ? null : ParseDate(value);

    private static Guid? ParseNullableGuid(string? value) => value is null ? null : Guid.Parse(value);

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _connection.Dispose();
            _fileLock.Dispose();
        }
    }
}
