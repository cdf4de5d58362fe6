using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace CrmSync.State;

/// <summary>
/// The state in a PostgreSQL database (Azure Database for PostgreSQL in production), for tenants that outgrow a file
/// on one machine. Same migrations and schema version checks as SQLite, with two translations: mapping names compare
/// without case through a nondeterministic ICU collation named <c>nocase</c> (SQLite's COLLATE NOCASE), and
/// AUTOINCREMENT keys become identity columns. One writer per database, as per file: a session-level advisory lock
/// that the server drops when the session ends, so a crashed worker never leaves it held.
/// </summary>
internal sealed partial class PostgresStateDatabase : StateDatabase
{
    // pg_try_advisory_lock key for "the writer of this state database" ("CrmSync" in ASCII).
    private const long WriterLockKey = 0x43726D53796E63;

    private const string NoCaseCollation =
        "CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);\n";

    private PostgresStateDatabase(string location, NpgsqlConnection connection)
        : base(location, connection)
    {
    }

    public static PostgresStateDatabase Open(string connectionString, IReadOnlyList<StateMigration> migrations)
    {
        var builder = Parse(connectionString);
        var location = Describe(builder);
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            connection.Open();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or ArgumentException)
        {
            connection.Dispose();
            throw new CrmSyncException("StateStoreUnreachable", CrmSyncErrorKind.ConnectionError,
                $"The PostgreSQL state store {location} cannot be reached as '{builder.Username}': {ex.Message} " +
                "Check -StateConnectionString (Host, Port, Database, Username, Password) and that the server accepts connections from this machine.", location, ex);
        }

        PostgresStateDatabase? database = null;
        try
        {
            database = new PostgresStateDatabase(location, connection);
            database.AcquireWriterLock();
            database.Migrate(migrations);
            return database;
        }
        catch (PostgresException ex)
        {
            (database as IDisposable ?? connection).Dispose();
            throw new CrmSyncException("StateStoreUnreadable", CrmSyncErrorKind.InvalidData,
                $"The PostgreSQL database {location} cannot be used as a CrmSync state store: {ex.MessageText} " +
                "Give -StateConnectionString a database CrmSync owns (it creates its tables there), or ask its owner for CREATE rights.", location, ex);
        }
        catch
        {
            (database as IDisposable ?? connection).Dispose();
            throw;
        }
    }

    /// <summary>The server and database of a connection string, never its password.</summary>
    public static string Describe(string connectionString) => Describe(Parse(connectionString));

    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"postgresql://{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username}";

    private static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // The message names the keyword, not its value: a connection string may hold a password.
            throw new CrmSyncException("StateConnectionStringInvalid", CrmSyncErrorKind.InvalidArgument,
                $"-StateConnectionString is not a PostgreSQL connection string: {ex.Message} Write it as 'Host=…;Port=5432;Database=…;Username=…;Password=…'.", null, ex);
        }

        if (string.IsNullOrWhiteSpace(builder.Host) || string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new CrmSyncException("StateConnectionStringInvalid", CrmSyncErrorKind.InvalidArgument,
                "-StateConnectionString needs at least Host and Database, e.g. 'Host=myserver.postgres.database.azure.com;Database=crmsync;Username=…;Password=…'.");
        }

        // The writer lock lives on this session: it must not go back to a pool still held, nor be shared.
        builder.Pooling = false;
        builder.ApplicationName ??= $"CrmSync on {Environment.MachineName}, process {Environment.ProcessId}";
        return builder;
    }

    private void AcquireWriterLock()
    {
        if (Query("SELECT pg_try_advisory_lock($key)", r => r.GetBoolean(0), ("$key", WriterLockKey)).Single())
        {
            return;
        }

        var holders = Query("""
            SELECT COALESCE(NULLIF(a.application_name, ''), 'process ' || a.pid) || COALESCE(' from ' || host(a.client_addr), '')
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid = $high AND l.objid = $low
            """, r => r.GetString(0), ("$high", (long)(WriterLockKey >> 32)), ("$low", WriterLockKey & 0xFFFFFFFF));
        throw new CrmSyncException("StateStoreInUse", CrmSyncErrorKind.ResourceBusy,
            $"The state store {Location} is in use by {(holders.Count == 0 ? "another session" : string.Join(", ", holders))}. " +
            "Close that session (Disconnect-CrmSync) or connect with another -StateConnectionString.", Location);
    }

    protected override string MigrationSql(StateMigration migration) =>
        (migration.Version == 1 ? NoCaseCollation : string.Empty) +
        migration.Sql.Replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", StringComparison.Ordinal);

    // The stores write SQLite's $name parameters; Npgsql names them @name.
    protected override string CommandText(string sql) => ParameterPattern().Replace(sql, "@$1");

    protected override void AddParameter(DbCommand command, string name, object? value) =>
        ((NpgsqlCommand)command).Parameters.Add(value is null
            // A null's type cannot be inferred; every nullable state column is text.
            ? new NpgsqlParameter(name.TrimStart('$'), NpgsqlDbType.Text) { Value = DBNull.Value }
            : new NpgsqlParameter(name.TrimStart('$'), value));

    [GeneratedRegex(@"\$(\w+)")]
    private static partial Regex ParameterPattern();
}
