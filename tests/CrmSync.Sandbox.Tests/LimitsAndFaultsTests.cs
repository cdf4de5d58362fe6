using System.Net;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Sandbox.Tests;

// Service-protection limits and faults (docs/reference/limits.md §0–1).
public sealed class LimitsAndFaultsTests
{
    [Fact]
    public async Task Dataverse_request_count_limit_gives_429_with_Retry_After_and_the_documented_code()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { RequestsPerWindow = 5, Window = TimeSpan.FromSeconds(30) });

        var replies = new List<Reply>();
        for (var i = 0; i < 7; i++)
        {
            replies.Add(await sbx.Dataverse(HttpMethod.Get, "WhoAmI"));
        }

        Assert.All(replies.Take(5), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(replies.Skip(5), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.Status));
        Assert.Equal("0x80072322", replies[5].ErrorCode);
        Assert.Equal("Number of requests exceeded the limit of 5 over time window of 30 seconds.", replies[5].ErrorMessage);
        var retryAfter = int.Parse(replies[5].Header("Retry-After")!);
        Assert.InRange(retryAfter, 1, 30);
        Assert.Equal(2, sbx.Host.Counters.Throttled(DataverseService.ServiceName));
        Assert.Equal(7, sbx.Host.Counters.Requests(DataverseService.ServiceName, "GET WhoAmI", sbx.Sample.SetupApp.ObjectId));
        // Limits are per identity: another identity is not throttled.
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, "WhoAmI", caller: sbx.Sample.Admin)).Status);
    }

    // The tests of concurrency and queues keep requests in flight with a hold (the sandbox's breakpoint after admission),
    // not with latency: which requests overlap is then decided by the test, whatever the machine's speed.
    [Fact]
    public async Task Dataverse_concurrency_over_the_limit_is_refused_at_once()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { MaxConcurrent = 2 });
        using var hold = sbx.Host.Hold((service, _, endpoint) => service == DataverseService.ServiceName && endpoint == "GET WhoAmI", 1);

        var admitted = new[] { sbx.Dataverse(HttpMethod.Get, "WhoAmI"), sbx.Dataverse(HttpMethod.Get, "WhoAmI") };
        await hold.HeldAsync(2).WaitAsync(TimeSpan.FromMinutes(1));
        // Both slots are taken: the next two are refused at once, not queued (they are answered while the two are held).
        var third = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var fourth = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        await hold.ReleaseAsync(handle: true);

        Assert.All(await Task.WhenAll(admitted), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(new[] { third, fourth }, r => Assert.Equal((HttpStatusCode.TooManyRequests, "0x80072326"), (r.Status, r.ErrorCode)));
        // The two held plus the one refused request in flight at a time.
        Assert.Equal(3, sbx.Host.Counters.PeakConcurrency(DataverseService.ServiceName, sbx.Sample.SetupApp.ObjectId));
    }

    [Fact]
    public async Task Dataverse_execution_time_budget_is_enforced()
    {
        await using var sbx = await SandboxClient.StartAsync();
        // One request takes at least 150 ms of server time, so after it the 100 ms budget is spent, however fast the machine.
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { ExecutionTimeBudget = TimeSpan.FromMilliseconds(100), LatencyPerRequest = TimeSpan.FromMilliseconds(150) });

        var first = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var second = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.Status);
        Assert.Equal("0x80072321", second.ErrorCode);
        Assert.InRange(int.Parse(second.Header("Retry-After")!), 1, 300);
        // The budget is per identity.
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, "WhoAmI", caller: sbx.Sample.Admin)).Status);
    }

    [Fact]
    public async Task BC_queues_beyond_its_concurrency_and_refuses_beyond_the_queue_without_Retry_After()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(BcService.ServiceName, new ServiceLimits { MaxConcurrent = 2, MaxQueued = 2, QueueTimeout = TimeSpan.FromMinutes(1), SendRetryAfter = false });
        using var hold = sbx.Host.Hold((service, _, endpoint) => service == BcService.ServiceName && endpoint == "GET companies", 1);

        var processing = new[] { sbx.Bc(HttpMethod.Get, "companies"), sbx.Bc(HttpMethod.Get, "companies") };
        await hold.HeldAsync(2).WaitAsync(TimeSpan.FromMinutes(1));
        var queued = new[] { sbx.Bc(HttpMethod.Get, "companies"), sbx.Bc(HttpMethod.Get, "companies") };
        Assert.True(SpinWait.SpinUntil(() => sbx.Host.Queued(BcService.ServiceName) == 2, TimeSpan.FromMinutes(1)), "the two requests beyond the slots were not queued");
        // Two processing and two queued: the queue is full, so the next two are refused at once.
        var fifth = await sbx.Bc(HttpMethod.Get, "companies");
        var sixth = await sbx.Bc(HttpMethod.Get, "companies");
        await hold.ReleaseAsync(handle: true);

        Assert.All(await Task.WhenAll(processing.Concat(queued)), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(new[] { fifth, sixth }, r => Assert.Equal((HttpStatusCode.TooManyRequests, "Request_TooManyRequests"), (r.Status, r.ErrorCode)));
        Assert.All(new[] { fifth, sixth }, r => Assert.Null(r.Header("Retry-After")));
    }

    [Fact]
    public async Task BC_request_waiting_past_the_queue_timeout_gets_503_with_Retry_After()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(BcService.ServiceName, new ServiceLimits { MaxConcurrent = 1, MaxQueued = 5, QueueTimeout = TimeSpan.FromMilliseconds(100), SendRetryAfter = false });
        using var hold = sbx.Host.Hold((service, _, endpoint) => service == BcService.ServiceName && endpoint == "GET companies", 1);

        var processing = sbx.Bc(HttpMethod.Get, "companies");
        await hold.HeldAsync(1).WaitAsync(TimeSpan.FromMinutes(1));
        // The only slot stays taken while the hold lasts: a request queued behind it waits 100 ms and is refused.
        var timedOut = await sbx.Bc(HttpMethod.Get, "companies");
        await hold.ReleaseAsync(handle: true);

        Assert.Equal(HttpStatusCode.OK, (await processing).Status);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Request_QueueTimeout"), (timedOut.Status, timedOut.ErrorCode));
        Assert.NotNull(timedOut.Header("Retry-After"));
    }

    [Fact]
    public async Task Reset_before_commit_writes_nothing_and_reset_after_commit_writes_but_never_answers()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var faults = sbx.Host.Faults(DataverseService.ServiceName);
        var before = Guid.NewGuid();
        var after = Guid.NewGuid();

        faults.Enqueue(FaultKind.ResetBeforeCommit, match: (method, _) => method == "POST");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = before, name = "Lost" }));
        faults.Enqueue(FaultKind.ResetAfterCommit, match: (method, _) => method == "POST");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = after, name = "Committed" }));

        Assert.Equal(HttpStatusCode.NotFound, (await sbx.Dataverse(HttpMethod.Get, $"accounts({before})")).Status);
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, $"accounts({after})")).Status);
    }

    [Fact]
    public async Task Server_errors_and_429_without_Retry_After_come_in_the_service_format()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.Faults(DataverseService.ServiceName).Enqueue(FaultKind.ServerError);
        sbx.Host.Faults(DataverseService.ServiceName).Enqueue(FaultKind.ThrottleWithoutRetryAfter);
        sbx.Host.Faults(BcService.ServiceName).Enqueue(FaultKind.ServerError);

        var error = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var throttled = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var bcError = await sbx.Bc(HttpMethod.Get, "companies");
        var fine = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");

        Assert.Equal(HttpStatusCode.InternalServerError, error.Status);
        Assert.Equal("0x80040216", error.ErrorCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Null(throttled.Header("Retry-After"));
        Assert.Equal("Internal_ServerError", bcError.ErrorCode);
        Assert.Equal(HttpStatusCode.OK, fine.Status);
    }

    [Fact]
    public void Random_faults_are_reproducible_from_the_seed()
    {
        var options = new FaultOptions { Seed = 7, ServerErrorRate = 0.1, ResetAfterCommitRate = 0.1, SlowResponseRate = 0.1 };
        var a = new FaultInjector(options);
        var b = new FaultInjector(options);

        var first = Enumerable.Range(0, 500).Select(_ => a.Next("GET", "accounts")).ToList();
        var second = Enumerable.Range(0, 500).Select(_ => b.Next("GET", "accounts")).ToList();

        Assert.Equal(first, second);
        Assert.InRange(first.Count(f => f == FaultKind.ServerError), 25, 80);
        Assert.InRange(first.Count(f => f is null), 300, 400);
    }

    [Fact]
    public async Task The_request_log_records_status_and_Retry_After_per_identity()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { RequestsPerWindow = 1, Window = TimeSpan.FromSeconds(10) });

        await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        await sbx.Dataverse(HttpMethod.Get, "WhoAmI");

        var log = sbx.Host.Counters.Log.Where(e => e.Service == DataverseService.ServiceName).ToList();
        Assert.Equal(new[] { 200, 429 }, log.Select(e => e.Status));
        Assert.Null(log[0].RetryAfter);
        Assert.NotNull(log[1].RetryAfter);
        Assert.All(log, e => Assert.Equal(sbx.Sample.SetupApp.ObjectId, e.Identity));
    }

    [Fact]
    public async Task Graph_throttles_per_window_with_Retry_After()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(Graph.GraphService.ServiceName, new ServiceLimits { RequestsPerWindow = 2, Window = TimeSpan.FromSeconds(10) });

        await sbx.Graph(HttpMethod.Get, "domains");
        await sbx.Graph(HttpMethod.Get, "domains");
        var throttled = await sbx.Graph(HttpMethod.Get, "domains");

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal("TooManyRequests", throttled.ErrorCode);
        Assert.InRange(int.Parse(throttled.Header("Retry-After")!), 1, 10);
        Assert.Equal(1, sbx.Host.Counters.Throttled(Graph.GraphService.ServiceName));
    }

    [Fact]
    public async Task Tests_can_change_a_record_as_another_user_and_the_change_is_attributed()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=name eq 'Trey Research'")).Values[0].GetProperty("accountid").GetString();

        var response = sbx.Host.Invoke(DataverseService.ServiceName, sbx.Sample.OrdinaryUser, "PATCH", $"accounts({id})", new { telephone1 = "+1 555 0100" });

        Assert.Equal(204, response.Status);
        var read = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=telephone1,_modifiedby_value");
        Assert.Equal("+1 555 0100", read.Json.GetProperty("telephone1").GetString());
        Assert.Equal("c0000000-0000-4000-8000-000000000002", read.Json.GetProperty("_modifiedby_value").GetString());
    }
}
