
namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>Finds the entities one row leads to through a navigation property, in one company.</summary>
public delegate IEnumerable<Row> RelatedRows(BcService service, Guid company, EntitySchema source, Row row);

/// <summary>
/// A navigation property of an emulated BC API v2.0 entity (customer → contactsInformation, currency,
/// customerFinancialDetail; vendor → contactsInformation, currency; contact → contactsInformation): the
/// entity it leads to and how the related entities of one row are found.
/// </summary>
public sealed record BcNavigationProperty(string Name, EntitySchema Target, bool IsCollection, RelatedRows Related);

/// <summary>The navigation properties the sandbox serves, for routes (entity(id)/nav), $expand and $metadata alike.</summary>
public static class BcNavigation
{
    private static readonly BcNavigationProperty Currency = new("currency", BcSchemas.Currency, IsCollection: false, (service, company, source, row) =>
        row.Values[source.IndexOf("currencyId")] is Guid id && id != Guid.Empty && service.Table(company, BcSchemas.Currencies).Get(id) is { } currency
            ? new[] { currency }
            : Array.Empty<Row>());

    // A customer's totals. The sandbox posts no ledger entries: the balance is the customer's balanceDue, sales and overdue amounts are zero.
    private static readonly BcNavigationProperty CustomerFinancialDetail = new("customerFinancialDetail", BcSchemas.CustomerFinancialDetail, IsCollection: false, (_, _, source, row) =>
        new[] { new Row(new object?[] { row.Values[source.KeyIndex], row.Values[source.IndexOf("number")], row.Values[source.IndexOf("balanceDue")], 0m, 0m }, row.Version, row.ModifiedBy) });

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<BcNavigationProperty>> BySet = new Dictionary<string, IReadOnlyList<BcNavigationProperty>>(StringComparer.Ordinal)
    {
        [BcSchemas.Customers] = new[] { ContactsInformation("relatedId"), Currency, CustomerFinancialDetail },
        [BcSchemas.Vendors] = new[] { ContactsInformation("relatedId"), Currency },
        [BcSchemas.Contacts] = new[] { ContactsInformation("contactId") },
    };

    /// <summary>The navigation properties of an entity set (none for the others).</summary>
    public static IReadOnlyList<BcNavigationProperty> Of(EntitySchema schema) =>
        BySet.TryGetValue(schema.EntitySet, out var properties) ? properties : Array.Empty<BcNavigationProperty>();

    public static BcNavigationProperty? Find(EntitySchema schema, string name) => Of(schema).FirstOrDefault(p => p.Name == name);

    /// <summary>The refusal for a navigation property the sandbox does not serve, naming those it does.</summary>
    public static ServiceException NotEmulated(EntitySchema schema, string name) => new(400, "BadRequest_NotImplemented",
        $"The sandbox does not emulate the navigation property '{name}' of {schema.EntitySet}; " +
        (Of(schema).Count == 0 ? $"{schema.EntitySet} has none in the sandbox" : $"it serves {string.Join(", ", Of(schema).Select(p => p.Name))}") + " (about_CrmSyncSandbox).");

    // The business relations of a contact (by contactId) or of a customer or vendor (by relatedId: unique and indexed).
    private static BcNavigationProperty ContactsInformation(string side) => new(BcSchemas.ContactsInformation, BcSchemas.ContactInformation, IsCollection: true, (service, company, source, row) =>
    {
        var relations = service.Table(company, BcSchemas.ContactsInformation);
        var column = relations.Schema.IndexOf(side);
        var id = row.Values[source.KeyIndex];
        return side == "relatedId"
            ? relations.FindUnique(column, id, except: null) is { } relation ? new[] { relation } : Array.Empty<Row>()
            : relations.Rows.Where(r => Equals(r.Values[column], id)).ToList();
    });
}
