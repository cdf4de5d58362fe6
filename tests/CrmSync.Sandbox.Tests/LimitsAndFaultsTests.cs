using System.Net;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Sandbox.Tests;

// Service-protection limits and faults (shared/reference/limits-and-reliability.md §0–1).
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

    [Fact]
    public async Task Dataverse_concurrency_over_the_limit_is_refused_at_once()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { MaxConcurrent = 2, LatencyPerRequest = TimeSpan.FromMilliseconds(400) });

        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => sbx.Dataverse(HttpMethod.Get, "WhoAmI")));

        Assert.Equal(2, replies.Count(r => r.Status == HttpStatusCode.OK));
        var refused = replies.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, r => Assert.Equal("0x80072326", r.ErrorCode));
        // Two held their slot for 400 ms while at least one refused request was in flight.
        Assert.InRange(sbx.Host.Counters.PeakConcurrency(DataverseService.ServiceName, sbx.Sample.SetupApp.ObjectId), 3, 4);
    }

    [Fact]
    public async Task Dataverse_execution_time_budget_is_enforced()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { ExecutionTimeBudget = TimeSpan.FromMilliseconds(250), LatencyPerRequest = TimeSpan.FromMilliseconds(150) });

        var first = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var second = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");
        var third = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Equal("0x80072321", third.ErrorCode);
        Assert.NotNull(third.Header("Retry-After"));
    }

    [Fact]
    public async Task BC_queues_beyond_5_processing_and_refuses_beyond_the_queue_without_Retry_After()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(BcService.ServiceName, new ServiceLimits { MaxConcurrent = 2, MaxQueued = 2, SendRetryAfter = false, LatencyPerRequest = TimeSpan.FromMilliseconds(300) });

        var replies = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => sbx.Bc(HttpMethod.Get, "companies")));

        Assert.Equal(4, replies.Count(r => r.Status == HttpStatusCode.OK));
        var refused = replies.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, r => Assert.Null(r.Header("Retry-After")));
        Assert.Equal("Request_TooManyRequests", refused[0].ErrorCode);
    }

    [Fact]
    public async Task BC_request_waiting_past_the_queue_timeout_gets_503_with_Retry_After()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.SetLimits(BcService.ServiceName, new ServiceLimits { MaxConcurrent = 1, MaxQueued = 5, QueueTimeout = TimeSpan.FromMilliseconds(100), SendRetryAfter = false, LatencyPerRequest = TimeSpan.FromSeconds(1) });

        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => sbx.Bc(HttpMethod.Get, "companies")));

        // One is processed; whatever arrives while it runs waits 100 ms in the queue and is refused.
        Assert.Contains(replies, r => r.Status == HttpStatusCode.OK);
        var timedOut = replies.Where(r => r.Status == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(timedOut);
        Assert.All(timedOut, r => Assert.NotNull(r.Header("Retry-After")));
        Assert.All(timedOut, r => Assert.Equal("Request_QueueTimeout", r.ErrorCode));
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
