using System.Data.Common;

namespace CrmSync.State;

/// <summary>
/// The one database connection of a state store and its one transaction, shared by every record store: atomic units,
/// parameterized commands ($name parameters) and forward-only migrations. Thread-safe: calls are serialized. The
/// backends (<see cref="SqliteStateDatabase"/>, <see cref="PostgresStateDatabase"/>) open, lock and speak their dialect.
/// </summary>
internal abstract class StateDatabase : IDisposable
{
    private readonly object _gate = new();
    private readonly DbConnection _connection;

    // Commands by SQL text, kept prepared: a sync runs the same few statements per record, and preparing them anew each
    // time was a fifth of the engine's CPU (measured with dotnet-trace on the full sync). Bounded, for SQL built per call.
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);
    private const int MaxCachedCommands = 256;
    private DbTransaction? _transaction;
    private long _transactionTicks;
    private bool _disposed;

    protected StateDatabase(string location, DbConnection connection)
    {
        Location = location;
        _connection = connection;
    }

    /// <summary>Where the state lives: the file's full path, or the PostgreSQL server and database (never a password).</summary>
    public string Location { get; }

    public int SchemaVersion =>
        Query("SELECT COALESCE(MAX(version), 0) FROM schema_version", r => r.GetInt32(0)).Single();

    /// <summary>Time spent in transactions (writes and commits) since the store was opened.</summary>
    public TimeSpan TransactionTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _transactionTicks));

    /// <summary>
    /// Now, by the clock every user of this state agrees on: the database server's for a shared database (workers on
    /// several machines compare lease times by it, whatever their own clocks say), this machine's for a file.
    /// </summary>
    public virtual DateTimeOffset CurrentTime() => DateTimeOffset.UtcNow;

    /// <summary>A migration's SQL as this backend runs it.</summary>
    protected abstract string MigrationSql(StateMigration migration);

    /// <summary>A statement as this backend runs it (the stores write SQLite-and-PostgreSQL SQL with $name parameters).</summary>
    protected virtual string CommandText(string sql) => sql;

    protected abstract void AddParameter(DbCommand command, string name, object? value);

    protected void Migrate(IReadOnlyList<StateMigration> migrations)
    {
        ExecuteRaw("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);");
        var current = SchemaVersion;
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
        {
            throw new CrmSyncException("StateStoreTooNew", CrmSyncErrorKind.InvalidData,
                $"The state store '{Location}' has schema version {current}, but this CrmSync knows only up to {latest}. Update the CrmSync module.", Location);
        }

        foreach (var migration in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
        {
            InTransaction(() =>
            {
                ExecuteRaw(MigrationSql(migration));
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
            command.CommandText = CommandText(sql);
            command.ExecuteNonQuery();
        }
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var command = Command(sql, parameters, out var owned);
            try
            {
                return command.ExecuteNonQuery();
            }
            finally
            {
                Release(command, owned);
            }
        }
    }

    public List<T> Query<T>(string sql, Func<DbDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var command = Command(sql, parameters, out var owned);
            try
            {
                using var reader = command.ExecuteReader();
                var results = new List<T>();
                while (reader.Read())
                {
                    results.Add(read(reader));
                }

                return results;
            }
            finally
            {
                Release(command, owned);
            }
        }
    }

    /// <summary>Ids per query of <see cref="QueryIn{T}"/>.</summary>
    public const int InListSize = 100;

    private static readonly string InList = "(" + string.Join(", ", Enumerable.Range(0, InListSize).Select(i => "$in" + i)) + ")";

    /// <summary>
    /// The rows of <paramref name="sql"/> for many keys at once: the SQL writes the list as <c>$in</c> (<c>… AND bc_id IN $in</c>).
    /// The list always has <see cref="InListSize"/> parameters (the last key repeats), so it is one prepared statement.
    /// </summary>
    public List<T> QueryIn<T>(string sql, IEnumerable<string> keys, Func<DbDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        var expanded = sql.Replace("$in", InList, StringComparison.Ordinal);
        var results = new List<T>();
        foreach (var chunk in keys.Distinct(StringComparer.Ordinal).Chunk(InListSize))
        {
            var all = new (string Name, object? Value)[parameters.Length + InListSize];
            parameters.CopyTo(all, 0);
            for (var i = 0; i < InListSize; i++)
            {
                all[parameters.Length + i] = ("$in" + i, chunk[Math.Min(i, chunk.Length - 1)]);
            }

            results.AddRange(Query(expanded, read, all));
        }

        return results;
    }

    // The cached command for this SQL with these values bound (owned: not cached, dispose it after use). Called under the gate.
    private DbCommand Command(string sql, (string Name, object? Value)[] parameters, out bool owned)
    {
        owned = false;
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = CommandText(sql);
            owned = _commands.Count >= MaxCachedCommands;
            if (!owned)
            {
                _commands[sql] = command;
            }
        }

        command.Transaction = _transaction;
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value is bool b ? (b ? 1 : 0) : value);
        }

        return command;
    }

    private static void Release(DbCommand command, bool owned)
    {
        if (owned)
        {
            command.Dispose();
        }
        else
        {
            // A cached command holds no values between calls (they may be large, or secrets of a setting).
            command.Parameters.Clear();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Releases what the backend holds besides the connection (a lock file).</summary>
    protected virtual void Release()
    {
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
            _connection.Dispose();
            Release();
        }
    }
}
