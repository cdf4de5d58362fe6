namespace CrmSync.State;

/// <summary>
/// The connection's SQLite state file, one store per record kind over one shared connection and transaction: an
/// <see cref="InTransaction"/> around calls to several stores commits them together. One writer per file (a second
/// one gets a clear "in use by process N" error); WAL journal; forward-only migrations. Thread-safe. No SQLite type
/// appears in the public surface.
/// </summary>
public sealed class StateStore : IDisposable
{
    private StateStore(StateDatabase database)
    {
        Database = database;
        Watermarks = new WatermarkStore(database);
        Mappings = new MappingStore(database, Watermarks);
        Couplings = new CouplingStore(database);
        Jobs = new JobStore(database);
        Failures = new FailureStore(database);
        PendingWrites = new PendingWriteStore(database);
        Settings = new SettingStore(database);
        Leases = new LeaseStore(database);
    }

    /// <summary>Where the state lives: the state file's full path, or postgresql://host:port/database (never a password).</summary>
    public string Path => Database.Location;

    /// <summary>SQLite or PostgreSQL.</summary>
    public string Kind => Database is PostgresStateDatabase ? "PostgreSQL" : "SQLite";

    /// <summary>Whether several workers may use the store at once (PostgreSQL): synchronization then takes leases.</summary>
    public bool IsShared => Database is PostgresStateDatabase;

    /// <summary>Where a PostgreSQL connection string points (server and database), as <see cref="Path"/> shows it.</summary>
    internal static string DescribePostgres(string connectionString) => PostgresStateDatabase.Describe(connectionString);

    /// <summary>Schema version of the open file.</summary>
    public int SchemaVersion => Database.SchemaVersion;

    public static int LatestSchemaVersion => StateMigrations.LatestVersion;

    internal MappingStore Mappings { get; }

    internal WatermarkStore Watermarks { get; }

    internal CouplingStore Couplings { get; }

    internal JobStore Jobs { get; }

    internal FailureStore Failures { get; }

    internal PendingWriteStore PendingWrites { get; }

    internal SettingStore Settings { get; }

    internal LeaseStore Leases { get; }

    /// <summary>Now by the state's clock (the database server's for PostgreSQL): what lease times are compared by.</summary>
    internal DateTimeOffset CurrentTime() => Database.CurrentTime();

    /// <summary>Time spent in transactions (writes and commits) since the store was opened: what state keeping costs a run.</summary>
    public TimeSpan TransactionTime => Database.TransactionTime;

    /// <summary>The connection under the stores, for migrations and tests that read the schema itself.</summary>
    internal StateDatabase Database { get; }

    /// <summary>Opens (creating when needed) the state file and migrates it to the latest schema.</summary>
    public static StateStore Open(string path) => Open(path, StateMigrations.All);

    /// <summary>Opens the state in a PostgreSQL database (creating its tables when needed) and migrates it to the latest schema.</summary>
    public static StateStore OpenPostgres(string connectionString) => OpenPostgres(connectionString, StateMigrations.All);

    internal static StateStore OpenPostgres(string connectionString, IReadOnlyList<StateMigration> migrations) =>
        new(PostgresStateDatabase.Open(connectionString, migrations));

    internal static StateStore Open(string path, IReadOnlyList<StateMigration> migrations) => new(SqliteStateDatabase.Open(path, migrations));

    /// <summary>Runs <paramref name="action"/> atomically: everything it writes, in any store, is committed together or not at all. Nested calls join the outer transaction.</summary>
    public void InTransaction(Action action) => Database.InTransaction(action);

    /// <summary>
    /// Forgets what belongs to one environment — couplings, watermarks, failures, pending writes, the recorded
    /// integration user and admin — keeping the mappings and the job log (re-pointing a state to another environment).
    /// </summary>
    internal void ForgetEnvironmentData() => Database.InTransaction(() =>
    {
        foreach (var table in new[] { "coupling", "watermark", "sync_failure", "pending_write" })
        {
            Database.Execute($"DELETE FROM {table}");
        }

        Database.Execute("DELETE FROM setting WHERE key IN ($a, $b)", ("$a", Sync.SettingKeys.IntegrationUserId), ("$b", Sync.SettingKeys.AdminUserPrincipalName));
    });

    public void Dispose() => Database.Dispose();
}
