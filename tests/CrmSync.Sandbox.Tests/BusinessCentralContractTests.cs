using System.Net;
using CrmSync.Sandbox.BusinessCentral;

namespace CrmSync.Sandbox.Tests;

// Written from the BC API v2.0 documentation (docs/reference/integration.md §E).
public sealed class BusinessCentralContractTests
{
    [Fact]
    public async Task Companies_are_listed_and_every_resource_lives_under_a_company()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var companies = await sbx.Bc(HttpMethod.Get, "companies");
        var customers = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=number,displayName,blocked,lastModifiedDateTime");

        Assert.Equal("CRONUS USA, Inc.", Assert.Single(companies.Values).GetProperty("name").GetString());
        Assert.Equal(10, customers.Values.Count);
        Assert.Equal("C10000", customers.Values[0].GetProperty("number").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", customers.Values[0].GetProperty("lastModifiedDateTime").GetString()!);
        Assert.StartsWith("W/\"", customers.Values[0].GetProperty("@odata.etag").GetString());
        Assert.Contains(customers.Values, c => c.GetProperty("blocked").GetString() == "All");
    }

    // A change read in slices: "lastModifiedDateTime ge a and lastModifiedDateTime lt b", ordered by it and id, paged. The
    // emulator scans the first read of a table version and pages the next ones through an ordered copy, starting at the
    // filter's lower bound as an index seek would: both must find exactly the rows the filter keeps, in order.
    [Fact]
    public async Task A_slice_of_a_change_read_finds_the_same_rows_on_the_first_read_and_the_next()
    {
        await using var sbx = await SandboxClient.StartAsync(new Hosting.SandboxOptions { DataverseUserSyncDelay = TimeSpan.Zero, ExtraCustomers = 1_000 });
        async Task<List<(string Id, string Modified)>> ReadAll(string query)
        {
            var rows = new List<(string, string)>();
            string? url = sbx.Host.BusinessCentralApiUrl + $"{sbx.Company}/customers?$select=id,lastModifiedDateTime&$orderby=lastModifiedDateTime,id" + query;
            while (url is not null)
            {
                var page = await sbx.SendAsync(HttpMethod.Get, url, null, sbx.Sample.SetupApp, ("Prefer", "odata.maxpagesize=70"));
                Assert.Equal(HttpStatusCode.OK, page.Status);
                rows.AddRange(page.Values.Select(v => (v.GetProperty("id").GetString()!, v.GetProperty("lastModifiedDateTime").GetString()!)));
                url = page.Json.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
            }

            return rows;
        }

        var all = await ReadAll(string.Empty);
        var (from, before) = (all[300].Modified, all[700].Modified);
        var slice = $"&$filter=lastModifiedDateTime ge {from} and lastModifiedDateTime lt {before}";
        var after = $"&$filter=lastModifiedDateTime gt {from}";
        var expectedSlice = all.Where(r => string.CompareOrdinal(r.Modified, from) >= 0 && string.CompareOrdinal(r.Modified, before) < 0).ToList();
        var expectedAfter = all.Where(r => string.CompareOrdinal(r.Modified, from) > 0).ToList();

        var scanned = await ReadAll(slice);
        var seeked = await ReadAll(slice);
        var seekedAfter = await ReadAll(after);

        Assert.Equal(1_010, all.Count);
        Assert.InRange(expectedSlice.Count, 300, 500);
        Assert.Equal(expectedSlice, scanned);
        Assert.Equal(expectedSlice, seeked);
        Assert.Equal(expectedAfter, seekedAfter);
    }

    [Fact]
    public async Task Filters_select_blocked_customers_and_modified_since_a_timestamp()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var notBlocked = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$filter=blocked eq '_x0020_'&$select=number");
        var since = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
        var recent = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$filter=lastModifiedDateTime gt {since}&$select=number&$count=true");
        var persons = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/contacts?$filter=type eq 'Person' and companyNumber ne ''&$select=displayName");

