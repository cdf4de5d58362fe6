using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Graph;

namespace CrmSync.Sandbox.Seed;

/// <summary>The sample Dataverse organization (business units, roles, users, accounts, contacts) and the environment's user sync from Graph.</summary>
public sealed partial class SampleData
{
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
}
