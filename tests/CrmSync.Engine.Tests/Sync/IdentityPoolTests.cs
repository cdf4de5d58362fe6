using System.Net;
using Azure.Core;
using CrmSync.Accounts;
using CrmSync.Auth;
using CrmSync.Connections;
using CrmSync.Engine.Tests.Services;
using CrmSync.Http;
using CrmSync.Mapping;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Engine.Tests.Sync;

// Several application users, one connection: requests go round robin over them, each identity's throttling is its own,
// and what any of them writes is the integration's own change.
public sealed class IdentityPoolTests
{
    // The application users are made by the setup identity first; then the connection synchronizes as the pool.
    private static async Task<SandboxConnection> PoolAsync(int identities, int withUsers, int extraCustomers = 0)
    {
        var sandbox = await SandboxConnection.StartAsync(new CrmSync.Sandbox.Hosting.SandboxOptions { DataverseUserSyncDelay = TimeSpan.Zero, ExtraCustomers = extraCustomers });
        foreach (var app in sandbox.Instance.IntegrationApps.Take(withUsers))
        {
            await IntegrationUserSetup.For(sandbox.Connection, new CrmSync.Engine.Tests.Accounts.AcceptAllSetupObserver())
                .EnsureAsync(new IntegrationUserRequest { ApplicationId = app.ClientId }, CancellationToken.None);
        }

        await sandbox.ReconnectAsync(sandbox.Settings() with { IntegrationCredentials = sandbox.Instance.IntegrationCredentials(identities) });
        return sandbox;
    }

    [Fact]
    public async Task A_full_sync_spreads_its_requests_over_every_identity_and_no_identity_s_write_comes_back()
    {
        // Enough customers that a batch of writes is several requests.
        await using var sandbox = await PoolAsync(identities: 3, withUsers: 3, extraCustomers: 3000);
        await sandbox.Connection.EnsureSyncIdentityAsync(CancellationToken.None);
        sandbox.Host.Counters.Reset();

        var (jobs, observer) = await sandbox.SyncAsync(full: true);

        Assert.Empty(observer.Failures);
        Assert.True(jobs.Sum(j => j.Inserted) > 0);
        var apps = sandbox.Host.Sample!.IntegrationApps.Take(3).ToList();
        foreach (var service in new[] { DataverseService.ServiceName, CrmSync.Sandbox.BusinessCentral.BcService.ServiceName })
        {
            var total = sandbox.Host.Counters.Requests(service);
            var perApp = apps.Select(a => sandbox.Host.Counters.Requests(service, identity: a.ObjectId)).ToList();
            // Round robin: every identity carries its share (a third, give or take the requests of lookups and probes).
            Assert.All(perApp, n => Assert.True(n >= total / 6, $"{service}: {string.Join("/", perApp)} of {total}"));
            Assert.Equal(total, perApp.Sum());
        }

        // Rows were written by the three application users, and a run right after finds nothing to carry back: each of
        // their writes is the integration's own.
        var writers = sandbox.Connection.SyncDataverseUserIds;
        Assert.Equal(3, writers.Count);
        var coupled = sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Customer).Select(c => c.DataverseId).ToHashSet();
        var modifiedBy = sandbox.Rows("Dataverse", "accounts").Where(r => coupled.Contains(r.Id()))
            .Select(r => ((LookupValue)r.Value(sandbox, "Dataverse", "accounts", "modifiedby")!).Id).ToHashSet();
        Assert.Superset(writers.ToHashSet(), modifiedBy);

