using System.Text.Json.Nodes;
using CrmSync.BusinessCentral;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>
/// Translates lookups through the couplings of the mappings they depend on (reference/domain.md §C.15):
/// currency, owner from salesperson, a contact's parent account. Reference data is read once per run.
/// </summary>
internal sealed class LookupContext
{
    private readonly CrmSyncConnection _connection;
    private readonly StateStore _store;
    private Dictionary<Guid, string>? _bcCurrencyCodes;
    private Dictionary<string, Guid>? _bcSalespeople;
    private Dictionary<string, Guid>? _contactIdsByNumber;
    private Dictionary<Guid, string>? _contactNumbersById;
    private Dictionary<Guid, (Guid RelatedId, string RelatedType)>? _relationsByContact;
    private Dictionary<Guid, Guid>? _contactByRelated;
    private Guid? _baseCurrency;

    public LookupContext(CrmSyncConnection connection)
    {
        _connection = connection;
        _store = connection.Store;
    }

    private BusinessCentralClient Bc => _connection.BusinessCentral;

    public StateStore Store => _store;

    public async Task<Guid> DataverseBaseCurrencyAsync(CancellationToken cancellationToken)
    {
        if (_baseCurrency is null)
        {
            await foreach (var org in _connection.Dataverse.QueryAsync("organizations", new DataverseQuery(new[] { "organizationid", "_basecurrencyid_value" }), cancellationToken).ConfigureAwait(false))
            {
                _baseCurrency = Guid.TryParse(org["_basecurrencyid_value"]?.GetValue<string>(), out var id) ? id : Guid.Empty;
                break;
            }
        }

        return _baseCurrency ?? Guid.Empty;
    }

    public async Task<string> BcCurrencyCodeAsync(Guid id, CancellationToken cancellationToken)
    {
        _bcCurrencyCodes ??= await LoadAsync("currencies", new[] { "id", "code" }, r => (Id(r), r["code"]!.GetValue<string>()), cancellationToken).ConfigureAwait(false);
        return _bcCurrencyCodes.TryGetValue(id, out var code) ? code : id.ToString();
    }

    public async Task<Guid?> BcSalespersonIdAsync(string code, CancellationToken cancellationToken)
    {
        _bcSalespeople ??= (await LoadAsync("salespeoplePurchasers", new[] { "id", "code" }, r => (Id(r), r["code"]!.GetValue<string>()), cancellationToken).ConfigureAwait(false))
            .ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.OrdinalIgnoreCase);
        return _bcSalespeople.TryGetValue(code, out var id) ? id : null;
    }

    /// <summary>Codes of existing salespeople, to number new ones (SP NO. 00001, … as BC does).</summary>
    public async Task<string> NextSalespersonCodeAsync(CancellationToken cancellationToken)
    {
        await BcSalespersonIdAsync(string.Empty, cancellationToken).ConfigureAwait(false);
        const string prefix = "SP NO. ";
        var next = _bcSalespeople!.Keys.Where(k => k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && int.TryParse(k[prefix.Length..], out _))
            .Select(k => int.Parse(k[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max() + 1;
        var code = prefix + next.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
        _bcSalespeople[code] = Guid.Empty;
        return code;
    }

    private async Task EnsureContactsAsync(CancellationToken cancellationToken)
    {
        if (_contactIdsByNumber is not null)
        {
            return;
        }

        var numbers = await LoadAsync("contacts", new[] { "id", "number" }, r => (Id(r), r["number"]!.GetValue<string>()), cancellationToken, "type eq 'Company'").ConfigureAwait(false);
        _contactNumbersById = numbers;
        _contactIdsByNumber = numbers.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.OrdinalIgnoreCase);
        _relationsByContact = new Dictionary<Guid, (Guid, string)>();
        _contactByRelated = new Dictionary<Guid, Guid>();
        await foreach (var relation in Bc.ListAsync("contactsInformation", new BcQuery { Select = new[] { "contactId", "relatedId", "relatedType" } }, cancellationToken).ConfigureAwait(false))
        {
            var contact = Guid.Parse(relation["contactId"]!.GetValue<string>());
            var related = Guid.Parse(relation["relatedId"]!.GetValue<string>());
            var type = relation["relatedType"]!.GetValue<string>();
            if (type is "Customer" or "Vendor")
            {
                _relationsByContact[contact] = (related, type);
                _contactByRelated[related] = contact;
            }
        }
    }

    /// <summary>BC company number → the Dataverse account of the customer or vendor that company represents.</summary>
    public async Task<(Guid? AccountId, string? Problem)> ParentAccountAsync(string companyNumber, CancellationToken cancellationToken)
    {
        await EnsureContactsAsync(cancellationToken).ConfigureAwait(false);
        if (!_contactIdsByNumber!.TryGetValue(companyNumber, out var contactId) || !_relationsByContact!.TryGetValue(contactId, out var relation))
        {
            return (null, $"its company {companyNumber} is not a customer or vendor in Business Central");
        }

        var mapping = relation.RelatedType == "Customer" ? StandardMappings.Customer : StandardMappings.Vendor;
        var coupling = _store.GetCouplingByBcId(mapping, relation.RelatedId);
        return coupling is null
            ? (null, $"its company {companyNumber} ({relation.RelatedType.ToLowerInvariant()}) must be coupled to an account. Synchronize {mapping} first")
            : (coupling.DataverseId, null);
    }

    /// <summary>Dataverse parent account → the BC company number of the coupled customer or vendor.</summary>
    public async Task<(string? CompanyNumber, string? Problem)> CompanyNumberAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await EnsureContactsAsync(cancellationToken).ConfigureAwait(false);
        var coupling = _store.GetCouplingByDataverseId(StandardMappings.Customer, accountId) ?? _store.GetCouplingByDataverseId(StandardMappings.Vendor, accountId);
        if (coupling is null)
        {
            return (null, $"its parent account {accountId} must be coupled to a customer or vendor. Synchronize CUSTOMER and VENDOR first");
        }

        return _contactByRelated!.TryGetValue(coupling.BcId, out var contact) && _contactNumbersById!.TryGetValue(contact, out var number)
            ? (number, null)
            : (null, $"the {coupling.MappingName.ToLowerInvariant()} coupled to account {accountId} has no company contact in Business Central");
    }

    private async Task<Dictionary<Guid, string>> LoadAsync(string set, string[] select, Func<JsonObject, (Guid, string)> read, CancellationToken cancellationToken, string? filter = null)
    {
        var result = new Dictionary<Guid, string>();
        await foreach (var row in Bc.ListAsync(set, new BcQuery { Select = select, Filter = filter }, cancellationToken).ConfigureAwait(false))
        {
            var (id, value) = read(row);
            result[id] = value;
        }

        return result;
    }

    private static Guid Id(JsonObject row) => Guid.Parse(row["id"]!.GetValue<string>());
}
