using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

/// <summary>
/// Field lookups find couplings of other mappings (a customer's currency, its salesperson) for every record: a pass
/// remembers what it found in those mappings, which do not change while it runs, and never remembers its own.
/// </summary>
public sealed class LookupContextTests
{
    private static IntegrationCoupling Coupling(string mapping, Guid bcId, Guid dataverseId) =>
        new() { MappingName = mapping, BcId = bcId, DataverseId = dataverseId, CoupledAt = DateTimeOffset.UtcNow };

    [Fact]
    public async Task A_pass_remembers_couplings_of_other_mappings_until_the_next_pass_and_never_its_own()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var store = sandbox.Connection.Store;
        var lookups = new LookupContext(SyncServices.Of(sandbox.Connection));
        var (bc, first, second) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        store.Couplings.Save(Coupling(StandardMappings.Currency, bc, first));

        lookups.BeginPass(StandardMappings.Customer);
        Assert.Equal(first, lookups.DataverseIdCoupledTo(StandardMappings.Currency, bc));
        Assert.Equal(bc, lookups.BcIdCoupledTo(StandardMappings.Currency, first));
        store.Couplings.Save(Coupling(StandardMappings.Currency, bc, second));
        Assert.Equal(first, lookups.DataverseIdCoupledTo(StandardMappings.Currency, bc));

        lookups.BeginPass(StandardMappings.Customer);
        Assert.Equal(second, lookups.DataverseIdCoupledTo(StandardMappings.Currency, bc));
        Assert.Null(lookups.DataverseIdCoupledTo(StandardMappings.Currency, Guid.NewGuid()));

        // The pass's own mapping: each lookup asks the store, which the pass changes as it runs.
        lookups.BeginPass(StandardMappings.Currency);
        Assert.Equal(second, lookups.DataverseIdCoupledTo(StandardMappings.Currency, bc));
        store.Couplings.Save(Coupling(StandardMappings.Currency, bc, first));
        Assert.Equal(first, lookups.DataverseIdCoupledTo(StandardMappings.Currency, bc));
    }
}
