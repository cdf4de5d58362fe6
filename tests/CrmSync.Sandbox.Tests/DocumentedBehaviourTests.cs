using System.Net;
using System.Text.Json;
using CrmSync.Sandbox.Seed;

namespace CrmSync.Sandbox.Tests;

// Answers a client written from Microsoft's documentation expects, each from the page named above it. The sandbox either
// does what the page says or refuses by name with a 4xx (never a 5xx a client would retry, never a plain 200).
public sealed class DocumentedBehaviourTests
{
    // Dataverse "Associate and disassociate table rows using the Web API": PUT <row>/<single-valued nav>/$ref with
    // {"@odata.id": …} sets the lookup; DELETE clears it.
    [Fact]
    public async Task Dataverse_sets_and_clears_a_single_valued_navigation_property_through_ref()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var account = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=accountid&$top=1")).Values[0].GetProperty("accountid").GetString();
        var contact = (await sbx.Dataverse(HttpMethod.Get, "contacts?$select=contactid&$top=1")).Values[0].GetProperty("contactid").GetString();

        var set = await sbx.Dataverse(HttpMethod.Put, $"accounts({account})/primarycontactid/$ref", new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}contacts({contact})" });
        var afterSet = await sbx.Dataverse(HttpMethod.Get, $"accounts({account})?$select=_primarycontactid_value");
        var cleared = await sbx.Dataverse(HttpMethod.Delete, $"accounts({account})/primarycontactid/$ref");
        var afterClear = await sbx.Dataverse(HttpMethod.Get, $"accounts({account})?$select=_primarycontactid_value");
        var collection = await sbx.Dataverse(HttpMethod.Post, $"accounts({account})/contact_customer_accounts/$ref", new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}contacts({contact})" });
        var missing = await sbx.Dataverse(HttpMethod.Put, $"accounts({Guid.NewGuid()})/primarycontactid/$ref", new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}contacts({contact})" });

        Assert.Equal(HttpStatusCode.NoContent, set.Status);
        Assert.Equal(contact, afterSet.Json.GetProperty("_primarycontactid_value").GetString());
        Assert.Equal(HttpStatusCode.NoContent, cleared.Status);
        Assert.Equal(JsonValueKind.Null, afterClear.Json.GetProperty("_primarycontactid_value").ValueKind);
        Assert.Equal(HttpStatusCode.BadRequest, collection.Status);
        Assert.Contains("contact_customer_accounts", collection.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    // Dataverse "Create a table row using the Web API": with Prefer: return=representation the answer is 201 with the row,
    // and Preference-Applied says so.
    [Fact]
    public async Task Dataverse_create_with_return_representation_says_Preference_Applied()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts?$select=name", new { name = "Represented" }, null, ("Prefer", "return=representation"));

        Assert.Equal(HttpStatusCode.Created, reply.Status);
        Assert.Equal("return=representation", reply.Header("Preference-Applied"));
    }

    // Dataverse "Query data using the Web API" (formatted values): Prefer: odata.include-annotations="*" adds
    // …@OData.Community.Display.V1.FormattedValue, the way Microsoft's own Web API samples read.
    [Fact]
    public async Task Dataverse_returns_formatted_values_under_invariant_globalization_as_the_shipped_program_runs()
    {
        // This test project runs with InvariantGlobalization like the shipped sandbox (see its .csproj): a culture
        // the program cannot load fails here too.
        Assert.True(System.Globalization.CultureInfo.CurrentCulture.Name.Length == 0, "the test runs with invariant globalization");
        await using var sbx = await SandboxClient.StartAsync();

        var id = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Formatted", creditlimit = 1234567.5m })).Status);

        var reply = await sbx.Dataverse(HttpMethod.Get, $"accounts?$select=name,creditlimit,statecode,modifiedon&$filter=accountid eq {id}", null, null, ("Prefer", "odata.include-annotations=\"*\""));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var row = Assert.Single(reply.Values);
        Assert.Equal("Active", row.GetProperty("statecode@OData.Community.Display.V1.FormattedValue").GetString());
        Assert.Equal("$1,234,567.50", row.GetProperty("creditlimit@OData.Community.Display.V1.FormattedValue").GetString());
        Assert.Matches(@"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d (AM|PM)$", row.GetProperty("modifiedon@OData.Community.Display.V1.FormattedValue").GetString());
    }

