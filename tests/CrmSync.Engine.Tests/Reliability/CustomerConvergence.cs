using CrmSync.Mapping;
using CrmSync.Sandbox.Core;
using CrmSync.Sandbox.Hosting;
using CrmSync.State;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// What "converged" means for the CUSTOMER mapping, read from both services and the state store: every record in scope
/// coupled exactly once, nothing created twice, both sides equal on every plainly mapped field, nothing pending.
/// </summary>
internal static class CustomerConvergence
{
    /// <summary>The BC customers and Dataverse accounts that exist now (before the syncs under test).</summary>
    public static (HashSet<Guid> Customers, HashSet<Guid> Accounts) Ids(SandboxHost host) =>
        (Rows(host, "BusinessCentral", "customers").Select(r => (Guid)r["id"]!).ToHashSet(), Rows(host, "Dataverse", "accounts").Select(r => (Guid)r["accountid"]!).ToHashSet());

    public static List<Dictionary<string, object?>> Rows(SandboxHost host, string service, string set)
    {
        var table = service == "Dataverse" ? host.Dataverse.Table(set) : host.BusinessCentral.Table(host.Sample!.CompanyId, set);
        var store = service == "Dataverse" ? host.Dataverse.Store : host.BusinessCentral.Store;
        lock (store.Sync)
        {
            return table.Rows.Select(r => table.Schema.Columns.Select((c, i) => (c.Name, Value: r.Values[i])).ToDictionary(x => x.Name, x => x.Value)).ToList();
        }
    }

    /// <summary>The customers (BusinessCentral) or accounts (Dataverse) by id: one read for many lookups.</summary>
    public static Dictionary<Guid, Dictionary<string, object?>> RowsById(SandboxHost host, string service) => service == "Dataverse"
        ? Rows(host, service, "accounts").ToDictionary(r => (Guid)r["accountid"]!)
        : Rows(host, service, "customers").ToDictionary(r => (Guid)r["id"]!);

    public static Dictionary<string, object?> Row(SandboxHost host, string service, string set, Guid id)
    {
        var key = service == "Dataverse" ? host.Dataverse.Table(set).Schema.Key : "id";
        return Rows(host, service, set).Single(r => Equals(r[key], id));
    }

    /// <summary>
    /// Changes 2 % of the coupled customers as the admin, each on one side only (its id decides which): a record changed on
    /// both sides between two runs is a genuine conflict (BC fails it under UpdateConflictResolution None), which is not
    /// what the kill tests are about. Returns what each changed record must hold afterwards (a lost update would undo it).
    /// </summary>
    public static List<(string Service, Guid Id, string Field, string Value)> ChangeEitherSide(SandboxHost host, StateStore store, Random random, string label)
    {
        var expected = new List<(string, Guid, string, string)>();
        foreach (var coupling in store.Couplings.GetAll(StandardMappings.Customer).Where(_ => random.NextDouble() < 0.02))
        {
            var path = $"companies({host.Sample!.CompanyId})/customers({coupling.BcId})";
            var bc = coupling.BcId.GetHashCode() % 2 == 0;
            var value = bc ? label : $"+47 {label} {coupling.DataverseId.ToString("N")[..5]}";
            var response = bc
                ? host.Invoke("BusinessCentral", host.Sample.Admin, "PATCH", path, new { city = value }, new Dictionary<string, string> { ["If-Match"] = "*" })
                : host.Invoke("Dataverse", host.Sample.Admin, "PATCH", $"accounts({coupling.DataverseId})", new { telephone1 = value },
                    new Dictionary<string, string> { ["If-Match"] = "*" });
            Xunit.Assert.True(response.Status is 200 or 204, response.BodyText);
            expected.Add(bc ? ("BusinessCentral", coupling.BcId, "city", value) : ("Dataverse", coupling.DataverseId, "telephone1", value));
        }

        return expected;
    }

