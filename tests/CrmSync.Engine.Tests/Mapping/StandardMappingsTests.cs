using CrmSync.Mapping;
using CrmSync.OData;

namespace CrmSync.Engine.Tests.Mapping;

// Spot checks against docs/reference/integration.md §B.
public sealed class StandardMappingsTests
{
    private static IntegrationTableMapping Get(string name) => StandardMappings.Get(name)!;

    private static IntegrationFieldMapping Field(string mapping, string caption, string? dataverseField = null) =>
        Get(mapping).FieldMappings.Single(f => f.BcFieldCaption == caption && (dataverseField is null || f.DataverseField == dataverseField));

    [Fact]
    public void The_standard_set_is_the_five_mappings_in_documented_order()
    {
        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "CUSTOMER", "CONTACT" }, StandardMappings.All().Select(m => m.Name));
        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "CUSTOMER", "CONTACT" }, MappingOrder.Sort(StandardMappings.All()).Select(m => m.Name));
    }

    [Fact]
    public void Customer_and_vendor_are_bidirectional_accounts_told_apart_by_customertypecode()
    {
        var customer = Get("CUSTOMER");
        var vendor = Get("VENDOR");

        Assert.Equal(("customers", "accounts", SyncDirection.Bidirectional), (customer.BcEntitySet, customer.DataverseEntitySet, customer.Direction));
        Assert.Equal(("vendors", "accounts", SyncDirection.Bidirectional), (vendor.BcEntitySet, vendor.DataverseEntitySet, vendor.Direction));
        Assert.Equal("blocked eq '_x0020_'", customer.TableFilter);
        Assert.Equal("blocked eq '_x0020_'", vendor.TableFilter);
        Assert.Contains("customertypecode eq 3", customer.IntegrationTableFilter);
        Assert.Contains("customertypecode eq 11", vendor.IntegrationTableFilter);
        Assert.Contains("statecode eq 0", customer.IntegrationTableFilter);
        Assert.Equal(new[] { "SALESPEOPLE", "CURRENCY" }, customer.Dependencies);
        Assert.True(customer.SynchOnlyCoupledRecords);
        Assert.Equal(UpdateConflictResolution.None, customer.UpdateConflictResolution);
    }

    [Fact]
    public void Customer_field_mappings_follow_BC_defaults()
    {
        Assert.Equal(("displayName", SyncDirection.Bidirectional, FieldMappingStatus.Enabled), Project(Field("CUSTOMER", "Name", "name")));
        Assert.Equal(("phoneNumber", SyncDirection.Bidirectional, FieldMappingStatus.Enabled), Project(Field("CUSTOMER", "Phone No.", "telephone1")));
        Assert.Equal(("creditLimit", SyncDirection.ToIntegrationTable, FieldMappingStatus.Enabled), Project(Field("CUSTOMER", "Credit Limit (LCY)", "creditlimit")));
        Assert.Equal("CURRENCY", Field("CUSTOMER", "Currency Code", "transactioncurrencyid").LookupMapping);
        var owner = Field("CUSTOMER", "Salesperson Code", "ownerid");
        Assert.True(owner.NotNull);
        Assert.Equal(SyncDirection.ToIntegrationTable, owner.Direction);
        Assert.Equal("SALESPEOPLE", owner.LookupMapping);

        // Not in BC API v2.0 (§E.2) or needs option mappings: kept, unavailable, explained.
        foreach (var caption in new[] { "Fax No.", "Primary Contact No.", "Contact", "Shipping Agent Code", "Payment Terms Code" })
        {
            var field = Field("CUSTOMER", caption);
            Assert.Equal(FieldMappingStatus.Unavailable, field.Status);
            Assert.False(string.IsNullOrWhiteSpace(field.Note));
        }

        // Customer No. is not mapped to accountnumber by default (§B.3).
        Assert.Equal(FieldMappingStatus.Disabled, Field("CUSTOMER", "No.", "accountnumber").Status);
    }

    [Fact]
    public void Vendor_has_no_credit_limit_and_no_purchaser_in_the_api()
    {
        Assert.DoesNotContain(Get("VENDOR").FieldMappings, f => f.DataverseField == "creditlimit");
        Assert.Equal(FieldMappingStatus.Unavailable, Field("VENDOR", "Purchaser Code", "ownerid").Status);
    }

    [Fact]
    public void Salespeople_come_from_licensed_enabled_non_integration_users_only_when_coupled()
    {
        var salespeople = Get("SALESPEOPLE");

        Assert.Equal(SyncDirection.FromIntegrationTable, salespeople.Direction);
        Assert.True(salespeople.SynchOnlyCoupledRecords);
        Assert.Equal(("salespeoplePurchasers", "systemusers"), (salespeople.BcEntitySet, salespeople.DataverseEntitySet));
        Assert.Contains("isintegrationuser eq false", salespeople.IntegrationTableFilter);
        Assert.Contains("islicensed eq true", salespeople.IntegrationTableFilter);
        Assert.Contains("isdisabled eq false", salespeople.IntegrationTableFilter);
        Assert.Equal(("email", SyncDirection.FromIntegrationTable), (Field("SALESPEOPLE", "E-Mail").BcField, Field("SALESPEOPLE", "E-Mail").Direction));
        Assert.Equal("mobilephone", Field("SALESPEOPLE", "Phone No.").DataverseField);
        Assert.Equal(FieldMappingStatus.Disabled, Field("SALESPEOPLE", "Job Title").Status);
    }

    [Fact]
    public void Currency_goes_to_Dataverse_and_matches_on_the_ISO_code()
    {
        var currency = Get("CURRENCY");

        Assert.Equal(SyncDirection.ToIntegrationTable, currency.Direction);
        Assert.True(currency.CreateNewInCaseOfNoMatch);
        Assert.Empty(currency.Dependencies);
        var code = Field("CURRENCY", "Code", "isocurrencycode");
        Assert.True(code.UseForMatchBasedCoupling);
        Assert.Equal("code", code.BcField);
    }

    [Fact]
    public void Contacts_are_persons_of_a_company_and_depend_on_customers_and_vendors()
    {
        var contact = Get("CONTACT");

        Assert.Equal(new[] { "CUSTOMER", "VENDOR" }, contact.Dependencies);
        Assert.Contains("type eq 'Person'", contact.TableFilter);
        Assert.Contains("companyNumber ne ''", contact.TableFilter);
        Assert.Contains("_parentcustomerid_value ne null", contact.IntegrationTableFilter);
        foreach (var caption in new[] { "First Name", "Middle Name", "Surname", "Fax No.", "Pager" })
        {
            Assert.Equal(FieldMappingStatus.Unavailable, Field("CONTACT", caption).Status);
        }

        Assert.Equal("Person", Field("CONTACT", "Type").ConstantValue);
        Assert.Equal("CUSTOMER|VENDOR", Field("CONTACT", "Company No.").LookupMapping);
    }

    [Fact]
    public void Every_filter_parses_and_every_field_mapping_is_complete()
    {
        foreach (var mapping in StandardMappings.All())
        {
            foreach (var filter in new[] { mapping.TableFilter, mapping.IntegrationTableFilter }.OfType<string>())
            {
                FilterExpression.Parse(filter);
            }

            Assert.Equal(Enumerable.Range(1, mapping.FieldMappings.Count), mapping.FieldMappings.Select(f => f.No));
            Assert.All(mapping.FieldMappings, f => Assert.Equal(mapping.Name, f.MappingName));
            foreach (var field in mapping.FieldMappings.Where(f => f.Status != FieldMappingStatus.Unavailable))
            {
                Assert.True(field.BcField is not null || field.ConstantValue is not null, $"{field} has no BC side");
                Assert.True(field.DataverseField is not null || field.ConstantValue is not null, $"{field} has no Dataverse side");
            }

            Assert.All(mapping.FieldMappings.Where(f => f.Status == FieldMappingStatus.Unavailable), f => Assert.False(string.IsNullOrWhiteSpace(f.Note)));
            Assert.NotEmpty(mapping.FieldMappingsFor(mapping.Direction == SyncDirection.Bidirectional ? SyncDirection.ToIntegrationTable : mapping.Direction));
        }
    }

    private static (string?, SyncDirection, FieldMappingStatus) Project(IntegrationFieldMapping field) => (field.BcField, field.Direction, field.Status);
}
