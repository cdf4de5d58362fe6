using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Graph;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;

namespace CrmSync.Sandbox.Seed;

/// <summary>
/// The sample tenant: a Graph tenant with a verified and an unverified domain and Dynamics 365 SKUs with
/// limited seats; a Dataverse org with two business units, the standard roles per business unit, an
/// admin, a setup application user and some accounts/contacts that match BC records; and a BC company
/// with currencies, salespeople, customers, vendors and contacts (some blocked). Scalable for benchmarks.
/// </summary>
public sealed class SampleData
{
    /// <summary>BC's integration role id, "Business Central Dataverse Integration" (reference/domain.md headline findings).</summary>
    public static readonly Guid IntegrationRoleId = Guid.Parse("a2b18661-9ff5-e911-a812-000d3a0b9028");

    /// <summary>SKU ids from the licensing service plan reference (reference/domain.md §F.2).</summary>
    public static readonly Guid Dynamics365Plan1SkuId = Guid.Parse("ea126fc5-a19e-42e2-a731-da9d437bffcf");
    public static readonly Guid Dynamics365SalesSkuId = Guid.Parse("1e1a282c-9c54-43a2-9310-98ef728faace");
    public static readonly Guid Office365E3SkuId = Guid.Parse("6fd2c87f-b296-42f0-b197-1e91e994b900");

    public const string VerifiedDomain = "contoso.com";
    public const string InitialDomain = "contoso.onmicrosoft.com";
    public const string UnverifiedDomain = "fabrikam.com";

    public const string SystemAdministrator = "System Administrator";
    public const string SystemCustomizer = "System Customizer";
    public const string SalesManager = "Sales Manager";
    public const string Salesperson = "Salesperson";
    public const string IntegrationRole = "Business Central Dataverse Integration";

    private readonly SandboxHost _host;

    private SampleData(SandboxHost host)
    {
        _host = host;
    }

    /// <summary>Person with System Administrator in Dataverse and full access in BC.</summary>
    public SandboxIdentity Admin { get; private set; } = null!;

    /// <summary>Application (client credentials) registered as an application user with System Administrator: what Connect-CrmSync uses.</summary>
    public SandboxIdentity SetupApp { get; private set; } = null!;

    /// <summary>Application for the integration user; not yet an application user in Dataverse (New-IntegrationUser creates it).</summary>
    public SandboxIdentity IntegrationApp { get; private set; } = null!;

    /// <summary>An ordinary licensed salesperson.</summary>
    public SandboxIdentity OrdinaryUser { get; private set; } = null!;

    public Guid CompanyId { get; private set; }

    public Guid RootBusinessUnitId { get; private set; }

    public Guid SalesBusinessUnitId { get; private set; }

    public Guid BaseCurrencyId { get; private set; }

    public static SampleData Seed(SandboxHost host, int extraCustomers = 0, int extraAccounts = 0, int extraSalespeople = 0)
    {
        var data = new SampleData(host);
        data.SeedGraph(extraSalespeople);
        data.SeedDataverse();
        data.SeedBusinessCentral();
        data.SeedExtra(extraCustomers, extraAccounts);
        data.SeedSalesTeam(extraSalespeople);
        return data;
    }

    // ---- Graph ----------------------------------------------------------------------------------