    /// <param name="equalFields">Check field values too (false when conflicts are expected and checked by the caller).</param>
    /// <param name="partnersMayBeDeleted">A coupled record may be gone on one side (deleted, and not restored by the policy).</param>
    public static void Assert(SandboxHost host, StateStore store, (HashSet<Guid> Customers, HashSet<Guid> Accounts) before, bool equalFields = true, bool partnersMayBeDeleted = false)
    {
        var couplings = store.Couplings.GetAll(StandardMappings.Customer);
        var bcSchema = host.BusinessCentral.Table(host.Sample!.CompanyId, "customers").Schema;
        var customers = Rows(host, "BusinessCentral", "customers");
        var accounts = Rows(host, "Dataverse", "accounts");
        var inScopeCustomers = customers.Where(c => (string?)c["blocked"] == "_x0020_").ToList();
        var inScopeAccounts = accounts.Where(a => Equals(a["statecode"], 0L) && Equals(a["customertypecode"], 3L)).ToList();

        // Every record in scope on either side is coupled exactly once, to a record that exists.
        Xunit.Assert.Equal(couplings.Count, couplings.Select(c => c.BcId).Distinct().Count());
        Xunit.Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
        var coupledBc = couplings.Select(c => c.BcId).ToHashSet();
        var coupledDv = couplings.Select(c => c.DataverseId).ToHashSet();
        Xunit.Assert.Empty(inScopeCustomers.Where(c => !coupledBc.Contains((Guid)c["id"]!)).Select(c => c["number"]));
        Xunit.Assert.Empty(inScopeAccounts.Where(a => !coupledDv.Contains((Guid)a["accountid"]!)).Select(a => a["name"]));

        // No duplicates: every record the syncs created is coupled (a create sent twice leaves an uncoupled twin), and each
        // generated record exists once on each side. (The sample's Adatum and Trey exist on both sides before the first
        // full sync, so without match-based coupling BC's algorithm copies them each way: that is not a duplicate.)
        var orphanCustomers = customers.Where(c => !before.Customers.Contains((Guid)c["id"]!) && !coupledBc.Contains((Guid)c["id"]!)).Select(c => c["displayName"]).ToList();
        var orphanAccounts = accounts.Where(a => !before.Accounts.Contains((Guid)a["accountid"]!) && !coupledDv.Contains((Guid)a["accountid"]!)).Select(a => a["name"]).ToList();
        Xunit.Assert.True(orphanCustomers.Count == 0, "BC customers created but not coupled (duplicates): " + string.Join(", ", orphanCustomers.Take(10)));
        Xunit.Assert.True(orphanAccounts.Count == 0, "Dataverse accounts created but not coupled (duplicates): " + string.Join(", ", orphanAccounts.Take(10)));
        foreach (var (side, names) in new[] { ("BC", customers.Select(c => (string?)c["displayName"])), ("Dataverse", accounts.Select(a => (string?)a["name"])) })
        {
            var twins = names.Where(n => n?.StartsWith("Benchmark ", StringComparison.Ordinal) == true).GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Xunit.Assert.True(twins.Count == 0, $"{side} holds generated records twice: {string.Join(", ", twins.Take(10))}");
        }

        // Equal on every mapped field that copies a value as it is (lookups and option mappings are checked by the sync tests).
        var fields = StandardMappings.Get(StandardMappings.Customer)!.FieldMappings
            .Where(f => f.Status == FieldMappingStatus.Enabled && f.LookupMapping is null && f.ConstantValue is null && f.BcField is not null && f.DataverseField is not null
                        && bcSchema.Find(f.BcField)?.Type == ColumnType.String)
            .ToList();
        Xunit.Assert.True(fields.Count >= 8, "the plain fields of the CUSTOMER mapping");
        var customersById = customers.ToDictionary(c => (Guid)c["id"]!);
        var accountsById = accounts.ToDictionary(a => (Guid)a["accountid"]!);
        foreach (var coupling in couplings)
        {
            if (partnersMayBeDeleted && (!customersById.ContainsKey(coupling.BcId) || !accountsById.ContainsKey(coupling.DataverseId)))
            {
                continue;
            }

            var customer = customersById[coupling.BcId];
            Xunit.Assert.True(accountsById.TryGetValue(coupling.DataverseId, out var account), $"account {coupling.DataverseId} of {customer["number"]} is missing");
            foreach (var field in equalFields ? fields : new())
            {
                Xunit.Assert.True(Text(customer[field.BcField!]) == Text(account![field.DataverseField!]),
                    $"{customer["number"]}: {field.BcField} '{customer[field.BcField!]}' but {field.DataverseField} '{account![field.DataverseField!]}'");
            }
        }

        Xunit.Assert.Empty(store.PendingWrites.GetAll());
    }

    private static string? Text(object? value) => value is string { Length: > 0 } s ? s : null;
}
