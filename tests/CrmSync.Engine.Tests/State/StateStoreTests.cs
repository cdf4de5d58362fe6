using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Engine.Tests.State;

public sealed class StateStoreTests : StateStoreContract, IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    protected override string Location(string name) => _temp.File(name + ".db");

    private protected override StateStore Open(string location, IReadOnlyList<StateMigration>? migrations = null) =>
        migrations is null ? StateStore.Open(location) : StateStore.Open(location, migrations);

    protected override bool TableExists(StateStore store, string table) =>
        store.Database.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = $t", r => r.GetString(0), ("$t", table)).Count > 0;

    [Fact]
    public void A_new_file_is_migrated_to_the_latest_schema_with_every_table()
    {
        using var store = StateStore.Open(_temp.File("new.db"));

        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
        var tables = store.Database.Query("SELECT name FROM sqlite_master WHERE type = 'table'", r => r.GetString(0));
        foreach (var table in new[] { "schema_version", "integration_table_mapping", "integration_field_mapping", "watermark", "coupling", "sync_job", "sync_job_error", "pending_write", "setting", "sync_failure" })
        {
            Assert.Contains(table, tables);
        }

        Assert.Equal("wal", store.Database.Query("PRAGMA journal_mode", r => r.GetString(0)).Single());
    }

    [Fact]
    public void A_file_that_is_not_a_state_store_gets_a_clear_error_and_is_released()
    {
        var path = _temp.File("garbage.db");
        File.WriteAllText(path, new string('x', 4096));

        var ex = Assert.Throws<CrmSyncException>(() => StateStore.Open(path));

        Assert.Equal("StateStoreUnreadable", ex.ErrorId);
        Assert.Contains(path, ex.Message);
        File.Delete(path);
        using var store = StateStore.Open(path);
        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_state_file_and_the_files_beside_it_are_readable_by_their_owner_only()
    {
        var path = _temp.File("private.db");
        using (var store = StateStore.Open(path))
        {
            store.Settings.Set("integration-user", "x");
            foreach (var file in new[] { path, path + "-wal", path + "-shm", path + ".lock", path + ".owner" })
            {
                Assert.True(File.Exists(file), file);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }

        // A file an older CrmSync left world-readable is narrowed when it is opened.
        File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using (StateStore.Open(path))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void A_second_writer_gets_an_in_use_error_naming_the_process()
    {
        var path = _temp.File("shared.db");
        using (var first = StateStore.Open(path))
        {
            var ex = Assert.Throws<CrmSyncException>(() => StateStore.Open(path));

            Assert.Equal("StateStoreInUse", ex.ErrorId);
            Assert.Equal(CrmSyncErrorKind.ResourceBusy, ex.Kind);
            Assert.Contains($"process {Environment.ProcessId}", ex.Message);
            Assert.Contains(path, ex.Message);
            Assert.Equal(StateStore.LatestSchemaVersion, first.SchemaVersion);
        }

        using var again = StateStore.Open(path);
        Assert.Equal(StateStore.LatestSchemaVersion, again.SchemaVersion);
    }

    [Fact]
    public void An_empty_existing_file_is_treated_as_a_new_store()
    {
        var path = _temp.File("empty.db");
        File.WriteAllBytes(path, Array.Empty<byte>());

        using var store = StateStore.Open(path);

        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
    }
}