    private void SeedGraph(int extraSeats)
    {
        var graph = _host.Graph;
        graph.Domains.Add(new TenantDomain(InitialDomain, IsVerified: true, IsInitial: true));
        graph.Domains.Add(new TenantDomain(VerifiedDomain, IsVerified: true, IsDefault: true));
        graph.Domains.Add(new TenantDomain(UnverifiedDomain, IsVerified: false));
        graph.Skus.Add(new SubscribedSku
        {
            SkuId = Dynamics365Plan1SkuId,
            SkuPartNumber = "DYN365_ENTERPRISE_PLAN1",
            Enabled = 40 + extraSeats,
            GrantsDataverseAccess = true,
            ServicePlans = new[] { (Guid.Parse("d56f3deb-50d8-465a-bedb-f079817ccac1"), "DYN365_ENTERPRISE_P1") },
        });
        graph.Skus.Add(new SubscribedSku
        {
            SkuId = Dynamics365SalesSkuId,
            SkuPartNumber = "DYN365_ENTERPRISE_SALES",
            Enabled = 5,
            GrantsDataverseAccess = true,
            ServicePlans = new[] { (Guid.Parse("2da8e897-7791-486b-b08f-cc63c8129df7"), "DYN365_ENTERPRISE_SALES") },
        });
        graph.Skus.Add(new SubscribedSku { SkuId = Office365E3SkuId, SkuPartNumber = "ENTERPRISEPACK", Enabled = 100 });

        Admin = AddPerson(Guid.Parse("0a11ce00-0000-4000-8000-000000000001"), "Alex Admin", "Alex", "Admin", "admin@" + InitialDomain, "Sandbox-Admin-1!", Dynamics365Plan1SkuId, Office365E3SkuId);
        OrdinaryUser = AddPerson(Guid.Parse("0a11ce00-0000-4000-8000-000000000002"), "Olivia Ordinary", "Olivia", "Ordinary", "olivia@" + VerifiedDomain, "Sandbox-User-1!", Dynamics365Plan1SkuId);
        SetupApp = _host.Identities.Add(new SandboxIdentity
        {
            ObjectId = Guid.Parse("0a11ce00-0000-4000-8000-0000000000a1"),
            DisplayName = "CrmSync Setup",
            Kind = IdentityKind.Application,
            ClientId = Guid.Parse("5e7a0000-0000-4000-8000-0000000000a1"),
            ClientSecret = "sandbox-setup-secret",
        });
        IntegrationApp = _host.Identities.Add(new SandboxIdentity
        {
            ObjectId = Guid.Parse("0a11ce00-0000-4000-8000-0000000000a2"),
            DisplayName = "Business Central Integration",
            Kind = IdentityKind.Application,
            ClientId = Guid.Parse("5e7a0000-0000-4000-8000-0000000000a2"),
            ClientSecret = "sandbox-integration-secret",
        });
    }

    private SandboxIdentity AddPerson(Guid id, string displayName, string givenName, string surname, string upn, string? password, params Guid[] skus)
    {
        var schema = GraphService.UserSchema;
        var values = new object?[schema.Columns.Count];
        void Set(string column, object? value) => values[schema.IndexOf(column)] = value;
        Set("id", id);
        Set("userPrincipalName", upn);
        Set("displayName", displayName);
        Set("givenName", givenName);
        Set("surname", surname);
        Set("mailNickname", upn[..upn.IndexOf('@')]);
        Set("mail", upn);
        Set("accountEnabled", true);
        Set("usageLocation", "US");
        Set("businessPhones", new JsonArray());
        Set("otherMails", new JsonArray());
        Set("createdDateTime", JsonValues.Truncate(_host.Clock.UtcNow, DateFormat.Seconds));
        var licenses = new JsonArray();
        foreach (var sku in skus)
        {
            licenses.Add(new JsonObject { ["disabledPlans"] = new JsonArray(), ["skuId"] = sku.ToString() });
            _host.Graph.Skus.First(s => s.SkuId == sku).Consumed++;
        }

        Set("assignedLicenses", licenses);
        lock (_host.Graph.Store.Sync)
        {
            _host.Graph.Users.Put(new Row(values, _host.Graph.Store.NextVersion(), Guid.Empty));
        }

        return _host.Identities.Add(new SandboxIdentity { ObjectId = id, DisplayName = displayName, Kind = IdentityKind.User, UserPrincipalName = upn, Password = password });
    }

    // ---- Dataverse ------------------------------------------------------------------------------

