using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CrmSync.State;

/// <summary>
/// The embedded default: one SQLite file, single-writer through its lock file (a second one gets "in use by process
/// N"), WAL journal. Its dialect is the one the stores and migrations are written in.
/// </summary>
internal sealed class SqliteStateDatabase : StateDatabase
{
    private static readonly object InitLock = new();
    private static bool _sqliteInitialized;

    private readonly StateFileLock _fileLock;

    private SqliteStateDatabase(string path, SqliteConnection connection, StateFileLock fileLock)
        : base(path, connection)
    {
        _fileLock = fileLock;
    }

    public static SqliteStateDatabase Open(string path, IReadOnlyList<StateMigration> migrations)
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
            var store = new SqliteStateDatabase(fullPath, connection, fileLock);
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

    protected override string MigrationSql(StateMigration migration) => migration.Sql;

    protected override void AddParameter(DbCommand command, string name, object? value) =>
        ((SqliteCommand)command).Parameters.AddWithValue(name, value ?? DBNull.Value);

    protected override void Release() => _fileLock.Dispose();
}
