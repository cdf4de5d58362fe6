
namespace CrmSync.Sandbox.Seed;

/// <summary>
/// The sample tenant: a Graph tenant with a verified and an unverified domain and Dynamics 365 SKUs with
/// limited seats; a Dataverse org with two business units, the standard roles per business unit, an
/// admin, a setup application user and some accounts/contacts that match BC records; and a BC company
/// with currencies, salespeople, customers, vendors and contacts (some blocked). Scalable for benchmarks.
/// </summary>
public sealed partial class SampleData
{
    /// <summary>BC's integration role id, "Business Central Dataverse Integration" (docs/reference/integration.md, key findings).</summary>
    public static readonly Guid IntegrationRoleId = Guid.Parse("a2b18661-9ff5-e911-a812-000d3a0b9028");

    /// <summary>SKU ids from the licensing service plan reference (docs/reference/integration.md §F.2).</summary>
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
    public SandboxIdentity IntegrationApp => IntegrationApps[0];

    /// <summary>Every integration application, the first being <see cref="IntegrationApp"/>: the pool a connection may spread its load over.</summary>
    public IReadOnlyList<SandboxIdentity> IntegrationApps { get; private set; } = Array.Empty<SandboxIdentity>();

    /// <summary>An ordinary licensed salesperson.</summary>
    public SandboxIdentity OrdinaryUser { get; private set; } = null!;

    public Guid CompanyId { get; private set; }

    public Guid RootBusinessUnitId { get; private set; }

    public Guid SalesBusinessUnitId { get; private set; }

    public Guid BaseCurrencyId { get; private set; }

    public static SampleData Seed(SandboxHost host, int extraCustomers = 0, int extraAccounts = 0, int extraSalespeople = 0, int integrationApps = 4)
    {
        var data = new SampleData(host);
        data.SeedGraph(extraSalespeople, integrationApps);
        data.SeedDataverse();
        data.SeedBusinessCentral();
        data.SeedExtra(extraCustomers, extraAccounts);
        data.SeedSalesTeam(extraSalespeople);
        return data;
    }

}