    // Dataverse $batch (RFC 2046 parts with HTTP/1.1 status lines): every status line carries its standard reason phrase.
    [Fact]
    public async Task Dataverse_batch_status_lines_carry_the_standard_reason_phrase()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var body = DataverseBatchContractTests.Batch("batch_r",
            DataverseBatchContractTests.Part("GET tasks HTTP/1.1", null),
            DataverseBatchContractTests.Part("GET WhoAmI HTTP/1.1", null));

        var reply = await sbx.SendAsync(HttpMethod.Post, sbx.Host.DataverseApiUrl + "$batch",
            new StringContent(body, System.Text.Encoding.UTF8, "multipart/mixed") { Headers = { ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/mixed; boundary=batch_r") } },
            sbx.Sample.SetupApp, ("Prefer", "odata.continue-on-error"));

        var lines = reply.Body.Split("\r\n").Where(l => l.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[] { "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK" }, lines);
    }

    // BC "Server-driven paging": a page smaller than $top ends with @odata.nextLink, and following it returns the rest of
    // $top — never fewer rows than asked without a link.
    [Fact]
    public async Task Business_Central_top_larger_than_the_preferred_page_size_continues_in_a_next_link()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var first = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$top=5&$select=number", null, null, ("Prefer", "odata.maxpagesize=3"));
        var next = first.Json.GetProperty("@odata.nextLink").GetString()!;
        var second = await sbx.SendAsync(HttpMethod.Get, next, null, sbx.Sample.SetupApp, ("Prefer", "odata.maxpagesize=3"));
        var all = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$top=5&$select=number");

        Assert.Equal(3, first.Values.Count);
        Assert.Equal(2, second.Values.Count);
        Assert.False(second.Json.TryGetProperty("@odata.nextLink", out _));
        Assert.Equal(all.Values.Select(v => v.GetProperty("number").GetString()), first.Values.Concat(second.Values).Select(v => v.GetProperty("number").GetString()));
    }

