namespace CrmSync.Mapping;

/// <summary>
/// The standard mapping set with BC's default settings and field mappings
/// (docs/reference/integration.md §B.1–B.6, from BCApps CDSSetupDefaults). Where BC API v2.0 has no field for a
/// default mapping (§E.2) the field mapping is kept with status Unavailable and a note, so admins see
/// BC's whole default list and what CrmSync can carry of it.
/// </summary>
public static class StandardMappings
{
    public const string Currency = "CURRENCY";
    public const string Salespeople = "SALESPEOPLE";
    public const string Vendor = "VENDOR";
    public const string Customer = "CUSTOMER";
    public const string Contact = "CONTACT";

    /// <summary>The documented order of "Synchronize Modified Records" (§B.8); also the tie-break of the dependency sort.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { Currency, Salespeople, Vendor, Customer, Contact };

    private const string NotInBcApi = "BC API v2.0 has no field for this (docs/reference/integration.md §E.2).";
    private const string NeedsOptionMapping = "Needs BC's option-set mapping (PAYMENT TERMS / SHIPMENT METHOD / SHIPPING AGENT), which CrmSync does not provide yet.";

    public static IReadOnlyList<IntegrationTableMapping> All() => new[]
    {
        CurrencyMapping(), SalespeopleMapping(), VendorMapping(), CustomerMapping(), ContactMapping(),
    };

    public static IntegrationTableMapping? Get(string name) =>
        All().FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    // §B.6: Currency → transactioncurrency, ToIntegrationTable, auto-matched by ISO code.
    private static IntegrationTableMapping CurrencyMapping() => new()
    {
        Name = Currency,
        BcTable = "Currency",
        BcTableId = 4,
        BcEntitySet = "currencies",
        BcKeyField = "code",
        DataverseTable = "transactioncurrency",
        DataverseEntitySet = "transactioncurrencies",
        DataverseIdColumn = "transactioncurrencyid",
        DataverseNameColumn = "currencyname",
        Direction = SyncDirection.ToIntegrationTable,
        CreateNewInCaseOfNoMatch = true,
        FieldMappings = Fields(Currency,
            new() { MappingName = Currency, BcFieldCaption = "Code", BcField = "code", DataverseField = "isocurrencycode", Direction = SyncDirection.ToIntegrationTable, UseForMatchBasedCoupling = true },
            new() { MappingName = Currency, BcFieldCaption = "Symbol", BcField = "symbol", DataverseField = "currencysymbol", Direction = SyncDirection.ToIntegrationTable },
            new() { MappingName = Currency, BcFieldCaption = "Description", BcField = "displayName", DataverseField = "currencyname", Direction = SyncDirection.ToIntegrationTable }),
    };

    // §B.2: Salesperson/Purchaser ← systemuser, FromIntegrationTable, only coupled records.
    private static IntegrationTableMapping SalespeopleMapping() => new()
    {
        Name = Salespeople,
        BcTable = "Salesperson/Purchaser",
        BcTableId = 13,
        BcEntitySet = "salespeoplePurchasers",
        BcKeyField = "code",
        DataverseTable = "systemuser",
        DataverseEntitySet = "systemusers",
        DataverseIdColumn = "systemuserid",
        DataverseNameColumn = "fullname",
        Direction = SyncDirection.FromIntegrationTable,
        IntegrationTableFilter = "isdisabled eq false and islicensed eq true and isintegrationuser eq false",
        FieldMappings = Fields(Salespeople,
            new() { MappingName = Salespeople, BcFieldCaption = "E-Mail", BcField = "email", DataverseField = "internalemailaddress", Direction = SyncDirection.FromIntegrationTable, UseForMatchBasedCoupling = true },
            new() { MappingName = Salespeople, BcFieldCaption = "Name", BcField = "displayName", DataverseField = "fullname", Direction = SyncDirection.FromIntegrationTable },
            new() { MappingName = Salespeople, BcFieldCaption = "Phone No.", BcField = "phoneNo", DataverseField = "mobilephone", Direction = SyncDirection.FromIntegrationTable },
            new() { MappingName = Salespeople, BcFieldCaption = "Job Title", BcField = "jobTitle", DataverseField = "jobtitle", Direction = SyncDirection.Bidirectional, Status = FieldMappingStatus.Disabled, Note = "BC extra field mapping, disabled by default." },
            new() { MappingName = Salespeople, BcFieldCaption = "E-Mail 2", BcField = "email2", DataverseField = "personalemailaddress", Direction = SyncDirection.Bidirectional, Status = FieldMappingStatus.Disabled, Note = "BC extra field mapping, disabled by default." }),
    };

