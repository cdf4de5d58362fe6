using System.Net;
using CrmSync.Sandbox.Seed;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.AssignLicense;
using Microsoft.Kiota.Abstractions.Authentication;

namespace CrmSync.Sandbox.Tests;

// The Microsoft.Graph 5.92.0 SDK, unmodified, against the sandbox (docs/reference/integration.md §F).
public sealed class GraphSdkTests
{
    private sealed class SandboxTokenProvider(string token, string host) : IAccessTokenProvider
    {
        public AllowedHostsValidator AllowedHostsValidator { get; } = new(new[] { host });

        public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(token);
    }

    private static GraphServiceClient Client(SandboxClient sbx)
    {
        var host = new Uri(sbx.Host.GraphUrl).Authority;
        var auth = new BaseBearerTokenAuthenticationProvider(new SandboxTokenProvider(sbx.Token(sbx.Sample.SetupApp), host));
        return new GraphServiceClient(new HttpClient(), auth, sbx.Host.GraphUrl);
    }

    private static User NewUser(string upn) => new()
    {
        AccountEnabled = true,
        DisplayName = "Sam Seller",
        GivenName = "Sam",
        Surname = "Seller",
        MailNickname = upn.Split('@')[0],
        UserPrincipalName = upn,
        UsageLocation = "US",
        PasswordProfile = new PasswordProfile { ForceChangePasswordNextSignIn = true, Password = "Initial-Password-1!" },
    };

    [Fact]
    public async Task Create_user_assign_license_and_list_skus_with_the_sdk()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var graph = Client(sbx);

        var skus = await graph.SubscribedSkus.GetAsync();
        var plan1 = skus!.Value!.Single(s => s.SkuPartNumber == "DYN365_ENTERPRISE_PLAN1");
        var consumedBefore = plan1.ConsumedUnits;
        var created = await graph.Users.PostAsync(NewUser("sam.seller@contoso.com"));
        var licensed = await graph.Users[created!.Id].AssignLicense.PostAsync(new AssignLicensePostRequestBody
        {
            AddLicenses = new List<AssignedLicense> { new() { SkuId = plan1.SkuId, DisabledPlans = new List<Guid?>() } },
            RemoveLicenses = new List<Guid?>(),
        });
        var byUpn = await graph.Users["sam.seller@contoso.com"].GetAsync(r => r.QueryParameters.Select = new[] { "id", "assignedLicenses", "usageLocation" });
        var filtered = await graph.Users.GetAsync(r => r.QueryParameters.Filter = "startswith(userPrincipalName,'sam.')");

