using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Engine.Tests.Mapping;

public sealed class MappingCatalogTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private CrmSyncConnection Open() => CrmSyncConnection.Open("test", _temp.File("state.db"));

    [Fact]
    public void A_new_connection_holds_the_five_standard_mappings_in_order()
    {
        using var connection = Open();

        var mappings = new MappingCatalog(connection.Store).GetAll();

        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "CUSTOMER", "CONTACT" }, mappings.Select(m => m.Name));
        Assert.All(mappings, m => Assert.True(m.HasSameSettingsAs(StandardMappings.Get(m.Name)!)));
    }

    [Fact]
    public void A_planned_change_writes_nothing_until_applied_and_then_persists()
    {
        using (var connection = Open())
        {
            var catalog = new MappingCatalog(connection.Store);
            var plan = catalog.Plan("customer", new MappingSettingsChange { TableFilter = "blocked eq '_x0020_' and city eq 'Oslo'", SynchOnlyCoupledRecords = false });

            Assert.Equal(2, plan.Changes.Count);
            Assert.Contains("TableFilter: blocked eq '_x0020_' -> blocked eq '_x0020_' and city eq 'Oslo'", plan.Describe());
            Assert.Equal("blocked eq '_x0020_'", catalog.Get("CUSTOMER").TableFilter);

            var saved = catalog.Apply(plan);
            Assert.Equal("blocked eq '_x0020_' and city eq 'Oslo'", saved.TableFilter);
        }

        using var reopened = Open();
        var customer = new MappingCatalog(reopened.Store).Get("CUSTOMER");
        Assert.Equal("blocked eq '_x0020_' and city eq 'Oslo'", customer.TableFilter);
        Assert.False(customer.SynchOnlyCoupledRecords);
    }

    [Fact]
    public void An_empty_filter_clears_it_and_the_same_value_is_no_change()
    {
        using var connection = Open();
        var catalog = new MappingCatalog(connection.Store);

        Assert.False(catalog.Plan("CUSTOMER", new MappingSettingsChange { TableFilter = " blocked eq '_x0020_' " }).HasChanges);
        var cleared = catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { TableFilter = "" }));
        Assert.Null(cleared.TableFilter);
    }

    [Fact]
    public void An_invalid_filter_names_the_mapping_the_parameter_and_the_problem()
    {
        using var connection = Open();

        var ex = Assert.Throws<CrmSyncException>(() => new MappingCatalog(connection.Store).Plan("CUSTOMER", new MappingSettingsChange { IntegrationTableFilter = "name = 'x'" }));

        Assert.Equal("MappingFilterInvalid", ex.ErrorId);
        Assert.Contains("'CUSTOMER'", ex.Message);
        Assert.Contains("IntegrationTableFilter (Dataverse side)", ex.Message);
        Assert.Contains("'=' is not allowed", ex.Message);
    }

    [Theory]
    [InlineData(SyncDirection.Bidirectional)]
    [InlineData(SyncDirection.ToIntegrationTable)]
    public void Salespeople_cannot_change_direction_without_field_mappings_for_it(SyncDirection direction)
    {
        using var connection = Open();

        var ex = Assert.Throws<CrmSyncException>(() => new MappingCatalog(connection.Store).Plan("SALESPEOPLE", new MappingSettingsChange { Direction = direction }));

        Assert.Equal("MappingDirectionInvalid", ex.ErrorId);
        Assert.Contains($"cannot be {direction}", ex.Message);
    }

    [Fact]
    public void Customer_can_become_one_way()
    {
        using var connection = Open();
        var catalog = new MappingCatalog(connection.Store);

        var saved = catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { Direction = SyncDirection.ToIntegrationTable, UpdateConflictResolution = UpdateConflictResolution.SendUpdateToIntegration }));

        Assert.Equal(SyncDirection.ToIntegrationTable, saved.Direction);
        Assert.Equal(UpdateConflictResolution.SendUpdateToIntegration, saved.UpdateConflictResolution);
    }

    [Fact]
    public void Dependencies_must_exist_and_must_not_form_a_cycle()
    {
        using var connection = Open();
        var catalog = new MappingCatalog(connection.Store);

        Assert.Equal("MappingDependencyNotFound", Assert.Throws<CrmSyncException>(() => catalog.Plan("CUSTOMER", new MappingSettingsChange { Dependencies = new[] { "ITEM" } })).ErrorId);
        Assert.Equal("MappingDependencyCycle", Assert.Throws<CrmSyncException>(() => catalog.Plan("CUSTOMER", new MappingSettingsChange { Dependencies = new[] { "CUSTOMER" } })).ErrorId);
        var cycle = Assert.Throws<CrmSyncException>(() => catalog.Plan("CURRENCY", new MappingSettingsChange { Dependencies = new[] { "contact" } }));
        Assert.Equal("MappingDependencyCycle", cycle.ErrorId);
        Assert.Empty(catalog.Get("CURRENCY").Dependencies);

        var saved = catalog.Apply(catalog.Plan("CONTACT", new MappingSettingsChange { Dependencies = new[] { "customer|vendor", "CURRENCY" } }));
        Assert.Equal(new[] { "CUSTOMER", "VENDOR", "CURRENCY" }, saved.Dependencies);
    }

    [Fact]
    public void Removing_couplings_on_deletion_while_creating_records_warns()
    {
        using var connection = Open();

        var plan = new MappingCatalog(connection.Store).Plan("CUSTOMER", new MappingSettingsChange { DeletionConflictResolution = DeletionConflictResolution.RemoveCoupling, SynchOnlyCoupledRecords = false });

        Assert.Contains(plan.Warnings, w => w.Contains("may create the record again"));
    }

    [Fact]
    public void A_plan_made_before_a_concurrent_change_is_refused()
    {
        using var connection = Open();
        var catalog = new MappingCatalog(connection.Store);
        var stale = catalog.Plan("CUSTOMER", new MappingSettingsChange { TableFilter = "city eq 'A'" });
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { SynchOnlyCoupledRecords = false }));

        Assert.Equal("MappingChangedConcurrently", Assert.Throws<CrmSyncException>(() => catalog.Apply(stale)).ErrorId);
    }

    [Fact]
    public void Reset_restores_defaults_clears_watermarks_and_keeps_couplings()
    {
        using var connection = Open();
        var catalog = new MappingCatalog(connection.Store);
        catalog.Apply(catalog.Plan("CUSTOMER", new MappingSettingsChange { TableFilter = "city eq 'A'", Direction = SyncDirection.FromIntegrationTable }));
        connection.Store.Watermarks.Advance("CUSTOMER", SyncSide.BusinessCentral, DateTimeOffset.UtcNow);
        var coupling = new IntegrationCoupling { MappingName = "CUSTOMER", BcId = Guid.NewGuid(), DataverseId = Guid.NewGuid(), CoupledAt = DateTimeOffset.UtcNow };
        connection.Store.Couplings.Save(coupling);

        var plan = catalog.PlanReset("CUSTOMER");
        Assert.Contains(plan.Changes, c => c.StartsWith("TableFilter"));
        Assert.Contains(plan.Changes, c => c.StartsWith("Watermarks"));
        var reset = catalog.Reset(plan);

        Assert.True(reset.HasSameSettingsAs(StandardMappings.Get("CUSTOMER")!));
        Assert.Null(reset.BcWatermark);
        Assert.NotNull(connection.Store.Couplings.GetByBcId("CUSTOMER", coupling.BcId));
        Assert.False(catalog.PlanReset("CUSTOMER").HasChanges);
    }

    [Fact]
    public void Only_standard_mappings_can_be_reset()
    {
        using var connection = Open();
        connection.Store.Mappings.Save(StandardMappings.Get("CURRENCY")! with { Name = "ITEM" });

        var ex = Assert.Throws<CrmSyncException>(() => new MappingCatalog(connection.Store).PlanReset("ITEM"));

        Assert.Equal("MappingHasNoDefault", ex.ErrorId);
        Assert.Equal("MappingNotFound", Assert.Throws<CrmSyncException>(() => new MappingCatalog(connection.Store).PlanReset("NOPE")).ErrorId);
    }

    [Fact]
    public void A_deleted_standard_mapping_can_be_restored()
    {
        using var connection = Open();
        connection.Store.Mappings.Delete("CONTACT");
        var catalog = new MappingCatalog(connection.Store);

        catalog.Reset(catalog.PlanReset("CONTACT"));

        Assert.Equal(5, catalog.GetAll().Count);
    }

    [Fact]
    public void A_disconnected_connection_refuses_work_and_releases_the_file()
    {
        var connection = Open();
        connection.Dispose();

        Assert.Equal("ConnectionClosed", Assert.Throws<CrmSyncException>(() => new MappingCatalog(connection.Store)).ErrorId);
        using var again = Open();
        Assert.True(again.IsOpen);
    }

    [Fact]
    public void Named_connections_default_to_their_own_file_under_the_state_directory()
    {
        var previous = Environment.GetEnvironmentVariable(CrmSyncPaths.StateDirectoryVariable);
        Environment.SetEnvironmentVariable(CrmSyncPaths.StateDirectoryVariable, _temp.Path);
        try
        {
            Assert.Equal(Path.Combine(_temp.Path, "contoso_prod.db"), CrmSyncPaths.DefaultStatePath("Contoso Prod"));
            Assert.Equal("ConnectionNameInvalid", Assert.Throws<CrmSyncException>(() => CrmSyncPaths.DefaultStatePath("..")).ErrorId);
            using var connection = CrmSyncConnection.Open("Contoso Prod");
            Assert.Equal(Path.Combine(_temp.Path, "contoso_prod.db"), connection.StatePath);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CrmSyncPaths.StateDirectoryVariable, previous);
        }
    }
}
