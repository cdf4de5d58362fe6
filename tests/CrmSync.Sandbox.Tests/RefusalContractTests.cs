using System.Net;
using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Tests;

/// <summary>
/// The sandbox's rule: a request it does not emulate gets a clear error naming what is not supported — never a 200 that
/// ignores part of the request and looks like Dataverse's answer. Written as an outside client would send them, from the
/// Dataverse Web API documentation (Query data using FetchXml, Use parameter aliases, Retrieve a table row, Associate and
/// disassociate table rows, Execute batch operations).
/// </summary>
public sealed class RefusalContractTests
{
    public static TheoryData<string, string> NotEmulatedQueries => new()
    {
        // webapi/fetchxml: a FetchXML query in the fetchXml parameter.
        { "contacts?fetchXml=%3Cfetch%20count%3D%224%22%20page%3D%222%22%3E%3Centity%20name%3D%22contact%22%3E%3Cattribute%20name%3D%22fullname%22%2F%3E%3C%2Fentity%3E%3C%2Ffetch%3E", "fetchXml" },
        // webapi/retrieve-and-execute-predefined-queries: saved and personal views.
        { "accounts?savedQuery=00000000-0000-0000-00aa-000010001002", "savedQuery" },
        { "accounts?userQuery=121c6fd8-1975-e511-80d4-00155d2a68d1", "userQuery" },
        // webapi/query/filter-rows: parameter aliases.
        { "accounts?$select=name&$filter=contains(name,@p1)&@p1='Contoso'", "@p1" },
        // Aggregation and expansion are documented; the sandbox does not emulate them.
        { "accounts?$apply=aggregate(creditlimit%20with%20sum%20as%20total)", "$apply" },
        { "accounts?$select=name&$expand=primarycontactid($select=fullname)", "$expand" },
        // webapi/query/filter-rows: query functions.
        { "accounts?$select=name&$filter=Microsoft.Dynamics.CRM.LastXHours(PropertyName='modifiedon',PropertyValue=12)", "LastXHours" },
        // Documented tables and metadata the sandbox does not have.
        { "tasks?$select=subject", "tasks" },
        { "savedqueries?$select=name", "savedqueries" },
        { "EntityDefinitions?$select=LogicalName", "EntityDefinitions" },
        // A parameter no Web API knows.
        { "accounts?$select=name&includeDeleted=true", "includeDeleted" },
    };

