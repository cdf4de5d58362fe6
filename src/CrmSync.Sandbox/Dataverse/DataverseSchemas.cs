
namespace CrmSync.Sandbox.Dataverse;

/// <summary>
/// The Dataverse tables the sandbox emulates, with the columns CrmSync and admins use
/// (docs/reference/integration.md §B, §D.8; powerapps-docs reference/entities). Lookups are read and filtered as
/// _&lt;name&gt;_value and written through their navigation property with @odata.bind.
/// </summary>
public static class DataverseSchemas
{
    public const string Accounts = "accounts";
    public const string Contacts = "contacts";
    public const string SystemUsers = "systemusers";
    public const string Currencies = "transactioncurrencies";
    public const string Roles = "roles";
    public const string BusinessUnits = "businessunits";
    public const string Organizations = "organizations";
    public const string Teams = "teams";
    public const string UserRoles = "systemuserroles";

    private static Column S(string name, int max = 0) => new(name, ColumnType.String) { MaxLength = max };

    private static Column I(string name) => new(name, ColumnType.Int);

    private static Column D(string name) => new(name, ColumnType.Decimal);

    private static Column B(string name) => new(name, ColumnType.Bool);

    private static Column G(string name) => new(name, ColumnType.Guid);

    private static Column Lookup(string name, params (string Navigation, string Set)[] targets) =>
        new(name, ColumnType.Lookup) { Navigation = targets.ToDictionary(t => t.Navigation, t => t.Set, StringComparer.Ordinal) };

    private static Column ReadOnlyLookup(string name, string set) => Lookup(name, (name, set)) with { ReadOnly = true };

    private static IEnumerable<Column> Audit() => new[]
    {
        new Column("createdon", ColumnType.DateTime) { ReadOnly = true },
        new Column("modifiedon", ColumnType.DateTime) { ReadOnly = true },
        ReadOnlyLookup("createdby", SystemUsers),
        ReadOnlyLookup("modifiedby", SystemUsers),
        new Column("versionnumber", ColumnType.Int) { ReadOnly = true },
    };

    private static IEnumerable<Column> Address() => new[]
    {
        S("address1_line1", 250), S("address1_line2", 250), S("address1_postalcode", 20), S("address1_city", 80),
        S("address1_country", 80), S("address1_stateorprovince", 50),
    };

    private static Column Owner() => Lookup("ownerid", ("ownerid", SystemUsers));

    public static EntitySchema Account { get; } = new("account", Accounts, "accountid", new[]
    {
        G("accountid"), S("name", 160), S("accountnumber", 20), S("address1_primarycontactname", 100), S("emailaddress1", 100), S("fax", 50),
        S("websiteurl", 200), S("telephone1", 50), S("telephone2", 50), D("creditlimit"), I("customertypecode"), I("statecode"), I("statuscode"),
        I("paymenttermscode"), I("address1_freighttermscode"), I("address1_shippingmethodcode"), S("description", 2000), D("revenue"),
        Lookup("transactioncurrencyid", ("transactioncurrencyid", Currencies)), Owner(),
        Lookup("primarycontactid", ("primarycontactid", Contacts)),
    }.Concat(Address()).Concat(Audit()));

    public static EntitySchema Contact { get; } = new("contact", Contacts, "contactid", new[]
    {
        G("contactid"), S("firstname", 50), S("middlename", 50), S("lastname", 50), new Column("fullname", ColumnType.String) { ReadOnly = true },
        S("emailaddress1", 100), S("telephone1", 50), S("mobilephone", 50), S("fax", 50), S("pager", 50), S("websiteurl", 200), S("jobtitle", 100),
        S("salutation", 100), I("statecode"), I("statuscode"), S("description", 2000), D("annualincome"),
        Lookup("parentcustomerid", ("parentcustomerid_account", Accounts), ("parentcustomerid_contact", Contacts)),
        Lookup("transactioncurrencyid", ("transactioncurrencyid", Currencies)), Owner(),
    }.Concat(Address()).Concat(Audit()));

    public static EntitySchema SystemUser { get; } = new("systemuser", SystemUsers, "systemuserid", new[]
    {
        G("systemuserid"), S("domainname", 1024), S("internalemailaddress", 100), S("personalemailaddress", 100), S("firstname", 256), S("lastname", 256),
        new Column("fullname", ColumnType.String) { ReadOnly = true }, S("mobilephone", 64), S("jobtitle", 100), G("azureactivedirectoryobjectid"),
        G("applicationid"), B("isdisabled"), B("islicensed"), B("isintegrationuser"), I("accessmode"), I("caltype"),
        Lookup("businessunitid", ("businessunitid", BusinessUnits)),
    }.Concat(Audit()))
    {
        UniqueColumns = new[] { "azureactivedirectoryobjectid", "applicationid" },
    };

    public static EntitySchema TransactionCurrency { get; } = new("transactioncurrency", Currencies, "transactioncurrencyid", new[]
    {
        G("transactioncurrencyid"), S("isocurrencycode", 5), S("currencyname", 100), S("currencysymbol", 13), D("exchangerate"), I("currencyprecision"),
        I("statecode"), I("statuscode"),
    }.Concat(Audit()))
    {
        UniqueColumns = new[] { "isocurrencycode" },
        RequiredOnCreate = new[] { "isocurrencycode", "currencyname", "currencysymbol", "exchangerate" },
    };

