using Microsoft.Data.Sqlite;

namespace CrmSync.State;

/// <summary>
/// The one SQLite connection of a state file and its one transaction, shared by every record store: opening (file
/// lock, WAL, migrations), atomic units, and parameterized commands. Thread-safe: calls are serialized.
/// </summary>
internal sealed class StateDatabase : IDisposable
{
    private static readonly object InitLock = new();
    private static bool _sqliteInitialized;

    private readonly object _gate = new();
    private readonly SqliteConnection _connection;
    private readonly StateFileLock _fileLock;
    private SqliteTransaction? _transaction;
    private long _transactionTicks;
    private bool _disposed;

    private StateDatabase(string path, SqliteConnection connection, StateFileLock fileLock)
    {
        Path = path;
        _connection = connection;
        _fileLock = fileLock;
    }

    public string Path { get; }

    public int SchemaVersion =>
        Query("SELECT COALESCE(MAX(version), 0) FROM schema_version", r => r.GetInt32(0)).Single();

    /// <summary>Time spent in transactions (writes and commits) since the file was opened.</summary>
    public TimeSpan TransactionTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _transactionTicks));

    public static StateDatabase Open(string path, IReadOnlyList<StateMigration> migrations)
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
            var store = new StateDatabase(fullPath, connection, fileLock);
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
        var current = SchemaVersion;
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
                    ("$v", migration.Version), ("$d", migration.Description), ("$t", StateValues.Format(DateTimeOffset.UtcNow)));
            });
        }
    }

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

    /// <summary>Runs several reads under the lock, so no write lands between them.</summary>
    public T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return read();
        }
    }

    public void ExecuteRaw(string sql)
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

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var command = CreateCommand(sql, parameters);
            return command.ExecuteNonQuery();
        }
    }

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
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