    // §B.3: Customer ⇄ account (customertypecode 3). §B.4: Vendor ⇄ account (11), like CUSTOMER without
    // Credit Limit, owner from Purchaser Code. Dependencies follow BC's Person ownership model.
    private static IntegrationTableMapping CustomerMapping() => AccountMapping(Customer, "Customer", 18, "customers", customerTypeCode: 3, isCustomer: true);

    private static IntegrationTableMapping VendorMapping() => AccountMapping(Vendor, "Vendor", 23, "vendors", customerTypeCode: 11, isCustomer: false);

    private static IntegrationTableMapping AccountMapping(string name, string bcTable, int bcTableId, string bcEntitySet, int customerTypeCode, bool isCustomer) => new()
    {
        Name = name,
        BcTable = bcTable,
        BcTableId = bcTableId,
        BcEntitySet = bcEntitySet,
        BcKeyField = "number",
        DataverseTable = "account",
        DataverseEntitySet = "accounts",
        DataverseIdColumn = "accountid",
        DataverseNameColumn = "name",
        Direction = SyncDirection.Bidirectional,
        // BC API v2.0 returns and filters options by encoded member name: blank is '_x0020_' (docs/reference/integration.md §E.2).
        TableFilter = "blocked eq '_x0020_'",
        IntegrationTableFilter = $"statecode eq 0 and customertypecode eq {customerTypeCode}",
        Dependencies = new[] { Salespeople, Currency },
        FieldMappings = Fields(name, AccountFields(name, isCustomer)),
    };

    private static IntegrationFieldMapping[] AccountFields(string mapping, bool isCustomer)
    {
        IntegrationFieldMapping Field(string caption, string? bcField, string dataverseField, SyncDirection direction = SyncDirection.Bidirectional) =>
            new() { MappingName = mapping, BcFieldCaption = caption, BcField = bcField, DataverseField = dataverseField, Direction = direction };
        IntegrationFieldMapping Missing(string caption, string dataverseField, string note, SyncDirection direction = SyncDirection.Bidirectional) =>
            new() { MappingName = mapping, BcFieldCaption = caption, DataverseField = dataverseField, Direction = direction, Status = FieldMappingStatus.Unavailable, Note = note };

        var fields = new List<IntegrationFieldMapping>
        {
            isCustomer
                ? new() { MappingName = mapping, BcFieldCaption = "Salesperson Code", BcField = "salespersonCode", DataverseField = "ownerid", Direction = SyncDirection.ToIntegrationTable, NotNull = true, LookupMapping = Salespeople, Note = "Person ownership model: the owner is the Dataverse user coupled to the salesperson; an empty or uncoupled salesperson leaves the owner as it is." }
                : Missing("Purchaser Code", "ownerid", NotInBcApi, SyncDirection.ToIntegrationTable),
            Field("Name", "displayName", "name"),
            Missing("Contact", "address1_primarycontactname", NotInBcApi),
            Field("Address", "addressLine1", "address1_line1"),
            Field("Address 2", "addressLine2", "address1_line2"),
            Field("Post Code", "postalCode", "address1_postalcode"),
            Field("City", "city", "address1_city"),
            Field("Country/Region Code", "country", "address1_country"),
            Field("County", "state", "address1_stateorprovince"),
            new() { MappingName = mapping, BcFieldCaption = "Currency Code", BcField = "currencyId", DataverseField = "transactioncurrencyid", Direction = SyncDirection.Bidirectional, LookupMapping = Currency },
            Field("E-Mail", "email", "emailaddress1"),
            Missing("Fax No.", "fax", NotInBcApi),
            Field("Home Page", "website", "websiteurl"),
            Field("Phone No.", "phoneNumber", "telephone1"),
            isCustomer ? Missing("Shipment Method Code", "address1_freighttermscode", NeedsOptionMapping) : Missing("Shipment Method Code", "address1_freighttermscode", NotInBcApi),
            Missing("Shipping Agent Code", "address1_shippingmethodcode", NotInBcApi),
            Missing("Payment Terms Code", "paymenttermscode", NeedsOptionMapping),
        };
        if (isCustomer)
        {
            fields.Add(Field("Credit Limit (LCY)", "creditLimit", "creditlimit", SyncDirection.ToIntegrationTable));
        }
        fields.Add(Missing("Primary Contact No.", "primarycontactid", NotInBcApi) with { ClearValueOnFailedSync = true });
        fields.Add(new() { MappingName = mapping, BcFieldCaption = "No.", BcField = "number", DataverseField = "accountnumber", Direction = SyncDirection.ToIntegrationTable, Status = FieldMappingStatus.Disabled, Note = "BC extra field mapping, disabled by default: Customer/Vendor No. is not mapped to accountnumber unless enabled." });
        fields.Add(Missing("Mobile Phone No.", "telephone2", NotInBcApi));
        return fields.ToArray();
    }