        Assert.Equal(8, notBlocked.Values.Count);
        Assert.Equal(10, recent.Json.GetProperty("@odata.count").GetInt32());
        Assert.Equal(5, persons.Values.Count);
    }

    // API v2.0 customer/vendor reference: "blocked" is an enum; Microsoft's response examples show the blank option as "_x0020_".
    [Fact]
    public async Task Blank_options_are_the_encoded_member_name_in_json_filters_and_writes()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var first = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$filter=number eq 'C10000'&$select=blocked");
        var spaceFilter = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$filter=blocked eq ' '");
        var spaceWrite = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/vendors", new { displayName = "Blank Ltd", blocked = " " });
        var typed = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/vendors", new { displayName = "Paid Ltd", blocked = "Payment" });

        Assert.Equal("_x0020_", first.Values[0].GetProperty("blocked").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, spaceFilter.Status);
        Assert.Contains("'_x0020_'", spaceFilter.Json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, spaceWrite.Status);
        Assert.Contains("blocked", spaceWrite.Json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Created, typed.Status);
        Assert.Equal("Payment", typed.Json.GetProperty("blocked").GetString());
    }

    [Fact]
    public async Task Top_skip_orderby_and_server_paging_with_maxpagesize()
    {
        await using var sbx = await SandboxClient.StartAsync(new Hosting.SandboxOptions { ExtraCustomers = 12335 });
        var ordered = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$orderby=displayName desc&$top=2&$skip=1&$select=displayName");
        Assert.Equal(2, ordered.Values.Count);
        Assert.False(ordered.Json.TryGetProperty("@odata.nextLink", out _));

        var pages = new List<int>();
        string? url = $"{sbx.Host.BusinessCentralApiUrl}{sbx.Company}/customers?$select=number";
        while (url is not null)
        {
            var page = await sbx.SendAsync(HttpMethod.Get, url, null, sbx.Sample.SetupApp, ("Prefer", "odata.maxpagesize=5000"));
            pages.Add(page.Values.Count);
            url = page.Json.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
        }

        Assert.Equal(new[] { 5000, 5000, 2345 }, pages);
    }

    // Server-driven paging continues after the last row of the previous page in the current data (the skip token holds
    // the sort values): a row changed between pages moves to its new place, whatever the sandbox keeps to page quickly.
    [Fact]
    public async Task Paging_in_modified_order_sees_rows_changed_between_pages_at_their_new_place()
    {
        await using var sbx = await SandboxClient.StartAsync(new Hosting.SandboxOptions { ExtraCustomers = 3000 });
        string? url = $"{sbx.Host.BusinessCentralApiUrl}{sbx.Company}/customers?$select=id,number,lastModifiedDateTime&$orderby=lastModifiedDateTime,id&$filter=lastModifiedDateTime ge 2000-01-01T00:00:00Z";
        var seen = new List<(string Id, DateTimeOffset Modified)>();
        string? readThenChanged = null, changedBeforeRead = null;
        while (url is not null)
        {
            var page = await sbx.SendAsync(HttpMethod.Get, url, null, sbx.Sample.SetupApp, ("Prefer", "odata.maxpagesize=1000"));
            seen.AddRange(page.Values.Select(v => (v.GetProperty("id").GetString()!, v.GetProperty("lastModifiedDateTime").GetDateTimeOffset())));
            url = page.Json.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
            if (readThenChanged is null)
            {
                // After the first page: change one row already read and one not read yet.
                readThenChanged = seen[10].Id;
                var all = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=id&$orderby=lastModifiedDateTime,id&$top=1&$skip=2500");
                changedBeforeRead = all.Values[0].GetProperty("id").GetString();
                foreach (var id in new[] { readThenChanged, changedBeforeRead })
                {
                    var patched = await sbx.Bc(HttpMethod.Patch, $"{sbx.Company}/customers({id})", new { city = "Moved" }, null, ("If-Match", "*"));
                    Assert.Equal(HttpStatusCode.OK, patched.Status);
                }
            }
        }

        Assert.Equal(seen.OrderBy(r => r.Modified).ThenBy(r => Guid.Parse(r.Id)).Select(r => r.Id), seen.Select(r => r.Id));
        Assert.Equal(3010, seen.Select(r => r.Id).Distinct().Count());
        Assert.Equal(2, seen.Count(r => r.Id == readThenChanged));
        var moved = Assert.Single(seen, r => r.Id == changedBeforeRead);
        // The last row read is one of the two changed ones, at the latest time (both may share a millisecond on a fast machine).
        Assert.Contains(seen[^1].Id, new[] { readThenChanged, changedBeforeRead });
        Assert.Equal(seen.Where(r => r.Id == readThenChanged || r.Id == changedBeforeRead).Max(r => r.Modified), seen[^1].Modified);
        Assert.True(moved.Modified > DateTimeOffset.UtcNow.AddMinutes(-1), "the row changed before it was read comes with its new time");
    }

    [Fact]
    public async Task Post_assigns_the_next_number_translates_the_currency_code_and_creates_the_company_contact()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var created = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { displayName = "New Customer Ltd", currencyCode = "EUR", salespersonCode = "AH" });

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("C10100", created.Json.GetProperty("number").GetString());
        var eur = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/currencies?$filter=code eq 'EUR'")).Values[0].GetProperty("id").GetString();
        Assert.Equal(eur, created.Json.GetProperty("currencyId").GetString());
        Assert.Equal("_x0020_", created.Json.GetProperty("blocked").GetString());
        Assert.Equal(string.Empty, created.Json.GetProperty("phoneNumber").GetString());
        var id = created.Json.GetProperty("id").GetString();
        var relation = Assert.Single((await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/contactsInformation?$filter=relatedId eq {id}")).Values);
        Assert.Equal("Customer", relation.GetProperty("relatedType").GetString());
        var contact = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/contacts({relation.GetProperty("contactId").GetString()})");
        Assert.Equal("New Customer Ltd", contact.Json.GetProperty("displayName").GetString());
        Assert.Equal("Company", contact.Json.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Patch_and_delete_require_If_Match_and_a_stale_etag_is_412_Request_EntityChanged()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var customer = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$top=1")).Values[0];
        var path = $"{sbx.Company}/customers({customer.GetProperty("id").GetString()})";
        var etag = customer.GetProperty("@odata.etag").GetString()!;

        var missing = await sbx.Bc(HttpMethod.Patch, path, new { phoneNumber = "1" });
        var ok = await sbx.Bc(HttpMethod.Patch, path, new { phoneNumber = "2" }, headers: ("If-Match", etag));
        var stale = await sbx.Bc(HttpMethod.Patch, path, new { phoneNumber = "3" }, headers: ("If-Match", etag));
        var deleteStale = await sbx.Bc(HttpMethod.Delete, path, headers: ("If-Match", etag));

        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal("BadRequest_InvalidToken", missing.ErrorCode);
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal("2", ok.Json.GetProperty("phoneNumber").GetString());
        Assert.True(DateTimeOffset.Parse(ok.Json.GetProperty("lastModifiedDateTime").GetString()!) >= DateTimeOffset.Parse(customer.GetProperty("lastModifiedDateTime").GetString()!));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("Request_EntityChanged", stale.ErrorCode);
        Assert.Contains("CorrelationId", stale.ErrorMessage);
        Assert.Equal(HttpStatusCode.PreconditionFailed, deleteStale.Status);
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Bc(HttpMethod.Delete, path, headers: ("If-Match", "*"))).Status);
        Assert.Equal("Internal_RecordNotFound", (await sbx.Bc(HttpMethod.Get, path)).ErrorCode);
    }

    [Fact]
    public async Task Validation_errors_use_BC_codes()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var tooLong = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { displayName = new string('x', 101) });
        var badCurrency = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { displayName = "X", currencyCode = "XYZ" });
        var duplicate = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { number = "C10000", displayName = "Dup" });
        var unknown = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { displayName = "X", faxNumber = "1" });
        var readOnly = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/customers", new { displayName = "X", balanceDue = 5 });

        Assert.Equal("Application_StringExceededLength", tooLong.ErrorCode);
        Assert.Equal("Application_FieldValidationException", badCurrency.ErrorCode);
        Assert.Contains("Currency Code", badCurrency.ErrorMessage);
        Assert.Equal("Internal_EntityWithSameKeyExists", duplicate.ErrorCode);
        Assert.Equal("BadRequest_PropertyNotFound", unknown.ErrorCode);
        Assert.Contains("read-only", readOnly.ErrorMessage);
    }

    [Fact]
    public async Task Json_batch_runs_up_to_100_operations_and_snapshot_isolation_rolls_back_everything()
    {
        await using var sbx = await SandboxClient.StartAsync();
        object Post(string id, string name) => new { id, method = "POST", url = $"{sbx.Company}/customers", headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body = new { displayName = name } };

        var independent = await sbx.Bc(HttpMethod.Post, "$batch", new { requests = new[] { Post("1", "Batch One"), Post("2", new string('y', 200)), Post("3", "Batch Three") } });
        var snapshot = await sbx.Bc(HttpMethod.Post, "$batch", new { requests = new[] { Post("1", "Snap One"), Post("2", new string('y', 200)) } }, headers: ("Isolation", "snapshot"));
        var tooMany = await sbx.Bc(HttpMethod.Post, "$batch", new { requests = Enumerable.Range(1, 101).Select(i => Post(i.ToString(), "n")).ToArray() });

        Assert.Equal(HttpStatusCode.OK, independent.Status);
        var statuses = independent.Json.GetProperty("responses").EnumerateArray().Select(r => r.GetProperty("status").GetInt32()).ToArray();
        Assert.Equal(new[] { 201, 400, 201 }, statuses);
        // use-odata-batch.md: every change reverted "as if the batch request never happened": the batch answers with the
        // failed request's error, and no response claims the record that was rolled back.
        Assert.Equal(HttpStatusCode.BadRequest, snapshot.Status);
        Assert.Contains("length of the string is 200", snapshot.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty((await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$filter=displayName eq 'Snap One'")).Values);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);
        Assert.Contains("maximum is 100", tooMany.ErrorMessage);
    }

    // use-odata-batch.md: inner URLs relative to the company ("items(…)") with a Company header naming the company.
    [Fact]
    public async Task A_batch_request_relative_to_the_company_names_it_in_a_Company_header()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var companyName = (await sbx.Bc(HttpMethod.Get, sbx.Company)).Json.GetProperty("name").GetString()!;
        var customer = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=id&$filter=number eq 'C10000'")).Values[0].GetProperty("id").GetString();
        object Patch(string id, string? company) => new
        {
            id, method = "PATCH", url = $"customers({customer})",
            headers = company is null
                ? new Dictionary<string, string> { ["Content-Type"] = "application/json", ["If-Match"] = "*" }
                : new Dictionary<string, string> { ["Company"] = company, ["Content-Type"] = "application/json", ["If-Match"] = "*" },
            body = new { phoneNumber = "+1 425 555 0142" },
        };

        var reply = await sbx.Bc(HttpMethod.Post, "$batch", new { requests = new[] { Patch("1", companyName), Patch("2", null), Patch("3", "No Such Company") } });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(new[] { 200, 400, 404 }, reply.Json.GetProperty("responses").EnumerateArray().Select(r => r.GetProperty("status").GetInt32()).ToArray());
        Assert.Equal("+1 425 555 0142", (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({customer})?$select=phoneNumber")).Json.GetProperty("phoneNumber").GetString());
    }

    // BC takes the tenant from the token (…/v2.0/{environment}/api/v2.0/); other BC APIs answer BC's JSON error.
    [Fact]
    public async Task The_tenant_segment_may_be_left_out_and_other_BC_APIs_are_refused_in_BC_format()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var root = $"{sbx.Host.BaseUrl}bc/v2.0/{sbx.Host.Options.EnvironmentName}/";

        var companies = await sbx.SendAsync(HttpMethod.Get, root + "api/v2.0/companies", null, sbx.Sample.SetupApp);
        var automation = await sbx.SendAsync(HttpMethod.Get, root + "api/microsoft/automation/v2.0/companies", null, sbx.Sample.SetupApp);

        Assert.Equal(HttpStatusCode.OK, companies.Status);
        Assert.NotEmpty(companies.Values);
        Assert.Equal(HttpStatusCode.NotFound, automation.Status);
        Assert.Equal("BadRequest_NotFound", automation.ErrorCode);
        Assert.Contains("automation API", automation.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_identity_unknown_to_Business_Central_gets_401_in_BC_format()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var stranger = sbx.Host.Identities.Add(new Identity.SandboxIdentity { ObjectId = Guid.NewGuid(), DisplayName = "Stranger", BusinessCentralAccess = false });

        var reply = await sbx.Bc(HttpMethod.Get, "companies", caller: stranger);
        var noToken = await sbx.SendAsync(HttpMethod.Get, sbx.Host.BusinessCentralApiUrl + "companies", null, null);

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("Authentication_InvalidCredentials", reply.ErrorCode);
        Assert.Equal("Authentication_InvalidCredentials", noToken.ErrorCode);
    }

    [Fact]
    public async Task Writes_record_which_identity_made_them()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var created = await sbx.Bc(HttpMethod.Post, $"{sbx.Company}/vendors", new { displayName = "Audited Vendor" }, caller: sbx.Sample.Admin);

        var row = sbx.Host.BusinessCentral.Table(sbx.Sample.CompanyId, BcSchemas.Vendors).Get(Guid.Parse(created.Json.GetProperty("id").GetString()!))!;
        Assert.Equal(sbx.Sample.Admin.ObjectId, row.ModifiedBy);
    }
}