    private void SeedDataverse()
    {
        var dv = _host.Dataverse;
        dv.RolePrivileges[SystemAdministrator] = new HashSet<string> { "*" };
        var reads = new[] { "prvReadUser", "prvReadRole", "prvReadBusinessUnit", "prvReadOrganization", "prvReadTeam", "prvReadTransactionCurrency" };
        string[] Crud(params string[] entities) => entities.SelectMany(e => new[] { $"prvCreate{e}", $"prvRead{e}", $"prvWrite{e}", $"prvDelete{e}" }).ToArray();
        dv.RolePrivileges[SystemCustomizer] = reads.Concat(new[] { "prvReadAccount", "prvReadContact", "prvCreateAccount", "prvWriteAccount", "prvCreateContact", "prvWriteContact" }).ToHashSet();
        dv.RolePrivileges[SalesManager] = reads.Concat(Crud("Account", "Contact")).ToHashSet();
        dv.RolePrivileges[Salesperson] = reads.Concat(new[] { "prvCreateAccount", "prvReadAccount", "prvWriteAccount", "prvCreateContact", "prvReadContact", "prvWriteContact" }).ToHashSet();
        dv.RolePrivileges[IntegrationRole] = reads.Concat(Crud("Account", "Contact", "TransactionCurrency")).Append("prvWriteUser").ToHashSet();

        var system = Guid.Empty;
        lock (dv.Store.Sync)
        {
            BaseCurrencyId = Guid.Parse("b5ec0000-0000-4000-8000-000000000001");
            DvInsert(DataverseSchemas.Currencies, BaseCurrencyId, new() { ["isocurrencycode"] = "USD", ["currencyname"] = "US Dollar", ["currencysymbol"] = "$", ["exchangerate"] = 1m, ["currencyprecision"] = 2L }, system);
            DvInsert(DataverseSchemas.Currencies, Guid.Parse("b5ec0000-0000-4000-8000-000000000002"), new() { ["isocurrencycode"] = "EUR", ["currencyname"] = "Euro", ["currencysymbol"] = "€", ["exchangerate"] = 0.92m, ["currencyprecision"] = 2L }, system);
            DvInsert(DataverseSchemas.Organizations, dv.OrganizationId, new() { ["name"] = "Contoso", ["basecurrencyid"] = Lookup(DataverseSchemas.Currencies, BaseCurrencyId) }, system);

            RootBusinessUnitId = Guid.Parse("b0000000-0000-4000-8000-000000000001");
            SalesBusinessUnitId = Guid.Parse("b0000000-0000-4000-8000-000000000002");
            DvInsert(DataverseSchemas.BusinessUnits, RootBusinessUnitId, new() { ["name"] = "Contoso" }, system);
            DvInsert(DataverseSchemas.BusinessUnits, SalesBusinessUnitId, new() { ["name"] = "Contoso Sales Europe", ["parentbusinessunitid"] = Lookup(DataverseSchemas.BusinessUnits, RootBusinessUnitId) }, system);

            // Roles are copied per business unit: same name, different roleid, parentrootroleid → the root copy (§D.8).
            var rootRoles = new Dictionary<string, Guid>
            {
                [SystemAdministrator] = Guid.Parse("a0000000-0000-4000-8000-000000000001"),
                [SystemCustomizer] = Guid.Parse("a0000000-0000-4000-8000-000000000002"),
                [SalesManager] = Guid.Parse("a0000000-0000-4000-8000-000000000003"),
                [Salesperson] = Guid.Parse("a0000000-0000-4000-8000-000000000004"),
                [IntegrationRole] = IntegrationRoleId,
            };
            var n = 0;
            foreach (var (name, rootId) in rootRoles)
            {
                DvInsert(DataverseSchemas.Roles, rootId, new() { ["name"] = name, ["businessunitid"] = Lookup(DataverseSchemas.BusinessUnits, RootBusinessUnitId) }, system);
                var copy = Guid.Parse($"a1000000-0000-4000-8000-{++n:D12}");
                DvInsert(DataverseSchemas.Roles, copy, new()
                {
                    ["name"] = name,
                    ["businessunitid"] = Lookup(DataverseSchemas.BusinessUnits, SalesBusinessUnitId),
                    ["parentrootroleid"] = Lookup(DataverseSchemas.Roles, rootId),
                    ["parentroleid"] = Lookup(DataverseSchemas.Roles, rootId),
                }, system);
            }

            var adminUser = DvUser(Guid.Parse("c0000000-0000-4000-8000-000000000001"), Admin, "Alex", "Admin", RootBusinessUnitId);
            dv.AssignRole(adminUser, rootRoles[SystemAdministrator]);
            var setupUser = DvInsert(DataverseSchemas.SystemUsers, Guid.Parse("c0000000-0000-4000-8000-0000000000a1"), new()
            {
                ["applicationid"] = SetupApp.ClientId, ["firstname"] = "#", ["lastname"] = "CrmSync Setup", ["internalemailaddress"] = "crmsync-setup@" + InitialDomain,
                ["domainname"] = "crmsync-setup@" + InitialDomain, ["isdisabled"] = false, ["islicensed"] = false, ["isintegrationuser"] = false, ["accessmode"] = 4L,
                ["businessunitid"] = Lookup(DataverseSchemas.BusinessUnits, RootBusinessUnitId),
            }, system);
            dv.AssignRole(setupUser, rootRoles[SystemAdministrator]);
            var ordinary = DvUser(Guid.Parse("c0000000-0000-4000-8000-000000000002"), OrdinaryUser, "Olivia", "Ordinary", SalesBusinessUnitId);
            dv.AssignRole(ordinary, Guid.Parse("a1000000-0000-4000-8000-000000000004"));

            // Salespeople that exist in Dataverse (licensed) and match BC salespeople by e-mail.
            var i = 10;
            foreach (var (first, last) in new[] { ("Annette", "Hill"), ("Jim", "Olive"), ("Lina", "Townsend") })
            {
                var upn = $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}@{VerifiedDomain}";
                var person = AddPerson(Guid.Parse($"0a11ce00-0000-4000-8000-{++i:D12}"), $"{first} {last}", first, last, upn, "Sandbox-User-1!", Dynamics365Plan1SkuId);
                var user = DvUser(Guid.Parse($"c0000000-0000-4000-8000-{i:D12}"), person, first, last, RootBusinessUnitId);
                dv.AssignRole(user, rootRoles[Salesperson]);
            }

            var owner = Lookup(DataverseSchemas.SystemUsers, adminUser);
            Guid Account(string name, long type, string city, string? email = null) => DvInsert(DataverseSchemas.Accounts, Guid.NewGuid(), new()
            {
                ["name"] = name, ["customertypecode"] = type, ["address1_city"] = city, ["emailaddress1"] = email, ["ownerid"] = owner,
                ["transactioncurrencyid"] = Lookup(DataverseSchemas.Currencies, BaseCurrencyId),
            }, adminUser);
            var adatum = Account("Adatum Corporation", 3, "Atlanta", "info@adatum.example");
            Account("Trey Research", 3, "Chicago");
            Account("Northwind Traders", 11, "Seattle");
            var blueYonder = Account("Blue Yonder Airlines", 3, "Houston", "contact@blueyonder.example");
            Account("Proseware, Inc.", 3, "Portland");
            Account("Tailspin Toys", 11, "Madison");
            Guid ContactRow(string first, string last, Guid? parent, string? email) => DvInsert(DataverseSchemas.Contacts, Guid.NewGuid(), new()
            {
                ["firstname"] = first, ["lastname"] = last, ["emailaddress1"] = email, ["ownerid"] = owner,
                ["parentcustomerid"] = parent is null ? null : Lookup(DataverseSchemas.Accounts, parent.Value),
            }, adminUser);
            ContactRow("Robert", "Townes", adatum, "robert.townes@adatum.example");
            ContactRow("Molly", "Clark", blueYonder, "molly.clark@blueyonder.example");
            ContactRow("Paul", "Cannon", null, "paul.cannon@example.com");
        }
    }

    private Guid DvUser(Guid id, SandboxIdentity identity, string first, string last, Guid businessUnit) =>
        DvInsert(DataverseSchemas.SystemUsers, id, new()
        {
            ["azureactivedirectoryobjectid"] = identity.ObjectId, ["firstname"] = first, ["lastname"] = last, ["domainname"] = identity.UserPrincipalName,
            ["internalemailaddress"] = identity.UserPrincipalName, ["isdisabled"] = false, ["islicensed"] = true, ["isintegrationuser"] = false,
            ["accessmode"] = 0L, ["caltype"] = 0L, ["businessunitid"] = Lookup(DataverseSchemas.BusinessUnits, businessUnit),
        }, Guid.Empty);

    private static LookupValue Lookup(string set, Guid id) => new(id, set);

    private Guid DvInsert(string set, Guid id, Dictionary<string, object?> values, Guid by, DateTimeOffset? modifiedOn = null)
    {
        var dv = _host.Dataverse;
        var table = dv.Table(set);
        var schema = table.Schema;
        var row = new object?[schema.Columns.Count];
        row[schema.KeyIndex] = id;
        foreach (var (column, fixedValue) in new[] { ("statecode", (object)0L), ("statuscode", 1L) })
        {
            if (schema.IndexOf(column) >= 0)
            {
                row[schema.IndexOf(column)] = fixedValue;
            }
        }

        foreach (var (column, value) in values)
        {
            var index = schema.IndexOf(column);
            if (index < 0)
            {
                throw new ArgumentException($"{schema.LogicalName} has no column {column}.");
            }

            row[index] = value;
        }

        DataverseService.ComputeNames(schema, row);
        var now = JsonValues.Truncate(modifiedOn ?? _host.Clock.UtcNow, DateFormat.Seconds);
        var byLookup = new LookupValue(by, DataverseSchemas.SystemUsers);
        row[schema.IndexOf("createdon")] = now;
        row[schema.IndexOf("modifiedon")] = now;
        row[schema.IndexOf("createdby")] = byLookup;
        row[schema.IndexOf("modifiedby")] = byLookup;
        table.Put(new Row(row, dv.Store.NextVersion(), by));
        return id;
    }

    /// <summary>The environment's user sync: creates or updates the systemuser of a (un)licensed Entra user.</summary>
    public void SyncGraphUserToDataverse(Row graphUser, bool licensed)
    {
        var gs = GraphService.UserSchema;
        var objectId = (Guid)graphUser.Values[gs.KeyIndex]!;
        var dv = _host.Dataverse;
        lock (dv.Store.Sync)
        {
            var users = dv.Table(DataverseSchemas.SystemUsers);
            var existing = users.FindUnique(users.Schema.IndexOf("azureactivedirectoryobjectid"), objectId, except: null);
            if (existing is not null)
            {
                var values = (object?[])existing.Values.Clone();
                values[users.Schema.IndexOf("islicensed")] = licensed;
                values[users.Schema.IndexOf("modifiedon")] = JsonValues.Truncate(_host.Clock.UtcNow, DateFormat.Seconds);
                users.Put(new Row(values, dv.Store.NextVersion(), Guid.Empty));
                return;
            }

            if (!licensed)
            {
                return;
            }

            var upn = (string)graphUser.Values[gs.IndexOf("userPrincipalName")]!;
            var display = (string?)graphUser.Values[gs.IndexOf("displayName")] ?? upn;
            var first = (string?)graphUser.Values[gs.IndexOf("givenName")] ?? display.Split(' ')[0];
            var last = (string?)graphUser.Values[gs.IndexOf("surname")] ?? (display.Contains(' ') ? display[(display.IndexOf(' ') + 1)..] : display);
            DvInsert(DataverseSchemas.SystemUsers, Guid.NewGuid(), new()
            {
                ["azureactivedirectoryobjectid"] = objectId, ["firstname"] = first, ["lastname"] = last, ["domainname"] = upn,
                ["internalemailaddress"] = (string?)graphUser.Values[gs.IndexOf("mail")] ?? upn, ["isdisabled"] = graphUser.Values[gs.IndexOf("accountEnabled")] is false,
                ["islicensed"] = true, ["isintegrationuser"] = false, ["accessmode"] = 0L, ["caltype"] = 0L, ["jobtitle"] = graphUser.Values[gs.IndexOf("jobTitle")],
                ["businessunitid"] = Lookup(DataverseSchemas.BusinessUnits, RootBusinessUnitId),
            }, Guid.Empty);
        }
    }

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
