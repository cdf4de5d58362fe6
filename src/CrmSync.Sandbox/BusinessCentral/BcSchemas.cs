
namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>
/// BC API v2.0 entities the sandbox emulates, with their documented JSON names and field lengths
/// (docs/reference/integration.md §E.2; APIV2 pages 30009, 30010, 30071, 30019, 30075).
/// </summary>
public static class BcSchemas
{
    public const string Customers = "customers";
    public const string Vendors = "vendors";
    public const string Contacts = "contacts";
    public const string Currencies = "currencies";
    public const string Salespeople = "salespeoplePurchasers";
    public const string ContactsInformation = "contactsInformation";

    /// <summary>The company's entity sets the sandbox serves.</summary>
    public static IReadOnlyList<string> Emulated { get; } = new[] { Customers, Vendors, Contacts, Currencies, Salespeople, ContactsInformation };

    /// <summary>
    /// Entity sets of API v2.0 that clients use and the sandbox does not have (Microsoft's API v2.0 reference): refused by
    /// name, never answered as if they did not exist.
    /// </summary>
    public static IReadOnlySet<string> DocumentedNotEmulated { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "items", "itemCategories", "itemVariants", "employees", "salesInvoices", "salesOrders", "salesQuotes", "salesCreditMemos", "salesShipments",
        "purchaseInvoices", "purchaseOrders", "purchaseReceipts", "generalLedgerEntries", "journals", "accounts", "bankAccounts", "countriesRegions",
        "paymentTerms", "paymentMethods", "shipmentMethods", "unitsOfMeasure", "dimensions", "dimensionValues", "taxGroups", "taxAreas", "locations",
        "projects", "opportunities", "customerPaymentJournals", "vendorPaymentJournals", "companyInformation", "currencyExchangeRates", "subscriptions",
    };

    /// <summary>How BC API v2.0 spells a blank option (" ") in JSON and filters: the XML-encoded space.</summary>
    public const string BlankOption = "_x0020_";

    /// <summary>An option (enum) property: its JSON values are the encoded member names, the first is the default.</summary>
    private static Column E(string name, params string[] members) => new(name, ColumnType.String) { EnumMembers = members };

    private static Column S(string name, int max) => new(name, ColumnType.String) { MaxLength = max };

    private static Column RoS(string name) => new(name, ColumnType.String) { ReadOnly = true };

    private static Column G(string name) => new(name, ColumnType.Guid);

    private static Column D(string name) => new(name, ColumnType.Decimal);

    private static Column B(string name) => new(name, ColumnType.Bool);

    private static Column Modified() => new("lastModifiedDateTime", ColumnType.DateTime) { ReadOnly = true };

    private static IEnumerable<Column> Address() => new[]
    {
        S("addressLine1", 100), S("addressLine2", 50), S("city", 30), S("state", 30), S("country", 10), S("postalCode", 20),
    };

    public static EntitySchema Company { get; } = new("company", "companies", "id", new[]
    {
        G("id"), RoS("systemVersion"), S("name", 30), S("displayName", 250), S("businessProfileId", 250),
        new Column("systemCreatedAt", ColumnType.DateTime) { ReadOnly = true }, G("systemCreatedBy") with { ReadOnly = true },
        new Column("systemModifiedAt", ColumnType.DateTime) { ReadOnly = true }, G("systemModifiedBy") with { ReadOnly = true },
    })
    { DefaultOrder = "name" };

    public static EntitySchema Customer { get; } = new("customer", Customers, "id", new[]
    {
        G("id"), S("number", 20), S("displayName", 100), E("type", "Company", "Person") }.Concat(Address()).Concat(new[]
    {
        S("phoneNumber", 30), S("email", 80), S("website", 80), S("salespersonCode", 20), D("balanceDue") with { ReadOnly = true }, D("creditLimit"),
        B("taxLiable"), G("taxAreaId"), RoS("taxAreaDisplayName"), S("taxRegistrationNumber", 20), G("currencyId"), S("currencyCode", 10),
        G("paymentTermsId"), G("shipmentMethodId"), G("paymentMethodId"), E("blocked", BlankOption, "Ship", "Invoice", "All"), Modified(),
    }))
    { UniqueColumns = new[] { "number" }, DefaultOrder = "number" };

