using System.Net;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Sandbox.Tests;

// The hold kill tests act on: the n-th matching request waits until released, then is handled or dropped.
public sealed class RequestHoldTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_nth_matching_request_waits_until_released_then_is_handled_or_dropped(bool handle)
    {
        await using var sbx = await SandboxClient.StartAsync();
        using var hold = sbx.Host.Hold((service, method, _) => service == DataverseService.ServiceName && method == "POST", 2);
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();

        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = first, name = "Passes" })).Status);
        Assert.False(hold.Reached.IsCompleted);
        var held = sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = second, name = "Held" });
        await hold.Reached.WaitAsync(TimeSpan.FromMinutes(1));

        // Requests that do not match pass while it waits; the held one has not been written.
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, "WhoAmI")).Status);
        Assert.Equal("POST accounts", hold.ReachedBy);
        Assert.False(held.IsCompleted);
        Assert.Equal(HttpStatusCode.NotFound, (await sbx.Dataverse(HttpMethod.Get, $"accounts({second})")).Status);

        await hold.ReleaseAsync(handle);
        if (handle)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await held).Status);
            Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, $"accounts({second})")).Status);
        }
        else
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => held);
            Assert.Equal(HttpStatusCode.NotFound, (await sbx.Dataverse(HttpMethod.Get, $"accounts({second})")).Status);
        }

        // Released: later requests pass.
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Post, "accounts", new { name = "After" })).Status);
    }
}
