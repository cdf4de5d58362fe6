using CrmSync.Connections;
using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.State;

/// <summary>A state belongs to the one environment it was made for: another is refused until the admin re-points it.</summary>
public sealed class StateEnvironmentTests
{
    [Fact]
    public async Task A_state_made_for_one_sandbox_is_refused_by_another_unchanged_and_re_pointing_forgets_its_couplings()
    {
        await using var first = await SandboxConnection.StartAsync();
        await CouplingService.For(first.Connection).CoupleByMatchAsync(StandardMappings.Salespeople, null, (_, _) => true, CancellationToken.None);
        var couplings = first.Connection.Store.Couplings.GetAll().Count;
        Assert.True(couplings > 0);
        var recorded = first.Connection.BoundEnvironment!;
        var settings = first.Connection.Store.Settings.GetAll();
        Assert.Equal(recorded, StateEnvironment.Recorded(first.Connection.Store));
        first.Connection.Dispose();

        await using var second = await SandboxConnection.StartAsync(connect: false);
        var refused = await Assert.ThrowsAsync<CrmSyncException>(() => CrmSyncConnection.ConnectAsync(second.Instance.ToConnectionSettings("second", first.StatePath)));

        Assert.Equal("StateBelongsToAnotherEnvironment", refused.ErrorId);
        Assert.Contains(recorded.DataverseOrganizationId.ToString(), refused.Message, StringComparison.Ordinal);
        Assert.Contains(second.Host.Dataverse.OrganizationId.ToString(), refused.Message, StringComparison.Ordinal);
        Assert.Contains("-RepointState", refused.Message, StringComparison.Ordinal);
        using (var unchanged = CrmSyncConnection.Open("check", first.StatePath))
        {
            Assert.Equal(couplings, unchanged.Store.Couplings.GetAll().Count);
            Assert.Equal(settings, unchanged.Store.Settings.GetAll());
        }

        using var repointed = await CrmSyncConnection.ConnectAsync(second.Instance.ToConnectionSettings("second", first.StatePath) with { RepointState = true });

        Assert.Empty(repointed.Store.Couplings.GetAll());
        Assert.Equal(5, repointed.Store.Mappings.GetAll().Count);
        Assert.Equal(second.Host.Dataverse.OrganizationId, StateEnvironment.Recorded(repointed.Store)!.DataverseOrganizationId);
    }

    [Fact]
    public async Task Each_sandbox_gets_a_state_of_its_own_by_default()
    {
        await using var first = await SandboxConnection.StartAsync(connect: false);
        await using var second = await SandboxConnection.StartAsync(connect: false);

        var one = first.Instance.ToConnectionSettings().StateFile;
        var two = second.Instance.ToConnectionSettings().StateFile;

        Assert.NotEqual(one, two);
        Assert.Equal(CrmSyncPaths.DefaultStateDirectory, Path.GetDirectoryName(one));
    }
}
