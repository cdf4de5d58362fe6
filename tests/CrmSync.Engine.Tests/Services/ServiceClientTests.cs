using System.Text.Json.Nodes;
using CrmSync.BusinessCentral;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Http;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Engine.Tests.Services;

// The service clients against the sandbox, over real HTTP.
public sealed class ServiceClientTests
{
    [Fact]
    public async Task Connecting_checks_all_three_services_and_learns_the_identity()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var connection = sandbox.Connection;

        Assert.True(connection.IsConnectedToServices);
        Assert.True(connection.IsSandbox);
        Assert.All(connection.Checks, c => Assert.True(c.Succeeded, c.Detail));
        Assert.Equal(3, connection.Checks.Count);
        Assert.Equal(Guid.Parse("c0000000-0000-4000-8000-0000000000a1"), connection.DataverseUserId);
        Assert.Equal("CRONUS USA, Inc.", connection.CompanyName);
        Assert.Equal("Contoso", connection.TenantName);
        Assert.Equal("Sandbox", connection.AuthenticationMethod);
        Assert.Contains(sandbox.Host.Sample!.SetupApp.ClientId!.Value.ToString(), connection.Identity);
        Assert.Contains(sandbox.Messages, m => m.Contains("WhoAmI"));
    }

    [Fact]
    public async Task A_12345_row_query_streams_in_three_pages_one_page_at_a_time()
    {
        await using var sandbox = await SandboxConnection.StartAsync(new SandboxOptions { ExtraAccounts = 12345 - 6 });
        var counters = sandbox.Host.Counters;
        var before = counters.Requests(DataverseService.ServiceName, "GET accounts");
        var seen = 0;
        var requestsAfterFirstRow = -1;

        await foreach (var row in sandbox.Connection.Dataverse.QueryAsync("accounts", new DataverseQuery(new[] { "name" }) { PageSize = 5000 }))
        {
            if (seen++ == 0)
            {
                requestsAfterFirstRow = counters.Requests(DataverseService.ServiceName, "GET accounts") - before;
            }

            Assert.NotNull(row["accountid"]);
        }

        Assert.Equal(12345, seen);
        // When the first row arrives, at most the first page has been served (the sandbox counts a request when its response is written).
        Assert.InRange(requestsAfterFirstRow, 0, 1);
        for (var wait = 0; wait < 50 && counters.Requests(DataverseService.ServiceName, "GET accounts") - before < 3; wait++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(3, counters.Requests(DataverseService.ServiceName, "GET accounts") - before);
    }

    [Fact]
    public async Task Batch_with_continue_on_error_reports_the_failure_for_its_item_and_a_change_set_rolls_back()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var dataverse = sandbox.Connection.Dataverse;
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        DataverseBatchOperation Create(Guid id, string name, object? bad = null)
        {
            var body = new JsonObject { ["accountid"] = id, ["name"] = name };
            if (bad is not null)
            {
                body["creditlimit"] = JsonValue.Create(bad.ToString());
            }

            return new DataverseBatchOperation("POST", "accounts", body);
        }

        var independent = await dataverse.ExecuteBatchAsync(new[] { Create(ids[0], "One"), Create(ids[1], "Two", "lots"), Create(ids[2], "Three") }, DataverseBatchMode.ContinueOnError);
        var changeSetIds = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        var changeSet = await dataverse.ExecuteBatchAsync(new[] { Create(changeSetIds[0], "CS One"), Create(changeSetIds[1], "CS Two", "lots"), Create(changeSetIds[2], "CS Three") }, DataverseBatchMode.ChangeSet);

        Assert.True(independent[0].Succeeded);
        Assert.False(independent[1].Succeeded);
        Assert.Equal(400, independent[1].Error!.StatusCode);
        Assert.Contains("creditlimit", independent[1].Error!.ServiceMessage);
        Assert.True(independent[2].Succeeded);
        Assert.NotNull(await dataverse.RetrieveAsync("accounts", ids[2], new[] { "name" }));
        Assert.All(changeSet, r => Assert.False(r.Succeeded));
        foreach (var id in changeSetIds)
        {
            Assert.Null(await dataverse.RetrieveAsync("accounts", id, new[] { "name" }));
        }
    }

    [Fact]
    public async Task A_stale_etag_is_a_typed_conflict_on_both_services()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var connection = sandbox.Connection;
        var id = Guid.NewGuid();
        var created = await connection.Dataverse.CreateAsync("accounts", "accountid", id, new JsonObject { ["name"] = "Versioned" });
        await connection.Dataverse.UpdateAsync("accounts", "accountid", id, new JsonObject { ["name"] = "Changed" }, created.ETag);
        var customer = await connection.BusinessCentral.ListAsync("customers", new BcQuery { Select = new[] { "id", "displayName" } }).FirstAsync();
        var etag = customer["@odata.etag"]!.GetValue<string>();
        var customerId = Guid.Parse(customer["id"]!.GetValue<string>());
        await connection.BusinessCentral.UpdateAsync("customers", customerId, new JsonObject { ["phoneNumber"] = "1" }, etag);

        var dataverseConflict = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => connection.Dataverse.UpdateAsync("accounts", "accountid", id, new JsonObject { ["name"] = "Late" }, created.ETag));
        var bcConflict = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => connection.BusinessCentral.UpdateAsync("customers", customerId, new JsonObject { ["phoneNumber"] = "2" }, etag));

        Assert.Equal(412, dataverseConflict.StatusCode);
        Assert.Equal(ServiceKind.Dataverse, dataverseConflict.Service);
        Assert.Equal("Request_EntityChanged", bcConflict.ServiceCode);
        Assert.Equal("ServiceConcurrencyConflict", bcConflict.ErrorId);
    }

    [Fact]
    public async Task A_throttled_identity_waits_out_Retry_After_and_recovers()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        using var listening = sandbox.Listen();
        sandbox.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { RequestsPerWindow = 3, Window = TimeSpan.FromSeconds(2) });
        sandbox.Host.Counters.Reset();

        for (var i = 0; i < 7; i++)
        {
            await sandbox.Connection.Dataverse.WhoAmIAsync();
        }

        var log = sandbox.Host.Counters.Log.Where(e => e.Service == DataverseService.ServiceName).OrderBy(e => e.ReceivedAt).ToList();
        var throttled = log.Where(e => e.Status == 429).ToList();
        Assert.NotEmpty(throttled);
        Assert.Equal(7, log.Count(e => e.Status == 200));
        foreach (var refusal in throttled)
        {
            var earliest = refusal.CompletedAt + refusal.RetryAfter!.Value;
            var next = log.First(e => e.ReceivedAt > refusal.CompletedAt);
            Assert.True(next.ReceivedAt >= earliest - TimeSpan.FromMilliseconds(15), $"a request came {(earliest - next.ReceivedAt).TotalMilliseconds:0} ms before Retry-After expired");
        }

        Assert.Contains(sandbox.Messages, m => m.Contains("answered 429"));
    }

    [Fact]
    public async Task Concurrency_stays_within_each_services_limit()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        sandbox.Host.SetLimits(BcService.ServiceName, new ServiceLimits { MaxConcurrent = 5, MaxQueued = 0, SendRetryAfter = false, LatencyPerRequest = TimeSpan.FromMilliseconds(40) });
        sandbox.Host.SetLimits(DataverseService.ServiceName, new ServiceLimits { MaxConcurrent = 52, LatencyPerRequest = TimeSpan.FromMilliseconds(40) });
        sandbox.Host.Counters.Reset();
        var connection = sandbox.Connection;

        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => connection.BusinessCentral.GetCompaniesAsync())
            .Concat(Enumerable.Range(0, 40).Select(_ => (Task)connection.Dataverse.WhoAmIAsync())));

        var identity = sandbox.Host.Sample!.SetupApp.ObjectId;
        Assert.InRange(sandbox.Host.Counters.PeakConcurrency(BcService.ServiceName, identity), 2, 5);
        Assert.Equal(0, sandbox.Host.Counters.Throttled(BcService.ServiceName));
        // Dataverse follows x-ms-dop-hint (4 in the sandbox), learned from the connect-time WhoAmI.
        Assert.InRange(sandbox.Host.Counters.PeakConcurrency(DataverseService.ServiceName, identity), 2, sandbox.Host.Dataverse.DegreeOfParallelismHint);
    }

    [Fact]
    public async Task A_missing_privilege_surfaces_with_the_privilege_name()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var app = sandbox.AddApplication("Limited App", "limited-secret", dataverseRole: "Salesperson");
        using var limited = await sandbox.ConnectAsAsync(app, "limited-secret");
        var account = await limited.Dataverse.QueryAsync("accounts", new DataverseQuery(new[] { "name" }) { PageSize = 1 }).FirstAsync();

        var error = await Assert.ThrowsAsync<MissingPrivilegeException>(() => limited.Dataverse.DeleteAsync("accounts", Guid.Parse(account["accountid"]!.GetValue<string>())));

        Assert.Equal("prvDeleteAccount", error.Privilege);
        Assert.Equal(CrmSyncErrorKind.PermissionDenied, error.Kind);
        Assert.Contains("prvDeleteAccount", error.Message);
    }

    [Fact]
    public async Task A_401_says_which_service_rejected_which_identity()
    {
        await using var sandbox = await SandboxConnection.StartAsync(connect: false);
        var app = sandbox.AddApplication("Not In BC", "nbc-secret", dataverseRole: "Salesperson", businessCentral: false);

        var error = await Assert.ThrowsAsync<ConnectionCheckFailedException>(() => sandbox.ConnectAsAsync(app, "nbc-secret"));

        var bc = Assert.Single(error.Checks, c => !c.Succeeded);
        Assert.Equal(ServiceKind.BusinessCentral, bc.Service);
        Assert.Contains($"Business Central rejected the identity application {app.ClientId}", bc.Detail);
        Assert.Contains("1 of 3 services", error.Message);
        Assert.Contains("Business Central", error.Message);
    }

    [Fact]
    public async Task Tokens_are_acquired_once_per_service_and_reused()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var connection = sandbox.Connection;

        for (var i = 0; i < 5; i++)
        {
            await connection.Dataverse.WhoAmIAsync();
            await connection.BusinessCentral.GetCompaniesAsync();
            await connection.Directory.GetDomainsAsync();
        }

        Assert.Equal(3, connection.TokenAcquisitions);
    }

    [Fact]
    public async Task Safe_requests_are_retried_after_5xx_and_resets_and_creates_with_client_ids_never_duplicate()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var faults = sandbox.Host.Faults(DataverseService.ServiceName);
        var connection = sandbox.Connection;
        var id = Guid.NewGuid();

        faults.Enqueue(FaultKind.ServerError, match: (method, _) => method == "GET");
        var me = await connection.Dataverse.WhoAmIAsync();
        faults.Enqueue(FaultKind.ResetAfterCommit, match: (method, path) => method == "POST" && path == "accounts");
        var created = await connection.Dataverse.CreateAsync("accounts", "accountid", id, new JsonObject { ["name"] = "Exactly Once" });

        Assert.Equal(connection.DataverseUserId, me.UserId);
        Assert.Equal(id, created.Id);
        var named = await connection.Dataverse.QueryAsync("accounts", new DataverseQuery(new[] { "name" }) { Filter = "name eq 'Exactly Once'" }).CountAsync();
        Assert.Equal(1, named);
    }

    [Fact]
    public async Task An_unsafe_BC_create_is_not_repeated_after_an_unknown_outcome()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        sandbox.Host.Faults(BcService.ServiceName).Enqueue(FaultKind.ServerError, match: (method, _) => method == "POST");

        var error = await Assert.ThrowsAsync<ServiceRequestException>(() => sandbox.Connection.BusinessCentral.CreateAsync("customers", new JsonObject { ["displayName"] = "Maybe" }));

        Assert.Equal(500, error.StatusCode);
        Assert.Equal(1, sandbox.Host.Counters.Requests(BcService.ServiceName, $"POST companies({{id}})/customers"));
    }

    [Fact]
    public async Task Graph_users_skus_domains_and_licenses_through_the_directory_client()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var directory = sandbox.Connection.Directory;

        var domains = await directory.GetDomainsAsync();
        var skus = await directory.GetSubscribedSkusAsync();
        var user = await directory.CreateUserAsync(new CrmSync.Entra.NewDirectoryUser
        {
            UserPrincipalName = "dana@contoso.com", DisplayName = "Dana Seller", UsageLocation = "US", Password = new Auth.SecretText("Pw-123456789!"),
        });
        var plan1 = skus.Single(s => s.SkuPartNumber == "DYN365_ENTERPRISE_PLAN1");
        await directory.AssignLicenseAsync(user.Id, plan1.SkuId);
        var found = await directory.FindUserAsync("dana@contoso.com");
        var missing = await directory.FindUserAsync("nobody@contoso.com");
        var duplicate = await Assert.ThrowsAsync<DuplicateRecordException>(() => directory.CreateUserAsync(new CrmSync.Entra.NewDirectoryUser
        {
            UserPrincipalName = "dana@contoso.com", DisplayName = "Dana Again", Password = new Auth.SecretText("Pw-123456789!"),
        }));

        Assert.Contains(domains, d => d.Name == "fabrikam.com" && !d.IsVerified);
        Assert.Equal(plan1.SkuId, Assert.Single(found!.LicenseSkuIds));
        Assert.Null(missing);
        Assert.Equal(ServiceKind.Graph, duplicate.Service);
    }
}

internal static class AsyncEnumerableExtensions
{
    public static async Task<T> FirstAsync<T>(this IAsyncEnumerable<T> source)
    {
        await foreach (var item in source)
        {
            return item;
        }

        throw new InvalidOperationException("empty");
    }

    public static async Task<int> CountAsync<T>(this IAsyncEnumerable<T> source)
    {
        var count = 0;
        await foreach (var _ in source)
        {
            count++;
        }

        return count;
    }
}