    // §B.5: Contact ⇄ contact, persons that belong to a company only.
    private static IntegrationTableMapping ContactMapping()
    {
        IntegrationFieldMapping Field(string caption, string? bcField, string? dataverseField, SyncDirection direction = SyncDirection.Bidirectional) =>
            new() { MappingName = Contact, BcFieldCaption = caption, BcField = bcField, DataverseField = dataverseField, Direction = direction };
        IntegrationFieldMapping Missing(string caption, string dataverseField, SyncDirection direction = SyncDirection.Bidirectional) =>
            new() { MappingName = Contact, BcFieldCaption = caption, DataverseField = dataverseField, Direction = direction, Status = FieldMappingStatus.Unavailable, Note = NotInBcApi };
        const string nameNote = "CrmSync addition: BC API v2.0 exposes only the contact's full name (displayName), not First Name/Middle Name/Surname.";

        return new()
        {
            Name = Contact,
            BcTable = "Contact",
            BcTableId = 5050,
            BcEntitySet = "contacts",
            BcKeyField = "number",
            DataverseTable = "contact",
            DataverseEntitySet = "contacts",
            DataverseIdColumn = "contactid",
            DataverseNameColumn = "fullname",
            Direction = SyncDirection.Bidirectional,
            TableFilter = "type eq 'Person' and companyNumber ne ''",
            IntegrationTableFilter = "_parentcustomerid_value ne null and statecode eq 0",
            Dependencies = new[] { Customer, Vendor },
            FieldMappings = Fields(Contact,
                Missing("Salesperson Code", "ownerid", SyncDirection.ToIntegrationTable),
                Missing("Currency Code", "transactioncurrencyid"),
                Field("Address", "addressLine1", "address1_line1"),
                Field("Address 2", "addressLine2", "address1_line2"),
                Field("Post Code", "postalCode", "address1_postalcode"),
                Field("City", "city", "address1_city"),
                Field("Country/Region Code", "country", "address1_country"),
                Field("County", "state", "address1_stateorprovince"),
                Field("E-Mail", "email", "emailaddress1"),
                Missing("Fax No.", "fax"),
                Missing("First Name", "firstname"),
                Missing("Middle Name", "middlename"),
                Missing("Surname", "lastname"),
                Field("Name", "displayName", "lastname", SyncDirection.ToIntegrationTable) with { Note = nameNote },
                Field("Name", "displayName", "fullname", SyncDirection.FromIntegrationTable) with { Note = nameNote },
                Field("Home Page", "website", "websiteurl"),
                Field("Mobile Phone No.", "mobilePhoneNumber", "mobilephone"),
                Missing("Pager", "pager"),
                Field("Phone No.", "phoneNumber", "telephone1"),
                Field("Type", "type", null, SyncDirection.FromIntegrationTable) with { ConstantValue = "Person" },
                new() { MappingName = Contact, BcFieldCaption = "Company No.", BcField = "companyNumber", DataverseField = "parentcustomerid", Direction = SyncDirection.Bidirectional, LookupMapping = Customer + "|" + Vendor, Note = "The parent account must be coupled to the customer or vendor whose company contact is the contact's company." },
                Missing("Salutation Code", "salutation") with { Status = FieldMappingStatus.Unavailable, Note = NotInBcApi + " BC extra field mapping, disabled by default." }),
        };
    }

    private static IReadOnlyList<IntegrationFieldMapping> Fields(string mapping, params IntegrationFieldMapping[] fields) =>
        fields.Select((f, i) => f with { MappingName = mapping, No = i + 1 }).ToArray();
}