    public static EntitySchema Role { get; } = new("role", Roles, "roleid", new[]
    {
        G("roleid"), S("name", 100), Lookup("businessunitid", ("businessunitid", BusinessUnits)), Lookup("parentrootroleid", ("parentrootroleid", Roles)),
        Lookup("parentroleid", ("parentroleid", Roles)),
    }.Concat(Audit()));

    public static EntitySchema BusinessUnit { get; } = new("businessunit", BusinessUnits, "businessunitid", new[]
    {
        G("businessunitid"), S("name", 160), Lookup("parentbusinessunitid", ("parentbusinessunitid", BusinessUnits)),
    }.Concat(Audit()));

    public static EntitySchema Organization { get; } = new("organization", Organizations, "organizationid", new[]
    {
        G("organizationid"), S("name", 160), Lookup("basecurrencyid", ("basecurrencyid", Currencies)),
    }.Concat(Audit()));

    public static EntitySchema Team { get; } = new("team", Teams, "teamid", new[]
    {
        G("teamid"), S("name", 160), Lookup("businessunitid", ("businessunitid", BusinessUnits)),
    }.Concat(Audit()));

    /// <summary>The systemuserroles_association N:N intersect (not an entity set of the Web API).</summary>
    public static EntitySchema UserRole { get; } = new("systemuserroles", UserRoles, "systemuserroleid", new[]
    {
        G("systemuserroleid"), G("systemuserid"), G("roleid"),
    });

    /// <summary>Tables whose entity sets the Web API serves.</summary>
    public static IReadOnlyList<EntitySchema> Public { get; } = new[] { Account, Contact, SystemUser, TransactionCurrency, Role, BusinessUnit, Organization, Team };

    /// <summary>Decimal columns of type Money (formatted with the row's currency symbol).</summary>
    public static IReadOnlySet<string> MoneyColumns { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "creditlimit", "revenue", "annualincome" };

    /// <summary>
    /// A value as Dataverse stores and returns it: money keeps four decimal places, so 5000000 reads back as
    /// 5000000.0000 (the Web API examples); other values are unchanged.
    /// </summary>
    public static object? Stored(Column column, object? value) =>
        value is decimal amount && MoneyColumns.Contains(column.Name)
            ? decimal.Round(amount, MoneyScale, MidpointRounding.AwayFromZero) + FourDecimalPlaces
            : value;

    private const int MoneyScale = 4;

    // Adding a zero with scale 4 gives a decimal at least four places wide without changing its value.
    private static readonly decimal FourDecimalPlaces = 0.0000m;

    /// <summary>The labels (English) of the choice columns the sandbox has, as the standard tables define them.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<int, string>> ChoiceLabels { get; } = new Dictionary<string, IReadOnlyDictionary<int, string>>(StringComparer.OrdinalIgnoreCase)
    {
        ["statecode"] = new Dictionary<int, string> { [0] = "Active", [1] = "Inactive" },
        ["statuscode"] = new Dictionary<int, string> { [1] = "Active", [2] = "Inactive" },
        ["customertypecode"] = new Dictionary<int, string>
        {
            [1] = "Competitor", [2] = "Consultant", [3] = "Customer", [4] = "Investor", [5] = "Partner", [6] = "Influencer", [7] = "Press", [8] = "Prospect",
            [9] = "Reseller", [10] = "Supplier", [11] = "Vendor", [12] = "Other",
        },
        ["paymenttermscode"] = new Dictionary<int, string> { [1] = "Net 30", [2] = "2% 10, Net 30", [3] = "Net 45", [4] = "Net 60" },
        ["address1_freighttermscode"] = new Dictionary<int, string> { [1] = "FOB", [2] = "No Charge" },
        ["address1_shippingmethodcode"] = new Dictionary<int, string> { [1] = "Airborne", [2] = "DHL", [3] = "FedEx", [4] = "UPS", [5] = "Postal Mail", [6] = "Full Load", [7] = "Will Call" },
        ["accessmode"] = new Dictionary<int, string> { [0] = "Read-Write", [1] = "Administrative", [2] = "Read", [3] = "Support User", [4] = "Non-interactive", [5] = "Delegated Admin" },
        ["caltype"] = new Dictionary<int, string>
        {
            [0] = "Professional", [1] = "Administrative", [2] = "Basic", [3] = "Device Professional", [4] = "Device Basic", [5] = "Essential", [6] = "Device Essential",
            [7] = "Enterprise", [8] = "Device Enterprise", [9] = "Sales", [10] = "Service", [11] = "Field Service", [12] = "Project Service",
        },
    };

    public static IReadOnlySet<string> BulkCapable { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { Accounts, Contacts };

    /// <summary>Privilege name suffix per table (prvCreateAccount, prvReadUser, …).</summary>
    public static string PrivilegeName(EntitySchema schema) => schema.LogicalName switch
    {
        "account" => "Account",
        "contact" => "Contact",
        "systemuser" => "User",
        "transactioncurrency" => "TransactionCurrency",
        "role" => "Role",
        "businessunit" => "BusinessUnit",
        "organization" => "Organization",
        "team" => "Team",
        _ => schema.LogicalName,
    };
}