        Assert.NotNull(created.Id);
        Assert.Equal(plan1.PrepaidUnits!.Enabled, 40);
        Assert.Equal("Sam Seller", licensed!.DisplayName);
        Assert.Equal(plan1.SkuId, Assert.Single(byUpn!.AssignedLicenses!).SkuId);
        Assert.Equal(created.Id, Assert.Single(filtered!.Value!).Id);
        var after = (await graph.SubscribedSkus.GetAsync())!.Value!.Single(s => s.SkuPartNumber == "DYN365_ENTERPRISE_PLAN1");
        Assert.Equal(consumedBefore + 1, after.ConsumedUnits);
    }

    [Fact]
    public async Task A_duplicate_UPN_surfaces_as_ODataError()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var graph = Client(sbx);
        await graph.Users.PostAsync(NewUser("dup@contoso.com"));

        var error = await Assert.ThrowsAsync<ODataError>(() => graph.Users.PostAsync(NewUser("dup@contoso.com")));

        Assert.Equal(400, error.ResponseStatusCode);
        Assert.Equal("Request_BadRequest", error.Error!.Code);
        Assert.Equal("Another object with the same value for property userPrincipalName already exists.", error.Error.Message);
    }

    [Fact]
    public async Task An_unverified_domain_and_missing_usage_location_are_refused()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var graph = Client(sbx);

        var domain = await Assert.ThrowsAsync<ODataError>(() => graph.Users.PostAsync(NewUser("x@" + SampleData.UnverifiedDomain)));
        var noLocation = NewUser("nowhere@contoso.com");
        noLocation.UsageLocation = null;
        var created = await graph.Users.PostAsync(noLocation);
        var license = await Assert.ThrowsAsync<ODataError>(() => graph.Users[created!.Id].AssignLicense.PostAsync(new AssignLicensePostRequestBody
        {
            AddLicenses = new List<AssignedLicense> { new() { SkuId = SampleData.Dynamics365Plan1SkuId } },
            RemoveLicenses = new List<Guid?>(),
        }));
        var domains = await graph.Domains.GetAsync();

        Assert.Contains("verified domain names", domain.Error!.Message);
        Assert.Equal("License assignment cannot be done for user with invalid usage location.", license.Error!.Message);
        Assert.Contains(domains!.Value!, d => d.Id == SampleData.UnverifiedDomain && d.IsVerified == false);
    }

    [Fact]
    public async Task AssignLicense_needs_both_arrays_and_free_seats()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var user = await Client(sbx).Users.PostAsync(NewUser("seats@contoso.com"));
        sbx.Host.Graph.Skus.Single(s => s.SkuId == SampleData.Dynamics365SalesSkuId).Consumed = 5;

        var onlyAdd = await sbx.Graph(HttpMethod.Post, $"users/{user!.Id}/assignLicense", new { addLicenses = new[] { new { skuId = SampleData.Dynamics365Plan1SkuId, disabledPlans = Array.Empty<Guid>() } } });
        var noSeats = await sbx.Graph(HttpMethod.Post, $"users/{user.Id}/assignLicense", new { addLicenses = new[] { new { skuId = SampleData.Dynamics365SalesSkuId, disabledPlans = Array.Empty<Guid>() } }, removeLicenses = Array.Empty<Guid>() });

        Assert.Equal(HttpStatusCode.BadRequest, onlyAdd.Status);
        Assert.Contains("The missing parameters are: removeLicenses", onlyAdd.ErrorMessage);
        Assert.Equal(HttpStatusCode.BadRequest, noSeats.Status);
        Assert.Contains("does not have any available licenses", noSeats.ErrorMessage);
    }

    [Fact]
    public async Task A_licensed_user_appears_in_Dataverse()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var graph = Client(sbx);
        var user = await graph.Users.PostAsync(NewUser("newrep@contoso.com"));
        await graph.Users[user!.Id].AssignLicense.PostAsync(new AssignLicensePostRequestBody
        {
            AddLicenses = new List<AssignedLicense> { new() { SkuId = SampleData.Dynamics365Plan1SkuId, DisabledPlans = new List<Guid?>() } },
            RemoveLicenses = new List<Guid?>(),
        });

        Reply found = null!;
        for (var i = 0; i < 50; i++)
        {
            found = await sbx.Dataverse(HttpMethod.Get, $"systemusers?$select=fullname,islicensed,_businessunitid_value&$filter=azureactivedirectoryobjectid eq {user.Id}");
            if (found.Values.Count > 0)
            {
                break;
            }

            await Task.Delay(100);
        }

        var row = Assert.Single(found.Values);
        Assert.Equal("Sam Seller", row.GetProperty("fullname").GetString());
        Assert.True(row.GetProperty("islicensed").GetBoolean());
    }

    [Fact]
    public async Task Json_batch_allows_20_requests_and_fails_dependants_with_424()
    {
        await using var sbx = await SandboxClient.StartAsync();
        object Create(string id, string upn, params string[] dependsOn) => new
        {
            id, method = "POST", url = "/users", dependsOn, headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" },
            body = new { accountEnabled = true, displayName = upn, mailNickname = upn.Split('@')[0], userPrincipalName = upn, passwordProfile = new { password = "Pw-12345678!" } },
        };

        var reply = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = new[] { Create("1", "a@contoso.com"), Create("2", "b@fabrikam.com"), Create("3", "c@contoso.com", "2") } });
        var tooMany = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = Enumerable.Range(1, 21).Select(i => Create(i.ToString(), $"u{i}@contoso.com")).ToArray() });

        var statuses = reply.Json.GetProperty("responses").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("status").GetInt32());
        Assert.Equal(201, statuses["1"]);
        Assert.Equal(400, statuses["2"]);
        Assert.Equal(424, statuses["3"]);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);
    }

    [Fact]
    public async Task Requests_without_a_token_get_the_Graph_401()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.SendAsync(HttpMethod.Get, sbx.Host.GraphUrl + "/users", null, null);

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("InvalidAuthenticationToken", reply.ErrorCode);
    }

    // Graph "Combine multiple HTTP requests using JSON batching", through the SDK's own batch support: it writes each
    // step's url relative to the version root (/v1.0), which the sandbox serves at the host root as Graph does.
    [Fact]
    public async Task The_sdks_batch_requests_create_users_in_one_call()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var graph = Client(sbx);
        var batch = new Microsoft.Graph.BatchRequestContentCollection(graph);
        var first = await batch.AddBatchRequestStepAsync(graph.Users.ToPostRequestInformation(NewUser("batch.one@contoso.com")));
        var second = await batch.AddBatchRequestStepAsync(graph.Users.ToPostRequestInformation(NewUser("batch.two@contoso.com")));
        sbx.Host.Counters.Reset();

        var response = await graph.Batch.PostAsync(batch);
        var one = await response.GetResponseByIdAsync<User>(first);
        var two = await response.GetResponseByIdAsync<User>(second);

        Assert.Equal("batch.one@contoso.com", one.UserPrincipalName);
        Assert.Equal("batch.two@contoso.com", two.UserPrincipalName);
        Assert.Equal(1, sbx.Host.Counters.Requests(CrmSync.Sandbox.Graph.GraphService.ServiceName));
        Assert.NotNull((await graph.Users["batch.two@contoso.com"].GetAsync())!.Id);
    }
}
