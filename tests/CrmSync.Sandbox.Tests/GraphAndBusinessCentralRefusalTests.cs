using System.Net;

namespace CrmSync.Sandbox.Tests;

/// <summary>
/// The sandbox's refusals and documented limits for Microsoft Graph and Business Central API v2.0, sent as an outside client
/// would send them (the Dataverse ones are in <see cref="RefusalContractTests"/>).
/// </summary>
public sealed class GraphAndBusinessCentralRefusalTests
{
    // Graph: "Advanced query capabilities on Microsoft Entra ID objects" and "Use the $top query parameter" (1–999 for users).
    [Fact]
    public async Task Graph_keeps_its_advanced_query_rules_and_page_size_range()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var eventual = ("ConsistencyLevel", "eventual");

        var tooMany = await sbx.Graph(HttpMethod.Get, "users?$top=1000");
        var endsWithPlain = await sbx.Graph(HttpMethod.Get, "users?$filter=endswith(userPrincipalName,'@contoso.com')");
        var notEqualPlain = await sbx.Graph(HttpMethod.Get, "users?$filter=displayName ne 'Alex Admin'");
        var countPlain = await sbx.Graph(HttpMethod.Get, "users?$count=true");
        var endsWithAdvanced = await sbx.Graph(HttpMethod.Get, "users?$filter=endswith(userPrincipalName,'@contoso.com')&$count=true", null, null, eventual);
        var everyone = await sbx.Graph(HttpMethod.Get, "users?$top=999");

        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);
        Assert.Contains("between 1 and 999", tooMany.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, endsWithPlain.Status);
        Assert.Equal("Request_UnsupportedQuery", endsWithPlain.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, notEqualPlain.Status);
        Assert.Equal(HttpStatusCode.BadRequest, countPlain.Status);
        Assert.Equal(HttpStatusCode.OK, endsWithAdvanced.Status);
        var matching = everyone.Values.Count(u => u.GetProperty("userPrincipalName").GetString()!.EndsWith("@contoso.com", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(matching, endsWithAdvanced.Json.GetProperty("@odata.count").GetInt32());
        Assert.Equal(matching, endsWithAdvanced.Values.Count);
        Assert.NotNull(everyone.Header("request-id"));
    }

    // BC: "The 'OR' operator is not supported on distinct fields" (AL filters OR within one field only); OData-Version on responses.
    [Fact]
    public async Task Business_Central_refuses_or_across_fields_and_answers_with_OData_Version()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var sameField = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=number&$filter=number eq 'C10000' or number eq 'C10010'");
        var distinct = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=number&$filter=number eq 'C10000' or displayName eq 'Trey Research'");

        Assert.Equal(HttpStatusCode.OK, sameField.Status);
        Assert.Equal(2, sameField.Values.Count);
        Assert.Equal("4.0", sameField.Header("OData-Version"));
        Assert.Equal(HttpStatusCode.BadRequest, distinct.Status);
        Assert.Contains("'OR' operator is not supported on distinct fields", distinct.ErrorMessage, StringComparison.Ordinal);
    }

    // Graph JSON batching: ids are unique in a batch, and a request with a body names its Content-Type.
    [Fact]
    public async Task A_Graph_batch_with_duplicate_ids_or_a_body_without_Content_Type_is_refused_and_runs_nothing()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var usersBefore = (await sbx.Graph(HttpMethod.Get, "users?$top=999")).Values.Count;
        object NewUser(string id, string upn, bool contentType) => new
        {
            id, method = "POST", url = "/users",
            headers = contentType ? new Dictionary<string, string> { ["Content-Type"] = "application/json" } : new Dictionary<string, string>(),
            body = new { accountEnabled = true, displayName = upn, mailNickname = upn, userPrincipalName = upn + "@contoso.com", passwordProfile = new { password = "Batch-Pass-1!" } },
        };

        var duplicate = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = new[] { NewUser("1", "dup.one", true), NewUser("1", "dup.two", true) } });
        var noContentType = await sbx.Graph(HttpMethod.Post, "$batch", new { requests = new[] { NewUser("1", "ct.one", true), NewUser("2", "ct.two", false) } });

        Assert.Equal(HttpStatusCode.BadRequest, duplicate.Status);
        Assert.Contains("'1'", duplicate.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noContentType.Status);
        Assert.Contains("Content-Type", noContentType.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(usersBefore, (await sbx.Graph(HttpMethod.Get, "users?$top=999")).Values.Count);
    }

    // BC API v2.0: "customers/$count" and the customer's contactsInformation navigation (dynamics_customer: Navigation).
    [Fact]
    public async Task Business_Central_counts_a_set_and_serves_a_customers_contacts_information()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var customers = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=id,number")).Values;
        var relations = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/contactsInformation?$select=contactId,relatedId,relatedType")).Values;
        var withContact = customers.First(c => relations.Any(r => r.GetProperty("relatedId").GetString() == c.GetProperty("id").GetString()));
        var id = withContact.GetProperty("id").GetString();

        var count = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers/$count");
        var filteredCount = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers/$count?$filter=number eq 'C10000'");
        var information = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({id})/contactsInformation?$select=contactId,relatedType");
        var notEmulated = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({id})/agedAccountsReceivable");

        Assert.Equal(HttpStatusCode.OK, count.Status);
        Assert.Equal(customers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), count.Body);
        Assert.Equal("1", filteredCount.Body);
        Assert.Equal(HttpStatusCode.OK, information.Status);
        Assert.Equal(relations.Count(r => r.GetProperty("relatedId").GetString() == id), information.Values.Count);
        Assert.All(information.Values, v => Assert.Equal("Customer", v.GetProperty("relatedType").GetString()));
        Assert.False(information.Values[0].TryGetProperty("relatedId", out _), "$select applies");
        Assert.Equal(HttpStatusCode.BadRequest, notEmulated.Status);
        Assert.Contains("agedAccountsReceivable", notEmulated.ErrorMessage, StringComparison.Ordinal);
    }

    // Graph: "List licenseDetails", "Count directory objects" (users/$count needs ConsistencyLevel: eventual).
    [Fact]
    public async Task Graph_counts_users_lists_license_details_and_refuses_relationships_it_does_not_emulate()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var admin = sbx.Sample.Admin.ObjectId;
        var all = (await sbx.Graph(HttpMethod.Get, "users?$top=999")).Values.Count;

        var countPlain = await sbx.Graph(HttpMethod.Get, "users/$count");
        var count = await sbx.Graph(HttpMethod.Get, "users/$count", null, null, ("ConsistencyLevel", "eventual"));
        var details = await sbx.Graph(HttpMethod.Get, $"users/{admin}/licenseDetails");
        var memberOf = await sbx.Graph(HttpMethod.Get, $"users/{admin}/memberOf");
        var phonesLambda = await sbx.Graph(HttpMethod.Get, "users?$filter=businessPhones/any(p:p eq '+1 555 0100')");
        var search = await sbx.Graph(HttpMethod.Get, "users?$search=\"displayName:Alex\"", null, null, ("ConsistencyLevel", "eventual"));

        Assert.Equal(HttpStatusCode.BadRequest, countPlain.Status);
        Assert.Equal(all.ToString(System.Globalization.CultureInfo.InvariantCulture), count.Body);
        Assert.Equal(HttpStatusCode.OK, details.Status);
        Assert.Contains(details.Values, d => d.GetProperty("skuPartNumber").GetString() == "DYN365_ENTERPRISE_PLAN1");
        Assert.Equal(HttpStatusCode.BadRequest, memberOf.Status);
        Assert.Contains("memberOf", memberOf.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, phonesLambda.Status);
        Assert.Contains("businessPhones", phonesLambda.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, search.Status);
        Assert.Contains("$search", search.ErrorMessage, StringComparison.Ordinal);
    }

    // Change tracking: Dataverse "Use change tracking to synchronize data" (Prefer: odata.track-changes), BC "Using deltas
    // with APIs", Graph "user: delta". A plain list in answer to a delta request would look like a first full delta.
    [Fact]
    public async Task Change_tracking_and_delta_queries_are_refused_by_name()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var dataverse = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name", null, null, ("Prefer", "odata.track-changes"));
        var bc = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers", null, null, ("Prefer", "odata.track-changes"));
        var graph = await sbx.Graph(HttpMethod.Get, "users/delta");
        var ignored = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name", null, null, ("Prefer", "x-unknown-preference"));

        Assert.Equal(HttpStatusCode.BadRequest, dataverse.Status);
        Assert.Contains("odata.track-changes", dataverse.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, bc.Status);
        Assert.Contains("odata.track-changes", bc.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, graph.Status);
        Assert.Contains("delta", graph.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ignored.Status);
    }

    // Graph user resource, assignedLicenses: "Supports $filter (eq, not, /$count eq 0, /$count ne 0)" — the documented
    // any(x:x/skuId eq {skuId}) form finds the users holding a license; other lambdas on it are refused as Graph does.
    [Fact]
    public async Task Graph_filters_users_by_an_assigned_license_with_any()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var users = (await sbx.Graph(HttpMethod.Get, "users?$top=999&$select=id,assignedLicenses")).Values;
        List<string?> Holders(Guid sku) => users.Where(u => u.GetProperty("assignedLicenses").EnumerateArray().Any(l => l.GetProperty("skuId").GetGuid() == sku))
            .Select(u => u.GetProperty("id").GetString()).Order().ToList();
        // A license some users hold and others do not, so the filter has something to leave out.
        var plan1 = new[] { Seed.SampleData.Dynamics365Plan1SkuId, Seed.SampleData.Dynamics365SalesSkuId, Seed.SampleData.Office365E3SkuId }
            .First(sku => Holders(sku).Count is > 0 and var n && n < users.Count);
        var holders = Holders(plan1);

        var filtered = await sbx.Graph(HttpMethod.Get, $"users?$top=999&$select=id&$filter=assignedLicenses/any(x:x/skuId eq {plan1})");
        var combined = await sbx.Graph(HttpMethod.Get, $"users?$top=999&$select=id&$filter=accountEnabled eq true and assignedLicenses/any(l:l/skuId eq {plan1})");
        var all = await sbx.Graph(HttpMethod.Get, $"users?$filter=assignedLicenses/all(x:x/skuId eq {plan1})");
        var otherOperator = await sbx.Graph(HttpMethod.Get, $"users?$filter=assignedLicenses/any(x:x/skuId ne {plan1})");

        Assert.NotEmpty(holders);
        Assert.True(holders.Count < users.Count, "the sample has users without the license");
        Assert.Equal(holders, filtered.Values.Select(u => u.GetProperty("id").GetString()).Order().ToList());
        Assert.Equal(HttpStatusCode.OK, combined.Status);
        Assert.Equal(HttpStatusCode.BadRequest, all.Status);
        Assert.Contains("assignedLicenses", all.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, otherOperator.Status);
    }
}
