using CrmSync.State;

namespace CrmSync.Engine.Tests.State;

/// <summary>The state store contract against a real PostgreSQL, and what is PostgreSQL's own: connection strings, one writer per database.</summary>
public sealed class PostgresStateStoreTests(PostgresCluster cluster) : StateStoreContract, IClassFixture<PostgresCluster>
{
    private readonly Dictionary<string, string> _databases = new();

    protected override string Location(string name)
    {
        if (!_databases.TryGetValue(name, out var connectionString))
        {
            _databases[name] = connectionString = cluster.NewDatabase(name);
        }

        return connectionString;
    }

    private protected override StateStore Open(string location, IReadOnlyList<StateMigration>? migrations = null) =>
        migrations is null ? StateStore.OpenPostgres(location) : StateStore.OpenPostgres(location, migrations);

    protected override bool TableExists(StateStore store, string table) =>
        store.Database.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $t", r => r.GetString(0), ("$t", table)).Count > 0;

    [Fact]
    public void A_new_database_gets_every_table_and_names_compare_without_case()
    {
        using var store = Open(Location("new"));

        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
        foreach (var table in new[] { "schema_version", "integration_table_mapping", "integration_field_mapping", "watermark", "coupling", "sync_job", "sync_job_error", "pending_write", "setting", "sync_failure" })
        {
            Assert.True(TableExists(store, table), table);
        }

        store.Mappings.Save(CrmSync.Mapping.StandardMappings.Get("CUSTOMER")!);
        Assert.NotNull(store.Mappings.Get("customer"));
        Assert.StartsWith("postgresql://127.0.0.1:", store.Path);
    }

    [Fact]
    public void Several_workers_share_one_database_and_leases_keep_them_off_the_same_mapping()
    {
        var location = Location("shared");
        using var first = Open(location);
        using var second = Open(location);
        var now = DateTimeOffset.UtcNow;

        Assert.True(first.Leases.TryAcquire("CUSTOMER", "worker-a", TimeSpan.FromMinutes(1), now).Acquired);
        Assert.False(second.Leases.TryAcquire("CUSTOMER", "worker-b", TimeSpan.FromMinutes(1), now).Acquired);
        second.Settings.Set("seen-by", "worker-b");
        Assert.Equal("worker-b", first.Settings.Get("seen-by"));
    }

    [Fact]
    public void Lease_times_come_from_the_database_server_s_running_clock_even_inside_a_transaction()
    {
        using var store = Open(Location("clock"));
        var before = DateTimeOffset.UtcNow;

        DateTimeOffset first = default, second = default;
        store.InTransaction(() =>
        {
            first = store.CurrentTime();
            Thread.Sleep(120);
            second = store.CurrentTime();
        });

        // The server runs on this machine here: its clock agrees with ours to well within a second.
        Assert.InRange(first, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        // clock_timestamp(), not the transaction's start (now()): a lease renewed late in a long commit is renewed from then.
        Assert.True(second - first >= TimeSpan.FromMilliseconds(100), $"{first:O} → {second:O}");
    }

    [Fact]
    public void A_password_in_the_connection_string_appears_in_no_error()
    {
        var location = Location("secret") + ";Password=canary-7f3e;Username=nobody";

        var ex = Assert.Throws<CrmSyncException>(() => Open(location));

        Assert.Equal("StateStoreUnreachable", ex.ErrorId);
        Assert.DoesNotContain("canary-7f3e", ex.ToString());
        Assert.Contains("nobody", ex.Message);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Bogus Keyword=1")]
    [InlineData("Database=crmsync")]
    public void A_connection_string_that_is_not_one_is_refused_with_the_fix(string connectionString)
    {
        var ex = Assert.Throws<CrmSyncException>(() => Open(connectionString));

        Assert.Equal("StateConnectionStringInvalid", ex.ErrorId);
        Assert.Contains("Host=", ex.Message);
    }
}
