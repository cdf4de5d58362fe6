using System.Net;

namespace CrmSync.Sandbox.Tests;

// $filter as the OData URL conventions write it (literals, 'in' lists, lambdas, errors), read by the sandbox with
// Microsoft.OData.Core's parser: these pin the grammar from the client's side, independent of the engine's parser.
public sealed class FilterGrammarTests
{
    [Fact]
    public async Task An_in_list_reads_quoted_items_with_commas_and_doubled_quotes()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=name in ('Proseware, Inc.','Trey Research','O''Neil')&$orderby=name");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(new[] { "Proseware, Inc.", "Trey Research" }, reply.Values.Select(v => v.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Numbers_of_every_literal_form_compare_as_numbers()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var integer = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=customertypecode eq 11");
        var asDecimal = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=customertypecode eq 11.0");
        var negated = await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=not (customertypecode ne 11)");

        Assert.Equal(2, integer.Values.Count);
        Assert.Equal(integer.Body, asDecimal.Body);
        Assert.Equal(integer.Body, negated.Body);
    }

    [Fact]
    public async Task A_date_literal_compares_with_date_times_from_midnight_utc()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var tomorrow = DateTime.UtcNow.Date.AddDays(1).ToString("yyyy-MM-dd");

        var before = await sbx.Dataverse(HttpMethod.Get, $"accounts?$select=name&$filter=modifiedon lt {tomorrow}");
        var after = await sbx.Dataverse(HttpMethod.Get, $"accounts?$select=name&$filter=modifiedon ge {tomorrow}");

        Assert.NotEmpty(before.Values);
        Assert.Empty(after.Values);
    }

    [Theory]
    [InlineData("name eq")]
    [InlineData("name eq 'unclosed")]
    [InlineData("(name eq 'x'")]
    [InlineData("name in 'x'")]
    public async Task Malformed_filters_are_400_naming_the_filter(string filter)
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "accounts?$filter=" + Uri.EscapeDataString(filter));

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("$filter", reply.ErrorMessage);
    }

    [Theory]
    [InlineData("customertypecode add 1 eq 12", "Add")]
    [InlineData("customertypecode has Microsoft.Dynamics.CRM.Flags'1'", "Has")]
    [InlineData("address1_city eq Microsoft.Dynamics.CRM.Text'x'", "enum literal")]
    public async Task Constructs_the_sandbox_does_not_evaluate_are_refused_by_name(string filter, string named)
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Dataverse(HttpMethod.Get, "accounts?$filter=" + Uri.EscapeDataString(filter));

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(named, reply.ErrorMessage);
    }
}