    public static EntitySchema Vendor { get; } = new("vendor", Vendors, "id", new[]
    {
        G("id"), S("number", 20), S("displayName", 100) }.Concat(Address()).Concat(new[]
    {
        S("phoneNumber", 30), S("email", 80), S("website", 80), S("taxRegistrationNumber", 20), G("currencyId"), S("currencyCode", 10),
        S("irs1099Code", 10), G("paymentTermsId"), G("paymentMethodId"), B("taxLiable"), E("blocked", BlankOption, "Payment", "All"), D("balance") with { ReadOnly = true }, Modified(),
    }))
    { UniqueColumns = new[] { "number" }, DefaultOrder = "number" };

    public static EntitySchema Contact { get; } = new("contact", Contacts, "id", new[]
    {
        G("id"), S("number", 20), E("type", "Company", "Person"), S("displayName", 100), S("jobTitle", 30), S("companyNumber", 20), RoS("companyName"),
        RoS("contactBusinessRelation") }.Concat(Address()).Concat(new[]
    {
        S("phoneNumber", 30), S("mobilePhoneNumber", 30), S("email", 80), S("website", 80), RoS("searchName"), B("privacyBlocked"),
        S("taxRegistrationNumber", 20), new Column("lastInteractionDate", ColumnType.DateTime) { ReadOnly = true, DateOnly = true }, Modified(),
    }))
    { UniqueColumns = new[] { "number" }, DefaultOrder = "number" };

    public static EntitySchema Currency { get; } = new("currency", Currencies, "id", new[]
    {
        G("id"), S("code", 10), S("displayName", 30), S("symbol", 10), S("amountDecimalPlaces", 5), D("amountRoundingPrecision"), Modified(),
    })
    { UniqueColumns = new[] { "code" }, RequiredOnCreate = new[] { "code" }, DefaultOrder = "code" };

    public static EntitySchema Salesperson { get; } = new("salespersonPurchaser", Salespeople, "id", new[]
    {
        G("id"), S("code", 20), S("displayName", 50), S("email", 80), S("email2", 80), S("phoneNo", 30), S("jobTitle", 30), D("commisionPercent"),
        B("privacyBlocked"), B("blocked"), Modified(),
    })
    { UniqueColumns = new[] { "code" }, RequiredOnCreate = new[] { "code" }, DefaultOrder = "code" };

    /// <summary>Contact business relations (APIV2 - Contacts Information): which customer or vendor a company contact represents.</summary>
    public static EntitySchema ContactInformation { get; } = new("contactInformation", ContactsInformation, "relationId", new[]
    {
        G("relationId") with { WriteOnly = true }, G("contactId"), S("contactNumber", 20), S("contactName", 100), E("contactType", "Company", "Person"), G("relatedId"),
        E("relatedType", BlankOption, "Customer", "Vendor", "Bank_x0020_Account", "Employee"),
    })
    // A customer or vendor has one company contact: relatedId is unique, and indexed (found on every customer write).
    { UniqueColumns = new[] { "relatedId" }, DefaultOrder = "contactNumber" };

    /// <summary>A customer's financial totals (navigation property customerFinancialDetail; computed, not stored).</summary>
    public static EntitySchema CustomerFinancialDetail { get; } = new("customerFinancialDetail", "customerFinancialDetails", "id", new[]
    {
        G("id"), S("number", 20), D("balance"), D("totalSalesExcludingTax"), D("overdueAmount"),
    }.Select(c => c with { ReadOnly = true }));

    public static IReadOnlyList<EntitySchema> CompanyEntities { get; } = new[] { Customer, Vendor, Contact, Currency, Salesperson, ContactInformation };

    /// <summary>Entity sets that accept writes through the API.</summary>
    public static IReadOnlySet<string> Writable { get; } = new HashSet<string>(StringComparer.Ordinal) { Customers, Vendors, Contacts, Currencies, Salespeople };

    /// <summary>BC table captions for error messages.</summary>
    public static string Caption(EntitySchema schema) => schema.EntitySet switch
    {
        Customers => "Customer",
        Vendors => "Vendor",
        Contacts => "Contact",
        Currencies => "Currency",
        Salespeople => "Salesperson/Purchaser",
        _ => schema.LogicalName,
    };
}
