using CrmSync.Sandbox.BusinessCentral;

namespace CrmSync.Sandbox.Seed;

/// <summary>The sample Business Central company: customers, vendors, contacts, salespeople, currencies.</summary>
public sealed partial class SampleData
{
    // ---- Business Central -----------------------------------------------------------------------

    private void SeedBusinessCentral()
    {
        var bc = _host.BusinessCentral;
        CompanyId = bc.AddCompany("CRONUS USA, Inc.", "CRONUS USA, Inc.");
        lock (bc.Store.Sync)
        {
            foreach (var (code, name, symbol) in new[] { ("CAD", "Canadian dollar", "$"), ("DKK", "Danish krone", "kr"), ("EUR", "Euro", "€"), ("GBP", "Pound Sterling", "£"), ("MXN", "Mexican peso", "$") })
            {
                BcWrite(BcSchemas.Currencies, new { code, displayName = name, symbol, amountDecimalPlaces = "2:2", amountRoundingPrecision = 0.01m });
            }

            foreach (var (code, name, email) in new[]
            {
                ("AH", "Annette Hill", "annette.hill@contoso.com"), ("DC", "Debra Core", "debra.core@contoso.com"), ("JO", "Jim Olive", "jim.olive@contoso.com"),
                ("LT", "Lina Townsend", "lina.townsend@contoso.com"), ("MH", "Marty Horst", "marty.horst@contoso.com"), ("PS", "Peter Saddow", "peter.saddow@contoso.com"),
            })
            {
                BcWrite(BcSchemas.Salespeople, new { code, displayName = name, email, phoneNo = "+1 425 555 01" + code.Length, jobTitle = "Sales Representative" });
            }

            var customers = new[]
            {
                ("C10000", "Adatum Corporation", "Atlanta", "30301", "", "AH", BcSchemas.BlankOption),
                ("C10010", "Trey Research", "Chicago", "60601", "", "JO", BcSchemas.BlankOption),
                ("C10020", "School of Fine Art", "Miami", "33101", "EUR", "LT", BcSchemas.BlankOption),
                ("C10030", "Alpine Ski House", "Denver", "80201", "", "LT", BcSchemas.BlankOption),
                ("C10040", "Relecloud", "Seattle", "98101", "GBP", "AH", BcSchemas.BlankOption),
                ("C10050", "Coho Winery", "Napa", "94558", "", "JO", "All"),
                ("C10060", "Fabrikam, Inc.", "Boston", "02101", "CAD", "DC", BcSchemas.BlankOption),
                ("C10070", "Wide World Importers", "Phoenix", "85001", "", "MH", "Ship"),
                ("C10080", "Litware, Inc.", "Dallas", "75201", "MXN", "AH", BcSchemas.BlankOption),
                ("C10090", "Contoso Pharmaceuticals", "New York", "10001", "DKK", "PS", BcSchemas.BlankOption),
            };
            foreach (var (number, name, city, post, currency, salesperson, blocked) in customers)
            {
                BcWrite(BcSchemas.Customers, new
                {
                    number, displayName = name, type = "Company", addressLine1 = $"{number[1..]} Main Street", city, state = "US", country = "US", postalCode = post,
                    phoneNumber = "+1 555 01" + number[^3..], email = $"info@{name.Split(' ', ',')[0].ToLowerInvariant()}.example", website = $"www.{name.Split(' ', ',')[0].ToLowerInvariant()}.example",
                    salespersonCode = salesperson, creditLimit = 10000m, currencyCode = currency, blocked,
                });
            }

            foreach (var (number, name, city, currency, blocked) in new[]
            {
                ("V10000", "Fabrikam Supplies", "Redmond", "", BcSchemas.BlankOption), ("V10010", "First Up Consultants", "Austin", "", BcSchemas.BlankOption),
                ("V10020", "Graphic Design Institute", "Orlando", "", "All"), ("V10030", "Wingtip Toys", "Tampa", "", BcSchemas.BlankOption),
                ("V10040", "Northwind Traders", "Seattle", "EUR", BcSchemas.BlankOption),
            })
            {
                BcWrite(BcSchemas.Vendors, new { number, displayName = name, city, country = "US", email = $"sales@{name.Split(' ')[0].ToLowerInvariant()}.example", currencyCode = currency, blocked });
            }

            foreach (var (name, company, email) in new[]
            {
                ("Robert Townes", "Adatum Corporation", "robert.townes@adatum.example"), ("Helen Ray", "Trey Research", "helen.ray@treyresearch.example"),
                ("Sara Davis", "Relecloud", "sara.davis@relecloud.example"), ("Jeffery Smith", "Fabrikam Supplies", "jeffery.smith@fabrikam.example"),
                ("Ian Palangio", "Northwind Traders", "ian.palangio@northwind.example"), ("Kim Abercrombie", "", "kim.abercrombie@example.com"),
            })
            {
                BcWrite(BcSchemas.Contacts, new { type = "Person", displayName = name, companyNumber = company.Length == 0 ? string.Empty : CompanyContactNumber(company), email, jobTitle = "Purchasing Manager" });
            }
        }
    }

    private string CompanyContactNumber(string companyName)
    {
        var contacts = _host.BusinessCentral.Table(CompanyId, BcSchemas.Contacts);
        var schema = contacts.Schema;
        return (string)contacts.Rows.First(r => (string?)r.Values[schema.IndexOf("displayName")] == companyName && (string?)r.Values[schema.IndexOf("type")] == "Company")
            .Values[schema.IndexOf("number")]!;
    }

    private Row BcWrite(string set, object body)
    {
        var bc = _host.BusinessCentral;
        using var document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(body));
        return bc.Write(CompanyId, bc.Table(CompanyId, set), null, document.RootElement, Admin);
    }
}
