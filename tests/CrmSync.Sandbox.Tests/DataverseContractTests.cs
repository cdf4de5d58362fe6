using System.Net;
using System.Text;
using System.Text.Json;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Sandbox.Tests;

// Written from the Dataverse Web API documentation (docs/reference/integration.md §D).
public sealed class DataverseContractTests
{
    [Fact]
    public async Task WhoAmI_returns_the_callers_user_business_unit_and_organization()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "WhoAmI");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.EndsWith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", reply.Json.GetProperty("@odata.context").GetString());
        Assert.Equal("c0000000-0000-4000-8000-0000000000a1", reply.Json.GetProperty("UserId").GetString());
        Assert.Equal(sbx.Sample.RootBusinessUnitId.ToString(), reply.Json.GetProperty("BusinessUnitId").GetString());
        Assert.Equal(sbx.Host.Dataverse.OrganizationId.ToString(), reply.Json.GetProperty("OrganizationId").GetString());
        Assert.NotNull(reply.Header("x-ms-dop-hint"));
    }

    [Fact]
    public async Task Create_returns_204_with_OData_EntityId_and_keeps_a_client_supplied_id()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Sample Account", creditlimit = 1000 });

        Assert.Equal(HttpStatusCode.NoContent, reply.Status);
        Assert.Equal($"{sbx.Host.DataverseApiUrl}accounts({id})", reply.Header("OData-EntityId"));
        var read = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=name,creditlimit");
        Assert.Equal("Sample Account", read.Json.GetProperty("name").GetString());
        Assert.Equal(1000m, read.Json.GetProperty("creditlimit").GetDecimal());
        Assert.Equal(id.ToString(), read.Json.GetProperty("accountid").GetString());
        Assert.StartsWith("W/\"", read.Json.GetProperty("@odata.etag").GetString());
        Assert.False(read.Json.TryGetProperty("telephone1", out _), "$select limits the columns");
    }

    [Fact]
    public async Task Prefer_return_representation_gives_201_with_the_row_stamped_by_the_caller_in_whole_seconds()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts?$select=name,modifiedon,_modifiedby_value,_createdby_value", new { name = "Represented" },
            sbx.Sample.OrdinaryUser, ("Prefer", "return=representation"));

        Assert.Equal(HttpStatusCode.Created, reply.Status);
        var modifiedOn = reply.Json.GetProperty("modifiedon").GetString()!;
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", modifiedOn);
        Assert.Equal("c0000000-0000-4000-8000-000000000002", reply.Json.GetProperty("_modifiedby_value").GetString());
        Assert.Equal("c0000000-0000-4000-8000-000000000002", reply.Json.GetProperty("_createdby_value").GetString());
    }

    [Fact]
    public async Task Patch_to_a_missing_id_creates_the_row_unless_If_Match_is_sent()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var upserted = Guid.NewGuid();
        var guarded = Guid.NewGuid();

        var upsert = await sbx.Dataverse(HttpMethod.Patch, $"accounts({upserted})", new { name = "Upserted" });
        var updateOnly = await sbx.Dataverse(HttpMethod.Patch, $"accounts({guarded})", new { name = "Never" }, headers: ("If-Match", "*"));

        Assert.Equal(HttpStatusCode.NoContent, upsert.Status);
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, $"accounts({upserted})")).Status);
        Assert.Equal(HttpStatusCode.NotFound, updateOnly.Status);
        Assert.Equal("0x80040217", updateOnly.ErrorCode);
        Assert.Equal($"account With Id = {guarded} Does Not Exist", updateOnly.ErrorMessage);
    }

    [Fact]
    public async Task Stale_If_Match_and_If_None_Match_star_on_an_existing_row_give_412()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Concurrency" });
        var etag = (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})")).Json.GetProperty("@odata.etag").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Patch, $"accounts({id})", new { name = "First" }, headers: ("If-Match", etag))).Status);

        var stale = await sbx.Dataverse(HttpMethod.Patch, $"accounts({id})", new { name = "Second" }, headers: ("If-Match", etag));
        var createOnly = await sbx.Dataverse(HttpMethod.Patch, $"accounts({id})", new { name = "Third" }, headers: ("If-None-Match", "*"));

        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("0x80060882", stale.ErrorCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, createOnly.Status);
        Assert.Equal("0x80040237", createOnly.ErrorCode);
        Assert.Equal("First", (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=name")).Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Conditional_get_with_the_current_etag_is_304()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Cached" });
        var etag = (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})")).Json.GetProperty("@odata.etag").GetString()!;

        Assert.Equal(HttpStatusCode.NotModified, (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})", headers: ("If-None-Match", etag))).Status);
        Assert.Equal(HttpStatusCode.OK, (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})", headers: ("If-None-Match", "null"))).Status);
    }

    [Fact]
    public async Task Delete_removes_the_row()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Doomed" });

        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Delete, $"accounts({id})")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await sbx.Dataverse(HttpMethod.Delete, $"accounts({id})")).Status);
    }

    [Fact]
    public async Task Lookups_are_bound_with_odata_bind_and_read_and_filtered_as_underscore_value()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var account = Guid.NewGuid();
        var contact = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new Dictionary<string, object>
        {
            ["accountid"] = account, ["name"] = "Parent", ["transactioncurrencyid@odata.bind"] = $"/transactioncurrencies({sbx.Sample.BaseCurrencyId})",
        });
        await sbx.Dataverse(HttpMethod.Post, "contacts", new Dictionary<string, object>
        {
            ["contactid"] = contact, ["firstname"] = "Ann", ["lastname"] = "Lee", ["parentcustomerid_account@odata.bind"] = $"/accounts({account})",
        });

        var read = await sbx.Dataverse(HttpMethod.Get, $"contacts?$select=fullname,_parentcustomerid_value&$filter=_parentcustomerid_value eq {account}",
            headers: ("Prefer", "odata.include-annotations=\"*\""));
        var row = Assert.Single(read.Values);
        Assert.Equal("Ann Lee", row.GetProperty("fullname").GetString());
        Assert.Equal(account.ToString(), row.GetProperty("_parentcustomerid_value").GetString());
        Assert.Equal("account", row.GetProperty("_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname").GetString());

        var wrongName = await sbx.Dataverse(HttpMethod.Get, "contacts?$filter=parentcustomerid eq null");
        Assert.Equal(HttpStatusCode.BadRequest, wrongName.Status);
        Assert.Contains("Could not find a property named 'parentcustomerid'", wrongName.ErrorMessage);
        var missing = await sbx.Dataverse(HttpMethod.Patch, $"contacts({contact})", new Dictionary<string, object> { ["parentcustomerid_account@odata.bind"] = $"/accounts({Guid.NewGuid()})" });
        Assert.Equal("0x80040217", missing.ErrorCode);
    }

    [Fact]
    public async Task Filter_supports_comparison_logic_null_and_string_functions_case_insensitively()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var customers = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=customertypecode eq 3 and statecode eq 0&$orderby=name desc");
        var contains = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=contains(name,'ADATUM') or startswith(name,'trey')");
        var noParent = await sbx.Dataverse(HttpMethod.Get, "contacts?$select=fullname&$filter=_parentcustomerid_value eq null");

        Assert.Equal(new[] { "Proseware, Inc.", "Blue Yonder Airlines", "Trey Research", "Adatum Corporation" }.OrderByDescending(n => n, StringComparer.OrdinalIgnoreCase),
            customers.Values.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(2, contains.Values.Count);
        Assert.Equal("Paul Cannon", Assert.Single(noParent.Values).GetProperty("fullname").GetString());
    }

    [Fact]
    public async Task Unsupported_and_invalid_queries_are_400_in_the_Dataverse_error_format()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var skip = await sbx.Dataverse(HttpMethod.Get, "accounts?$skip=2");
        var badFilter = await sbx.Dataverse(HttpMethod.Get, "accounts?$filter=name = 'x'");
        var badType = await sbx.Dataverse(HttpMethod.Get, "accounts?$filter=customertypecode eq 'three'");
        var badProperty = await sbx.Dataverse(HttpMethod.Post, "accounts", new { name = "x", nosuchcolumn = 1 });

        Assert.All(new[] { skip, badFilter, badType, badProperty }, r => Assert.Equal(HttpStatusCode.BadRequest, r.Status));
        Assert.Contains("$skip is not supported", skip.ErrorMessage);
        Assert.Equal("0x80060888", badFilter.ErrorCode);
        Assert.Contains("incompatible types", badType.ErrorMessage);
        Assert.Equal("Invalid property 'nosuchcolumn' was found in entity 'Microsoft.Dynamics.CRM.account'.", badProperty.ErrorMessage);
    }

    [Fact]
    public async Task A_missing_privilege_is_403_naming_the_privilege()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$top=1")).Values[0].GetProperty("accountid").GetString();

        var delete = await sbx.Dataverse(HttpMethod.Delete, $"accounts({id})", caller: sbx.Sample.OrdinaryUser);

        Assert.Equal(HttpStatusCode.Forbidden, delete.Status);
        Assert.Equal("0x80040220", delete.ErrorCode);
        Assert.Contains("is missing prvDeleteAccount privilege", delete.ErrorMessage);
    }

    [Fact]
    public async Task An_identity_without_a_systemuser_is_not_a_member_of_the_organization()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "WhoAmI", caller: sbx.Sample.IntegrationApp);

        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Contains("not a member of the organization", reply.ErrorMessage);
    }

    [Fact]
    public async Task Requests_without_a_valid_token_get_401_with_WWW_Authenticate()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var none = await sbx.SendAsync(HttpMethod.Get, sbx.Host.DataverseApiUrl + "WhoAmI", null, caller: null);
        var graphToken = sbx.Host.IssueToken(sbx.Sample.SetupApp, Identity.SandboxAudience.Graph);
        var wrongAudience = await sbx.SendAsync(HttpMethod.Get, sbx.Host.DataverseApiUrl + "WhoAmI", null, null, ("Authorization", "Bearer " + graphToken));

        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.StartsWith("Bearer authorization_uri=", none.Header("WWW-Authenticate"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAudience.Status);
    }

    [Fact]
    public async Task Roles_are_copied_per_business_unit_and_associated_with_ref()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var roles = await sbx.Dataverse(HttpMethod.Get, "roles?$select=name,_businessunitid_value,_parentrootroleid_value&$filter=name eq 'Salesperson'");
        Assert.Equal(2, roles.Values.Count);
        var rootCopy = roles.Values.Single(r => r.GetProperty("_businessunitid_value").GetString() == sbx.Sample.RootBusinessUnitId.ToString());
        var salesCopy = roles.Values.Single(r => r.GetProperty("_businessunitid_value").GetString() == sbx.Sample.SalesBusinessUnitId.ToString());
        Assert.Equal(rootCopy.GetProperty("roleid").GetString(), salesCopy.GetProperty("_parentrootroleid_value").GetString());
        const string annette = "c0000000-0000-4000-8000-000000000011";

        var wrongUnit = await sbx.Dataverse(HttpMethod.Post, $"systemusers({annette})/systemuserroles_association/$ref",
            new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}roles({salesCopy.GetProperty("roleid").GetString()})" });
        var manager = (await sbx.Dataverse(HttpMethod.Get, $"roles?$select=roleid&$filter=name eq 'Sales Manager' and _businessunitid_value eq {sbx.Sample.RootBusinessUnitId}")).Values[0].GetProperty("roleid").GetString();
        var associate = await sbx.Dataverse(HttpMethod.Post, $"systemusers({annette})/systemuserroles_association/$ref",
            new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}roles({manager})" });
        var held = await sbx.Dataverse(HttpMethod.Get, $"systemusers({annette})/systemuserroles_association?$select=name");

        Assert.Equal(HttpStatusCode.BadRequest, wrongUnit.Status);
        Assert.Contains("business unit", wrongUnit.ErrorMessage);
        Assert.Equal(HttpStatusCode.NoContent, associate.Status);
        Assert.Equal(new[] { "Sales Manager", "Salesperson" }, held.Values.Select(v => v.GetProperty("name").GetString()).Order());
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Delete, $"systemusers({annette})/systemuserroles_association({manager})/$ref")).Status);
    }

    [Fact]
    public async Task CreateMultiple_is_one_request_and_rolls_back_entirely_when_one_target_fails()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var before = sbx.Host.Dataverse.Table(DataverseSchemas.Accounts).Count;

        var ok = await sbx.Dataverse(HttpMethod.Post, "accounts/Microsoft.Dynamics.CRM.CreateMultiple", new
        {
            Targets = new object[] { new Dictionary<string, object> { ["@odata.type"] = "Microsoft.Dynamics.CRM.account", ["name"] = "Bulk 1" }, new { name = "Bulk 2" } },
        });
        var bad = await sbx.Dataverse(HttpMethod.Post, "accounts/Microsoft.Dynamics.CRM.CreateMultiple", new
        {
            Targets = new object[] { new { name = "Bulk 3" }, new { name = "Bulk 4", customertypecode = "not a number" } },
        });
        var notSupported = await sbx.Dataverse(HttpMethod.Post, "systemusers/Microsoft.Dynamics.CRM.CreateMultiple", new { Targets = Array.Empty<object>() });

        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal(2, ok.Json.GetProperty("Ids").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal(before + 2, sbx.Host.Dataverse.Table(DataverseSchemas.Accounts).Count);
        Assert.Equal(HttpStatusCode.BadRequest, notSupported.Status);
    }

    [Fact]
    public async Task UpsertMultiple_creates_and_updates_by_id()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var existing = Guid.NewGuid();
        var fresh = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = existing, name = "Before" });

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", new
        {
            Targets = new object[]
            {
                new Dictionary<string, object> { ["@odata.id"] = $"accounts({existing})", ["name"] = "After" },
                new Dictionary<string, object> { ["accountid"] = fresh, ["name"] = "Fresh" },
            },
        });

        Assert.Equal(HttpStatusCode.NoContent, reply.Status);
        Assert.Equal("After", (await sbx.Dataverse(HttpMethod.Get, $"accounts({existing})?$select=name")).Json.GetProperty("name").GetString());
        Assert.Equal("Fresh", (await sbx.Dataverse(HttpMethod.Get, $"accounts({fresh})?$select=name")).Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Paging_12345_rows_at_maxpagesize_5000_takes_exactly_three_pages()
    {
        await using var sbx = await SandboxClient.StartAsync(new Hosting.SandboxOptions { ExtraAccounts = 12345 - 6 });
        var pages = new List<int>();
        string? url = sbx.Host.DataverseApiUrl + "accounts?$select=name&$count=true";
        var ids = new HashSet<string>();
        while (url is not null)
        {
            var page = await sbx.SendAsync(HttpMethod.Get, url, null, sbx.Sample.SetupApp, ("Prefer", "odata.maxpagesize=5000"));
            Assert.Equal("odata.maxpagesize=5000", page.Header("Preference-Applied"));
            pages.Add(page.Values.Count);
            foreach (var row in page.Values)
            {
                Assert.True(ids.Add(row.GetProperty("accountid").GetString()!), "a row came twice");
            }

            if (pages.Count == 1)
            {
                Assert.Equal(5000, page.Json.GetProperty("@odata.count").GetInt32());
            }

            url = page.Json.TryGetProperty("@odata.nextLink", out var next) ? next.GetString() : null;
        }

        Assert.Equal(new[] { 5000, 5000, 2345 }, pages);
        Assert.Equal(12345, ids.Count);
    }

    [Fact]
    public async Task Top_without_maxpagesize_returns_that_many_rows_and_no_next_link()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$top=2");

        Assert.Equal(2, reply.Values.Count);
        Assert.False(reply.Json.TryGetProperty("@odata.nextLink", out _));
    }
}