    [Theory]
    [MemberData(nameof(NotEmulatedQueries))]
    public async Task A_Dataverse_query_the_sandbox_does_not_emulate_is_refused_by_name(string query, string named)
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, query);

        Assert.True(reply.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, reply.ToString());
        Assert.Contains(named, reply.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_record_accepts_select_only_and_refuses_collection_options()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = await FirstAccountIdAsync(sbx);

        var filtered = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=name&$filter=name eq 'nobody'");
        var selected = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=name");

        Assert.Equal(HttpStatusCode.BadRequest, filtered.Status);
        Assert.Contains("$filter", filtered.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, selected.Status);
    }

    // webapi/associate-disassociate-entities-using-web-api: a collection-valued navigation property is queried like a set.
    [Fact]
    public async Task A_user_roles_navigation_applies_filter_orderby_and_top()
    {
        await using var sbx = await SandboxClient.StartAsync();
        const string annette = "c0000000-0000-4000-8000-000000000011";
        var manager = (await sbx.Dataverse(HttpMethod.Get, $"roles?$select=roleid&$filter=name eq 'Sales Manager' and _businessunitid_value eq {sbx.Sample.RootBusinessUnitId}")).Values[0].GetProperty("roleid").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Post, $"systemusers({annette})/systemuserroles_association/$ref",
            new Dictionary<string, string> { ["@odata.id"] = $"{sbx.Host.DataverseApiUrl}roles({manager})" })).Status);
        var salesperson = (await sbx.Dataverse(HttpMethod.Get, "roles?$select=roleid&$filter=name eq 'Salesperson'")).Values.Select(v => v.GetProperty("roleid").GetString()).ToList();

        var filtered = await sbx.Dataverse(HttpMethod.Get, $"systemusers({annette})/systemuserroles_association?$select=name&$filter=roleid eq {manager}");
        var ordered = await sbx.Dataverse(HttpMethod.Get, $"systemusers({annette})/systemuserroles_association?$select=name&$orderby=name desc&$top=1");
        var counted = await sbx.Dataverse(HttpMethod.Get, $"systemusers({annette})/systemuserroles_association?$select=name&$count=true");

        Assert.Equal(new[] { "Sales Manager" }, filtered.Values.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(new[] { "Salesperson" }, ordered.Values.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, counted.Status);
        Assert.Contains("$count", counted.ErrorMessage, StringComparison.Ordinal);
        Assert.NotEmpty(salesperson);
    }

    // webapi/execute-batch-operations-using-web-api: an inner response without a body ends its headers with a blank line,
    // and the CRLF before the next boundary follows ("HTTP/1.1 204 No Content … OData-EntityId: …", blank, blank, "--batchresponse_…").
    [Fact]
    public async Task A_batch_response_without_a_body_has_the_documented_layout()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();
        var body = DataverseBatchContractTests.Batch("batch_layout",
            DataverseBatchContractTests.Part($"PATCH accounts({id}) HTTP/1.1", """{"name":"Layout"}"""),
            DataverseBatchContractTests.ChangeSet("changeset_layout", DataverseBatchContractTests.Part("POST accounts HTTP/1.1", """{"name":"Layout 2"}""", contentId: "1")));

        var reply = await DataverseBatchContractTests.SendBatch(sbx, "batch_layout", body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var noBody = Regex.Matches(reply.Body, @"HTTP/1\.1 204 No Content\r\n(?:[A-Za-z-]+: [^\r\n]*\r\n)+\r\n\r\n--(?:batchresponse|changesetresponse)_");
        Assert.Equal(2, noBody.Count);
        Assert.EndsWith("--\r\n", reply.Body, StringComparison.Ordinal);
    }

    // webapi/update-delete-entities-using-web-api: "Update a single property value", "Delete a single property value";
    // webapi/retrieve-entity-using-web-api: "Retrieve a single property value" (and its raw /$value).
    [Fact]
    public async Task A_single_property_is_read_set_and_cleared_on_its_own()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await sbx.Dataverse(HttpMethod.Post, "accounts", new { accountid = id, name = "Single Property", telephone1 = "555-0100" })).Status);

        var read = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/name");
        var raw = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/name/$value");
        var put = await sbx.Dataverse(HttpMethod.Put, $"accounts({id})/telephone1", new { value = "555-0199" });
        var afterPut = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=telephone1");
        var delete = await sbx.Dataverse(HttpMethod.Delete, $"accounts({id})/telephone1");
        var afterDelete = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=telephone1");

        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal("Single Property", read.Json.GetProperty("value").GetString());
        Assert.EndsWith($"$metadata#accounts({id})/name", read.Json.GetProperty("@odata.context").GetString());
        Assert.Equal("Single Property", raw.Body);
        Assert.Equal(HttpStatusCode.NoContent, put.Status);
        Assert.Equal("555-0199", afterPut.Json.GetProperty("telephone1").GetString());
        Assert.Equal(HttpStatusCode.NoContent, delete.Status);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, afterDelete.Json.GetProperty("telephone1").ValueKind);
    }

    [Fact]
    public async Task A_navigation_property_the_sandbox_does_not_emulate_and_an_unknown_property_are_refused_by_name()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var id = await FirstAccountIdAsync(sbx);

        var navigation = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/contact_customer_accounts");
        var unknown = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/nosuchcolumn");

        Assert.Equal(HttpStatusCode.BadRequest, navigation.Status);
        Assert.Contains("contact_customer_accounts", navigation.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Contains("Could not find a property named 'nosuchcolumn'", unknown.ErrorMessage, StringComparison.Ordinal);
    }

    // webapi/query/count-rows: "GET …/accounts/$count" answers the number as plain text (at most 5,000).
    [Fact]
    public async Task Counting_a_table_answers_the_number_as_plain_text()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var all = (await sbx.Dataverse(HttpMethod.Get, "contacts?$select=contactid")).Values.Count;

        var count = await sbx.Dataverse(HttpMethod.Get, "contacts/$count");

        Assert.Equal(HttpStatusCode.OK, count.Status);
        Assert.StartsWith("text/plain", count.ContentType);
        Assert.Equal(all.ToString(System.Globalization.CultureInfo.InvariantCulture), count.Body);
    }

    // webapi/query/count-rows: with $count=true and the Prefer annotations, a count past 5,000 reads 5,000 with
    // totalrecordcountlimitexceeded true; below the cap it is the exact number.
    [Fact]
    public async Task Count_annotations_say_whether_the_5000_cap_was_hit()
    {
        await using var sbx = await SandboxClient.StartAsync(new Hosting.SandboxOptions { ExtraAccounts = 5200 });
        const string prefer = "odata.include-annotations=\"Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded\"";

        var many = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=accountid&$count=true&$top=1", null, null, ("Prefer", prefer))).Json;
        var few = (await sbx.Dataverse(HttpMethod.Get, "contacts?$select=contactid&$count=true", null, null, ("Prefer", prefer))).Json;
        var uncounted = (await sbx.Dataverse(HttpMethod.Get, "contacts?$select=contactid", null, null, ("Prefer", prefer))).Json;
        var notAsked = (await sbx.Dataverse(HttpMethod.Get, "contacts?$select=contactid&$count=true")).Json;

        Assert.Equal(5000, many.GetProperty("@odata.count").GetInt32());
        Assert.Equal(5000, many.GetProperty("@Microsoft.Dynamics.CRM.totalrecordcount").GetInt32());
        Assert.True(many.GetProperty("@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded").GetBoolean());
        var contacts = few.GetProperty("value").GetArrayLength();
        Assert.Equal(contacts, few.GetProperty("@Microsoft.Dynamics.CRM.totalrecordcount").GetInt32());
        Assert.False(few.GetProperty("@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded").GetBoolean());
        Assert.Equal(-1, uncounted.GetProperty("@Microsoft.Dynamics.CRM.totalrecordcount").GetInt32());
        Assert.False(notAsked.TryGetProperty("@Microsoft.Dynamics.CRM.totalrecordcount", out _));
    }

    // webapi/perform-conditional-operations-using-web-api: a 304 Not Modified still names the current version.
    [Fact]
    public async Task Not_modified_carries_the_ETag()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var first = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=accountid&$top=1")).Values[0];
        var id = first.GetProperty("accountid").GetString();
        var etag = first.GetProperty("@odata.etag").GetString()!;

        var reply = await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?$select=name", null, null, ("If-None-Match", etag));

        Assert.Equal(HttpStatusCode.NotModified, reply.Status);
        Assert.Equal(etag, reply.Header("ETag"));
    }

    // webapi/create-entity-web-api: "Create related table rows in one operation" (deep insert).
    [Fact]
    public async Task A_deep_insert_is_refused_by_name_and_creates_nothing()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var before = (await sbx.Dataverse(HttpMethod.Get, "accounts/$count")).Body;

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts", new { name = "Deep Insert", primarycontactid = new { firstname = "Deep", lastname = "Contact" } });

        Assert.True(reply.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, reply.ToString());
        Assert.Contains("primarycontactid", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("deep insert", reply.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, (await sbx.Dataverse(HttpMethod.Get, "accounts/$count")).Body);
    }

    [Fact]
    public async Task The_documented_account_and_contact_columns_exist()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var account = await sbx.Dataverse(HttpMethod.Post, "accounts?$select=description,revenue", new { name = "Columns", description = "A description", revenue = 5000000m }, null, ("Prefer", "return=representation"));
        var contact = await sbx.Dataverse(HttpMethod.Post, "contacts?$select=description,annualincome", new { lastname = "Columns", description = "About", annualincome = 75000m }, null, ("Prefer", "return=representation"));

        Assert.Equal(HttpStatusCode.Created, account.Status);
        Assert.Equal(5000000m, account.Json.GetProperty("revenue").GetDecimal());
        Assert.Equal("A description", account.Json.GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.Created, contact.Status);
        Assert.Equal(75000m, contact.Json.GetProperty("annualincome").GetDecimal());

        // webapi/create-entity-web-api "Create with data returned": money comes back with four decimals ("revenue": 5000000.0000).
        var id = account.Json.GetProperty("accountid").GetString();
        Assert.Contains("\"revenue\":5000000.0000", account.Body, StringComparison.Ordinal);
        Assert.Contains("\"value\":5000000.0000", (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/revenue")).Body, StringComparison.Ordinal);
        Assert.Equal("5000000.0000", (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})/revenue/$value")).Body);
        var rounded = await sbx.Dataverse(HttpMethod.Patch, $"accounts({id})?$select=revenue", new { revenue = 12.345678m }, null, ("Prefer", "return=representation"));
        Assert.Equal(12.3457m, rounded.Json.GetProperty("revenue").GetDecimal());
    }

    // webapi/query/select-columns ("Formatted values"), webapi/query/overview (lookup property annotations).
    [Fact]
    public async Task Formatted_values_come_with_the_annotations_asked_for()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var euro = (await sbx.Dataverse(HttpMethod.Get, "transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'EUR'")).Values[0].GetProperty("transactioncurrencyid").GetString();
        var id = Guid.NewGuid();
        await sbx.Dataverse(HttpMethod.Post, "accounts", new Dictionary<string, object>
        {
            ["accountid"] = id, ["name"] = "Formatted", ["creditlimit"] = 1234.5m, ["customertypecode"] = 3, ["transactioncurrencyid@odata.bind"] = $"/transactioncurrencies({euro})",
        });
        const string select = "$select=name,creditlimit,customertypecode,createdon,_transactioncurrencyid_value";

        var all = (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?{select}", null, null, ("Prefer", "odata.include-annotations=\"*\""))).Json;
        var formattedOnly = (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?{select}", null, null, ("Prefer", "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\""))).Json;
        var none = (await sbx.Dataverse(HttpMethod.Get, $"accounts({id})?{select}")).Json;

        const string formatted = "@OData.Community.Display.V1.FormattedValue";
        Assert.Equal("€1,234.50", all.GetProperty("creditlimit" + formatted).GetString());
        Assert.Equal("Customer", all.GetProperty("customertypecode" + formatted).GetString());
        Assert.Equal("Euro", all.GetProperty("_transactioncurrencyid_value" + formatted).GetString());
        Assert.Matches(@"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2} (AM|PM)$", all.GetProperty("createdon" + formatted).GetString());
        Assert.Equal("transactioncurrency", all.GetProperty("_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname").GetString());
        Assert.Equal("Customer", formattedOnly.GetProperty("customertypecode" + formatted).GetString());
        Assert.False(formattedOnly.TryGetProperty("_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname", out _));
        Assert.False(none.TryGetProperty("creditlimit" + formatted, out _));
    }

    // webapi/create-entity-web-api ("Create with data returned"): the context names the selected columns.
    [Fact]
    public async Task A_create_with_select_names_the_columns_in_its_context()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Post, "accounts?$select=name,revenue", new { name = "Context", revenue = 5000000m }, null, ("Prefer", "return=representation"));

        Assert.EndsWith("$metadata#accounts(name,revenue)/$entity", reply.Json.GetProperty("@odata.context").GetString());
    }

    // webapi/execute-batch-operations-using-web-api, "Change sets": the response example, byte for byte once its ids,
    // boundaries, organization URI and JSON body are normalized (accounts where the example creates tasks, which the
    // sandbox does not have).
    private const string DocumentedChangeSetResponse = """
        --batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
        Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15

        --changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
        Content-Type: application/http
        Content-Transfer-Encoding: binary
        Content-ID: 1

        HTTP/1.1 204 No Content
        OData-Version: 4.0
        Location: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)
        OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)


        --changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
        Content-Type: application/http
        Content-Transfer-Encoding: binary
        Content-ID: 2

        HTTP/1.1 204 No Content
        OData-Version: 4.0
        Location: [Organization Uri]/api/data/v9.2/tasks(e83ffc82-e292-ed11-aad1-000d3a9933c9)
        OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e83ffc82-e292-ed11-aad1-000d3a9933c9)


        --changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15--
        --batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
        Content-Type: application/http
        Content-Transfer-Encoding: binary

        HTTP/1.1 200 OK
        Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
        OData-Version: 4.0

        {"value": []}
        --batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f--

        """;

    [Fact]
    public async Task A_change_set_and_a_query_answer_in_the_documented_batch_layout()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var body = DataverseBatchContractTests.Batch("batch_22975cad",
            DataverseBatchContractTests.ChangeSet("changeset_246e6bfe",
                DataverseBatchContractTests.Part("POST accounts HTTP/1.1", """{"name":"Account 1 in batch"}""", contentId: "1"),
                DataverseBatchContractTests.Part("POST accounts HTTP/1.1", """{"name":"Account 2 in batch"}""", contentId: "2")),
            DataverseBatchContractTests.Part("GET accounts?$select=name&$top=2 HTTP/1.1", null));

        var reply = await DataverseBatchContractTests.SendBatch(sbx, "batch_22975cad", body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Normalize(DocumentedChangeSetResponse.ReplaceLineEndings("\r\n"), "[Organization Uri]/api/data/v9.2/"), Normalize(reply.Body, sbx.Host.DataverseApiUrl));
    }

    private static string Normalize(string batch, string serviceRoot)
    {
        var text = batch.Replace(serviceRoot, "URI/", StringComparison.Ordinal).Replace("URI/tasks(", "URI/accounts(", StringComparison.Ordinal);
        text = Regex.Replace(text, "batchresponse_[0-9a-f-]+", "batchresponse_B");
        text = Regex.Replace(text, "changesetresponse_[0-9a-f-]+", "changesetresponse_C");
        text = Regex.Replace(text, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID");
        return Regex.Replace(text, @"(?m)^\{.*\}\r$", "{BODY}\r", RegexOptions.Singleline);
    }

    private static async Task<string?> FirstAccountIdAsync(SandboxClient sbx) =>
        (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=accountid&$top=1")).Values[0].GetProperty("accountid").GetString();
}