    // BC "Using OData transactional $batch requests": with Isolation: snapshot a failed request reverts every change "as if
    // the batch request never happened" — so no answer may claim a record that was rolled back. atomicityGroup is not how
    // BC makes a batch transactional: refused by name rather than ignored.
    [Fact]
    public async Task Business_Central_snapshot_batch_that_fails_claims_no_record_and_atomicityGroup_is_refused()
    {
        await using var sbx = await SandboxClient.StartAsync();
        object Post(string id, object body) => new { id, method = "POST", url = $"companies({sbx.Sample.CompanyId})/customers", headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body };
        var before = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers/$count")).Body;

        var rolledBack = await sbx.SendAsync(HttpMethod.Post, sbx.Host.BusinessCentralApiUrl + "$batch",
            new { requests = new[] { Post("1", new { displayName = "Snapshot One" }), Post("2", new { displayName = "Snapshot Two", creditLimit = "lots" }) } },
            sbx.Sample.SetupApp, ("Isolation", "snapshot"));
        var grouped = await sbx.SendAsync(HttpMethod.Post, sbx.Host.BusinessCentralApiUrl + "$batch",
            new { requests = new object[] { new { id = "1", atomicityGroup = "g", method = "POST", url = $"companies({sbx.Sample.CompanyId})/customers", headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body = new { displayName = "Grouped" } } } },
            sbx.Sample.SetupApp);
        var after = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers/$count")).Body;
        var reference = await sbx.SendAsync(HttpMethod.Post, sbx.Host.BusinessCentralApiUrl + "$batch",
            new { requests = new object[] { Post("1", new { displayName = "Referenced" }), new { id = "2", method = "GET", url = "$1" } } }, sbx.Sample.SetupApp);

        Assert.True((int)rolledBack.Status >= 400, rolledBack.ToString());
        Assert.DoesNotContain("\"status\":201", rolledBack.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, grouped.Status);
        Assert.Contains("atomicityGroup", grouped.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(before, after);
        var second = reference.Json.GetProperty("responses").EnumerateArray().Single(r => r.GetProperty("id").GetString() == "2");
        Assert.Equal(400, second.GetProperty("status").GetInt32());
        Assert.Contains("'$1'", second.GetProperty("body").GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    // BC API v2.0 reference: items exist in API v2.0 (the sandbox does not serve them and says so); contacts'
    // lastInteractionDate is an Edm.Date.
    [Fact]
    public async Task Business_Central_refuses_a_documented_entity_set_by_name_and_declares_lastInteractionDate_a_date()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var items = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/items");
        var nonsense = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/noSuchEntities");
        var metadata = await sbx.SendAsync(HttpMethod.Get, sbx.Host.BusinessCentralApiUrl + "$metadata", null, sbx.Sample.SetupApp);

        Assert.Equal(HttpStatusCode.BadRequest, items.Status);
        Assert.Contains("does not emulate 'items'", items.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, nonsense.Status);
        Assert.Matches("Name=\"lastInteractionDate\" Type=\"Edm.Date\"", metadata.Body);
    }

    // BC and Dataverse service protection: a throttled answer's message states a real limit, or says it was injected.
    [Fact]
    public async Task A_throttle_from_fault_injection_says_so_instead_of_naming_an_empty_limit()
    {
        await using var sbx = await SandboxClient.StartAsync();
        sbx.Host.Faults(CrmSync.Sandbox.BusinessCentral.BcService.ServiceName).Enqueue(CrmSync.Sandbox.Limits.FaultKind.ThrottleWithoutRetryAfter, count: 1);

        var reply = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers");

        Assert.Equal(HttpStatusCode.TooManyRequests, reply.Status);
        Assert.DoesNotContain("limit of  ", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("fault injection", reply.ErrorMessage, StringComparison.Ordinal);
    }

    // Graph "Microsoft Graph error responses": innerError's request-id is the response's request-id header; a 401 names
    // the request and says how to authenticate (WWW-Authenticate).
    [Fact]
    public async Task Graph_errors_carry_the_request_id_of_their_headers_and_a_401_says_how_to_authenticate()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var notFound = await sbx.Graph(HttpMethod.Get, $"users/{Guid.NewGuid()}");
        var unauthorized = await sbx.SendAsync(HttpMethod.Get, sbx.Host.GraphUrl + "/users", null, null);

        Assert.Equal(HttpStatusCode.NotFound, notFound.Status);
        Assert.Equal(notFound.Header("request-id"), notFound.Json.GetProperty("error").GetProperty("innerError").GetProperty("request-id").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.Status);
        Assert.NotNull(unauthorized.Header("request-id"));
        Assert.StartsWith("Bearer", unauthorized.Header("WWW-Authenticate"), StringComparison.Ordinal);
    }

    // Graph "Combine multiple HTTP requests using JSON batching": ids are unique (compared without case), urls are relative.
    // Documented query options the sandbox does not serve ($search, $expand=manager) are refused naming the sandbox, and
    // usageLocation must be an assigned ISO 3166-1 code.
    [Fact]
    public async Task Graph_refuses_case_twin_ids_absolute_step_urls_unemulated_options_and_an_unassigned_country()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var twins = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = new[] { new { id = "a", method = "GET", url = "/users" }, new { id = "A", method = "GET", url = "/users" } } });
        var absolute = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = new[] { new { id = "1", method = "GET", url = sbx.Host.GraphUrl + "/users" } } });
        var search = await sbx.Graph(HttpMethod.Get, "users?$search=\"displayName:Alex\"", null, null, ("ConsistencyLevel", "eventual"));
        var expand = await sbx.Graph(HttpMethod.Get, "users?$expand=manager");
        var zz = await sbx.Graph(HttpMethod.Post, "users", new
        {
            accountEnabled = true, displayName = "Zed", mailNickname = "zed", userPrincipalName = "zed@contoso.com", usageLocation = "ZZ",
            passwordProfile = new { password = "Sandbox-Zed-1!x", forceChangePasswordNextSignIn = true },
        });

        Assert.Equal(HttpStatusCode.BadRequest, twins.Status);
        Assert.Equal(HttpStatusCode.BadRequest, absolute.Status);
        Assert.Contains("relative", absolute.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, search.Status);
        Assert.Contains("sandbox does not emulate the query option '$search'", search.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("sandbox does not emulate the query option '$expand'", expand.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, zz.Status);
        Assert.Contains("usageLocation", zz.ErrorMessage, StringComparison.Ordinal);
    }
}
