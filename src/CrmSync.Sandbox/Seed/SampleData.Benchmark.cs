using System.Globalization;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Sandbox.Seed;

/// <summary>Benchmark scale: generated customers and accounts, and a large sales team.</summary>
public sealed partial class SampleData
{
    // ---- Benchmark scale ------------------------------------------------------------------------

    // Generated records carry a history, as a real table does: one change every 30 seconds up to now, oldest first.
    private static readonly TimeSpan ExtraRecordSpacing = TimeSpan.FromSeconds(30);

    private void SeedExtra(int customers, int accounts)
    {
        if (customers > 0)
        {
            var bc = _host.BusinessCentral;
            var table = bc.Table(CompanyId, BcSchemas.Customers);
            var schema = table.Schema;
            var currencies = bc.Table(CompanyId, BcSchemas.Currencies);
            var eur = currencies.Rows.First(r => (string?)r.Values[currencies.Schema.IndexOf("code")] == "EUR");
            var now = JsonValues.Truncate(_host.Clock.UtcNow, DateFormat.Milliseconds);
            lock (bc.Store.Sync)
            {
                for (var i = 1; i <= customers; i++)
                {
                    var values = new object?[schema.Columns.Count];
                    for (var c = 0; c < values.Length; c++)
                    {
                        values[c] = schema.Columns[c].Type switch
                        {
                            ColumnType.String => string.Empty,
                            ColumnType.Guid => Guid.Empty,
                            ColumnType.Decimal => 0m,
                            ColumnType.Bool => false,
                            _ => null,
                        };
                    }

                    void Set(string column, object? value) => values[schema.IndexOf(column)] = value;
                    Set("id", Guid.NewGuid());
                    Set("number", "BM" + i.ToString("D7", CultureInfo.InvariantCulture));
                    Set("displayName", $"Benchmark Customer {i:D7}");
                    Set("type", "Company");
                    Set("addressLine1", $"{i} Benchmark Road");
                    Set("city", Cities[i % Cities.Length]);
                    Set("country", "US");
                    Set("postalCode", (10000 + (i % 89999)).ToString(CultureInfo.InvariantCulture));
                    Set("phoneNumber", "+1 555 " + (i % 10000).ToString("D4", CultureInfo.InvariantCulture));
                    Set("email", $"customer{i}@benchmark.example");
                    Set("creditLimit", 1000m * (i % 50));
                    Set("blocked", BcSchemas.BlankOption);
                    if (i % 3 == 0)
                    {
                        Set("currencyCode", "EUR");
                        Set("currencyId", eur.Values[currencies.Schema.KeyIndex]);
                    }

                    Set("lastModifiedDateTime", now - ExtraRecordSpacing * (customers - i));
                    table.Put(new Row(values, bc.Store.NextVersion(), Admin.ObjectId));
                }
            }
        }

        if (accounts > 0)
        {
            var dv = _host.Dataverse;
            var owner = Lookup(DataverseSchemas.SystemUsers, Guid.Parse("c0000000-0000-4000-8000-000000000001"));
            lock (dv.Store.Sync)
            {
                for (var i = 1; i <= accounts; i++)
                {
                    DvInsert(DataverseSchemas.Accounts, Guid.NewGuid(), new()
                    {
                        ["name"] = $"Benchmark Account {i:D7}", ["customertypecode"] = 3L, ["address1_city"] = Cities[i % Cities.Length],
                        ["telephone1"] = "+1 555 " + (i % 10000).ToString("D4", CultureInfo.InvariantCulture), ["emailaddress1"] = $"account{i}@benchmark.example",
                        ["ownerid"] = owner, ["transactioncurrencyid"] = Lookup(DataverseSchemas.Currencies, BaseCurrencyId),
                    }, owner.Id, _host.Clock.UtcNow - ExtraRecordSpacing * (accounts - i));
                }
            }
        }
    }

    // BC salespeople whose people are not in the tenant yet: what Import-Salesperson brings in.
    private void SeedSalesTeam(int count)
    {
        var bc = _host.BusinessCentral;
        lock (bc.Store.Sync)
        {
            for (var i = 1; i <= count; i++)
            {
                var number = i.ToString("D5", CultureInfo.InvariantCulture);
                BcWrite(BcSchemas.Salespeople, new { code = "SP" + number, displayName = "Sales Person " + number, email = $"sales{number}@{VerifiedDomain}", jobTitle = "Sales Representative" });
            }
        }
    }

    private static readonly string[] Cities = { "Atlanta", "Boston", "Chicago", "Denver", "Houston", "Miami", "Phoenix", "Seattle" };
}
