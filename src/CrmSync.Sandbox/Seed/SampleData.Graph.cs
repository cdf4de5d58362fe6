using System.Text.Json.Nodes;
using CrmSync.Sandbox.Graph;

namespace CrmSync.Sandbox.Seed;

/// <summary>The sample tenant in Graph: its people and their licenses.</summary>
public sealed partial class SampleData
{
    // ---- Graph ----------------------------------------------------------------------------------

    private void SeedGraph(int extraSeats, int integrationApps)
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
        // The first keeps the ids it always had; the others follow it (…a2, …a3, … in the last digits).
        IntegrationApps = Enumerable.Range(0, integrationApps).Select(i => _host.Identities.Add(new SandboxIdentity
        {
            ObjectId = Guid.Parse($"0a11ce00-0000-4000-8000-0000000000{0xa2 + i:x2}"),
            DisplayName = i == 0 ? "Business Central Integration" : $"Business Central Integration {i + 1}",
            Kind = IdentityKind.Application,
            ClientId = Guid.Parse($"5e7a0000-0000-4000-8000-0000000000{0xa2 + i:x2}"),
            ClientSecret = i == 0 ? "sandbox-integration-secret" : $"sandbox-integration-secret-{i + 1}",
        })).ToList();
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
}
