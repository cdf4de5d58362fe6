using System.Net;
using System.Text;
using System.Xml;
using Microsoft.OData.Edm;
using Microsoft.OData.Edm.Csdl;

namespace CrmSync.Sandbox.Tests;

/// <summary>
/// BC API v2.0 navigation as Microsoft documents it (api-reference/v2.0/resources/dynamics_customer, "Navigation";
/// dynamics_customerfinancialdetail; "Using $expand" in devenv-connect-apps-tips) and the $metadata document every
/// @odata.context points at — read by Microsoft's own CSDL reader, not by the sandbox's code.
/// </summary>
public class BusinessCentralNavigationTests
{
    [Fact]
    public async Task Metadata_is_CSDL_that_an_OData_reader_accepts_and_matches_the_served_entities()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var reply = await sbx.Bc(HttpMethod.Get, "$metadata");
        var customer = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$top=1")).Values[0];

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("application/xml", reply.ContentType);
        using var reader = XmlReader.Create(new MemoryStream(Encoding.UTF8.GetBytes(reply.Body)));
        Assert.True(CsdlReader.TryParse(reader, out var model, out var errors), string.Join("; ", errors ?? Array.Empty<Microsoft.OData.Edm.Validation.EdmError>()));
        var type = (IEdmEntityType)model.FindDeclaredType("Microsoft.NAV.customer");
        var served = customer.EnumerateObject().Select(p => p.Name).Where(n => !n.StartsWith('@')).Order().ToList();
        Assert.Equal(served, type.StructuralProperties().Select(p => p.Name).Order().ToList());
        var blocked = (IEdmEnumType)type.FindProperty("blocked").Type.Definition;
        Assert.Contains(blocked.Members, m => m.Name == "_x0020_");
        Assert.Contains(type.NavigationProperties(), p => p.Name == "contactsInformation" && p.Type.IsCollection());
        var companies = model.EntityContainer.FindEntitySet("companies");
        Assert.Contains(companies.EntityType.NavigationProperties(), p => p.Name == "customers" && p.ContainsTarget);
        Assert.Equal(HttpStatusCode.BadRequest, (await sbx.Bc(HttpMethod.Get, "$metadata?$format=json")).Status);
    }

    [Fact]
    public async Task Expand_brings_contacts_information_currency_and_financial_detail_inline()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var list = await sbx.Bc(HttpMethod.Get,
            $"{sbx.Company}/customers?$select=number,currencyCode&$expand=contactsInformation($select=contactNumber,relatedType),currency($select=code),customerFinancialDetail");
        var relations = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/contactsInformation?$select=contactNumber,relatedId")).Values;
        var ids = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$select=id,number")).Values
            .ToDictionary(c => c.GetProperty("number").GetString()!, c => c.GetProperty("id").GetString());

        Assert.Equal(HttpStatusCode.OK, list.Status);
        foreach (var customer in list.Values)
        {
            var number = customer.GetProperty("number").GetString()!;
            var expected = relations.Where(r => r.GetProperty("relatedId").GetString() == ids[number]).Select(r => r.GetProperty("contactNumber").GetString());
            var inline = customer.GetProperty("contactsInformation").EnumerateArray().ToList();
            Assert.Equal(expected, inline.Select(r => r.GetProperty("contactNumber").GetString()));
            Assert.All(inline, r => Assert.False(r.TryGetProperty("contactName", out _), "$select inside $expand applies"));
            var currencyCode = customer.GetProperty("currencyCode").GetString();
            var currency = customer.GetProperty("currency");
            Assert.Equal(currencyCode is "" ? null : currencyCode, currency.ValueKind == System.Text.Json.JsonValueKind.Null ? null : currency.GetProperty("code").GetString());
            Assert.Equal(number, customer.GetProperty("customerFinancialDetail").GetProperty("number").GetString());
        }

        var single = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({ids["C10020"]})?$select=number&$expand=currency");
        Assert.Equal("EUR", single.Json.GetProperty("currency").GetProperty("code").GetString());
        var detail = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({ids["C10020"]})/customerFinancialDetail");
        Assert.Equal(0m, detail.Json.GetProperty("balance").GetDecimal());
        var noCurrency = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({ids["C10000"]})/currency");
        Assert.Equal(HttpStatusCode.NoContent, noCurrency.Status);
    }

    [Fact]
    public async Task Expand_refuses_what_it_does_not_serve_by_name()
    {
        await using var sbx = await SandboxClient.StartAsync();

        var invoices = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$expand=salesInvoiceLines");
        var nested = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$expand=contactsInformation($expand=contact)");
        var topInside = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$expand=contactsInformation($top=1)");
        var filterOnSingle = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$expand=currency($filter=code eq 'EUR')");
        var filtered = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/vendors?$expand=contactsInformation($filter=relatedType eq 'Customer')");
        var orInside = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$expand=contactsInformation($filter=contactType eq 'Company' or relatedType eq 'Customer')");
        var customer = (await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers?$top=1&$select=id")).Values[0].GetProperty("id").GetString();
        var orOnNavigation = await sbx.Bc(HttpMethod.Get, $"{sbx.Company}/customers({customer})/contactsInformation?$filter=contactType eq 'Company' or relatedType eq 'Customer'");

        Assert.Equal(HttpStatusCode.BadRequest, invoices.Status);
        Assert.Contains("salesInvoiceLines", invoices.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, nested.Status);
        Assert.Equal(HttpStatusCode.BadRequest, topInside.Status);
        Assert.Contains("$top", topInside.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, filterOnSingle.Status);
        Assert.All(filtered.Values, v => Assert.Empty(v.GetProperty("contactsInformation").EnumerateArray()));
        // BC's AL filters cannot OR two fields, wherever the $filter stands.
        Assert.Equal(HttpStatusCode.BadRequest, orInside.Status);
        Assert.Contains("'OR' operator is not supported on distinct fields", orInside.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, orOnNavigation.Status);
        Assert.Contains("'OR' operator is not supported on distinct fields", orOnNavigation.ErrorMessage, StringComparison.Ordinal);
    }
}