        var (again, second) = await sandbox.SyncAsync();
        Assert.Empty(second.Failures);
        Assert.Equal(0, again.Sum(j => j.Inserted + j.Modified));
    }

    [Fact]
    // The second identity: neither the first of the pool nor the integration user New-IntegrationUser recorded last.
    public async Task A_change_the_second_identity_makes_in_Dataverse_never_reaches_Business_Central()
    {
        await using var sandbox = await PoolAsync(identities: 3, withUsers: 3);
        var (_, first) = await sandbox.SyncAsync(full: true);
        Assert.Empty(first.Failures);
        var coupling = sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Customer).First();

        sandbox.ChangeDv(sandbox.Host.Sample!.IntegrationApps[1], "accounts", coupling.DataverseId, new Dictionary<string, object> { ["websiteurl"] = "https://pool-echo.example" });
        var (jobs, observer) = await sandbox.SyncAsync(names: StandardMappings.Customer);

        Assert.Empty(observer.Failures);
        Assert.Equal(0, jobs.Where(j => j.Direction == SyncDirection.FromIntegrationTable).Sum(j => j.Modified + j.Inserted));
    }

    [Fact]
    public async Task Every_identity_of_the_pool_is_checked_and_one_without_its_application_user_is_named_with_the_fix()
    {
        await using var sandbox = await PoolAsync(identities: 2, withUsers: 1);
        var second = sandbox.Instance.IntegrationApps[1].ClientId;

        var each = await sandbox.Connection.CheckSyncIdentitiesAsync(CancellationToken.None);
        var whole = await sandbox.Connection.CheckSyncIdentityAsync(CancellationToken.None);
        var checks = await new ReadinessCheck(sandbox.Connection).RunAsync(null, CancellationToken.None);

        Assert.Equal(2, each.Count);
        Assert.True(each[0].Ready, each[0].Detail);
        Assert.False(each[1].Ready);
        Assert.Equal($"New-IntegrationUser -ApplicationId {second}", each[1].Fix);
        Assert.False(whole.Ready);
        Assert.Equal("SyncIdentityNotReady", whole.ErrorId);
        Assert.Contains(second.ToString(), whole.Detail, StringComparison.OrdinalIgnoreCase);
        var rows = checks.Where(c => c.Check == "Synchronization writes as the integration identity").ToList();
        Assert.Equal(new[] { CheckStatus.Pass, CheckStatus.Fail }, rows.Select(r => r.Status));
        Assert.Contains(second.ToString(), rows[1].Target, StringComparison.OrdinalIgnoreCase);
        // Business Central access is read as each identity.
        Assert.Contains(checks, c => c.Area == "Business Central" && c.Target.EndsWith(sandbox.Connection.SyncIdentities[0].Identity, StringComparison.Ordinal));
        Assert.Contains(checks, c => c.Area == "Business Central" && c.Target.EndsWith(sandbox.Connection.SyncIdentities[1].Identity, StringComparison.Ordinal));
        await Assert.ThrowsAsync<CrmSyncException>(() => sandbox.Connection.EnsureSyncIdentityAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_same_identity_twice_in_a_pool_is_refused()
    {
        await using var sandbox = await SandboxConnection.StartAsync(connect: false);
        var one = sandbox.Instance.IntegrationCredential()!;

        var error = await Assert.ThrowsAsync<CrmSyncException>(() => CrmSyncConnection.ConnectAsync(sandbox.Settings() with { IntegrationCredentials = new[] { one, one } }));

        Assert.Equal("IntegrationIdentityDuplicate", error.ErrorId);
        Assert.Contains("per identity", error.Message);
    }

    [Fact]
    public async Task Requests_go_round_robin_and_an_identity_being_throttled_is_passed_over_until_its_Retry_After_ends()
    {
        // The pool's clock is moved by the test: the Retry-After window ends when the test says, not when the machine
        // happens to get there, so a slow or busy machine cannot change what is observed.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new FakeService(throttleFirst: TimeSpan.FromSeconds(1));
        var b = new FakeService(throttleFirst: null);
        var c = new FakeService(throttleFirst: null);
        var retry = new RetrySettings { BaseDelay = TimeSpan.FromMilliseconds(10), MaxRetries = 3 };
        ServiceHandler Member(string name, FakeService inner) => new(ServiceKind.Dataverse, new TokenSource(new StaticToken(), name), "scope", 4, retry, inner, time);
        var throttled = Member("a", a);
        using var pool = new HttpMessageInvoker(new IdentityPoolHandler(new[] { throttled, Member("b", b), Member("c", c) }));
        // A request sent to an identity that waits out its Retry-After would wait for the fake clock: bounded, so that a pool
        // that stopped passing it over fails here instead of hanging.
        Task<HttpResponseMessage> Send() => pool.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/x"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        // The first request goes to a, which answers 429 Retry-After 1 s: a's own retry waits, the pool does not.
        var first = pool.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/x"), CancellationToken.None);
        await a.Received.Task.WaitAsync(TimeSpan.FromMinutes(1));
        // Signal, not time: the pool sees a as throttled once a's handler has read the 429 (bounded wait).
        for (var spins = 0; throttled.ThrottledUntil <= time.GetUtcNow() && spins < 10_000; spins++)
        {
            await Task.Delay(1);
        }

        Assert.True(throttled.ThrottledUntil > time.GetUtcNow(), "a's handler read the 429");
        var during = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            during.Add(await Send());
        }

        Assert.False(first.IsCompleted, "a's request waits for its Retry-After");
        Assert.All(during, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, a.Count);
        // a's turns go to the next identity that is free.
        Assert.Equal(6, b.Count + c.Count);
        Assert.True(b.Count >= 2 && c.Count >= 2, $"b {b.Count}, c {c.Count}");

        // Not yet: a moment before the window ends, a is still passed over.
        time.Advance(TimeSpan.FromMilliseconds(900));
        (await Send()).Dispose();
        Assert.Equal(1, a.Count);
        Assert.False(first.IsCompleted, "a's request still waits");

        // The window ends: a's own request is retried (the clock moved on in steps, at most 10 s of it).
        for (var step = 0; !first.IsCompleted && step < 100; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10);
        }

        Assert.True(first.IsCompleted, "a's request was retried once its Retry-After had passed");
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(2, a.Count);
        for (var i = 0; i < 3; i++)
        {
            (await Send()).Dispose();
        }

        // Throttling over, a takes its turn again: one of the next three.
        Assert.Equal(3, a.Count);
        Assert.Equal(9, b.Count + c.Count);
    }

    private sealed class StaticToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => new("token", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    // One identity's view of the service: counts what it received; answers its first request 429 when asked to.
    private sealed class FakeService(TimeSpan? throttleFirst) : HttpMessageHandler
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public TaskCompletionSource Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _count);
            Received.TrySetResult();
            var response = new HttpResponseMessage(n == 1 && throttleFirst is { } wait ? HttpStatusCode.TooManyRequests : HttpStatusCode.OK);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(throttleFirst!.Value);
            }

            return Task.FromResult(response);
        }
    }
}
