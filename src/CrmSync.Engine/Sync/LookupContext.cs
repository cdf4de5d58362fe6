using System.Text.Json.Nodes;
using CrmSync.BusinessCentral;
using CrmSync.Dataverse;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>
/// Translates lookups through the couplings of the mappings they depend on (docs/reference/integration.md §C.15):
/// currency, owner from salesperson, a contact's parent account. Reference data is read once per run.
/// </summary>
internal sealed class LookupContext
{
    private readonly SyncServices _services;
    private readonly StateStore _store;
    private Dictionary<Guid, string>? _bcCurrencyCodes;
    private Dictionary<string, Guid>? _bcSalespeople;
    private Dictionary<string, Guid>? _contactIdsByNumber;
    private Dictionary<Guid, string>? _contactNumbersById;
    private Dictionary<Guid, (Guid RelatedId, string RelatedType)>? _relationsByContact;
    private Dictionary<Guid, Guid>? _contactByRelated;
    private Guid? _baseCurrency;

    // -WhatIf writes nothing, so the couplings a rehearsed run would create exist only here: records that depend
    // on them (a customer's currency, a contact's parent account) are rehearsed as the real run would write them.
    private readonly Dictionary<(string Mapping, Guid BcId), Guid> _rehearsedByBcId = new();
    private readonly Dictionary<(string Mapping, Guid DataverseId), Guid> _rehearsedByDataverseId = new();
    private readonly HashSet<Guid> _rehearsedNewBcIds = new();

    public LookupContext(SyncServices services)
    {
        _services = services;
        _store = services.Store;
    }

    private BusinessCentralClient Bc => _services.BusinessCentral;

    public StateStore Store => _store;

    // Couplings of other mappings found during a pass: thousands of customers name the same few currencies and
    // salespeople, and those mappings' couplings do not change while another mapping's pass runs (passes run one after
    // another). The pass's own mapping is never cached: its couplings change as it runs.
    private readonly Dictionary<(string Mapping, Guid Id, bool ByBcId), Guid> _coupledDuringPass = new();
    private string? _passMapping;

    /// <summary>A pass of <paramref name="mapping"/> starts: what earlier passes found may have changed since.</summary>
    public void BeginPass(string mapping)
    {
        _coupledDuringPass.Clear();
        _passMapping = mapping;
    }

    /// <summary>The Dataverse row coupled to a BC record of <paramref name="mapping"/> (or that a rehearsal would couple).</summary>
    public Guid? DataverseIdCoupledTo(string mapping, Guid bcId) =>
        Coupled(mapping, bcId, byBcId: true, () => _store.Couplings.GetByBcId(mapping, bcId)?.DataverseId)
        ?? (_rehearsedByBcId.TryGetValue((mapping, bcId), out var id) ? id : null);

    /// <summary>The BC record coupled to a Dataverse row of <paramref name="mapping"/> (or that a rehearsal would couple).</summary>
    public Guid? BcIdCoupledTo(string mapping, Guid dataverseId) =>
        Coupled(mapping, dataverseId, byBcId: false, () => _store.Couplings.GetByDataverseId(mapping, dataverseId)?.BcId)
        ?? (_rehearsedByDataverseId.TryGetValue((mapping, dataverseId), out var id) ? id : null);

    private Guid? Coupled(string mapping, Guid id, bool byBcId, Func<Guid?> find)
    {
        if (_coupledDuringPass.TryGetValue((mapping, id, byBcId), out var known))
        {
            return known;
        }

        var found = find();
        if (found is { } other && !string.Equals(mapping, _passMapping, StringComparison.OrdinalIgnoreCase))
        {
            _coupledDuringPass[(mapping, id, byBcId)] = other;
        }

        return found;
    }

    /// <summary>
    /// -WhatIf: remembers a coupling the run would have made, for the records that depend on it. <paramref name="newBcRecord"/>:
    /// the BC record would be created by the run, so <paramref name="bcId"/> is a stand-in and BC knows nothing of it yet.
    /// </summary>
    public void RehearseCoupling(string mapping, Guid bcId, Guid dataverseId, bool newBcRecord)
    {
        if (newBcRecord)
        {
            _rehearsedNewBcIds.Add(bcId);
        }

        _rehearsedByBcId[(mapping, bcId)] = dataverseId;
        _rehearsedByDataverseId[(mapping, dataverseId)] = bcId;
    }

    public async Task<Guid> DataverseBaseCurrencyAsync(CancellationToken cancellationToken)
    {
        if (_baseCurrency is null)
        {
            await foreach (var org in _services.Dataverse.QueryAsync("organizations", new DataverseQuery(new[] { "organizationid", "_basecurrencyid_value" }), cancellationToken).ConfigureAwait(false))
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
        return DataverseIdCoupledTo(mapping, relation.RelatedId) is { } account
            ? (account, null)
            : (null, $"its company {companyNumber} ({relation.RelatedType.ToLowerInvariant()}) must be coupled to an account. Synchronize {mapping} first");
    }

    /// <summary>Dataverse parent account → the BC company number of the coupled customer or vendor.</summary>
    public async Task<(string? CompanyNumber, string? Problem)> CompanyNumberAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await EnsureContactsAsync(cancellationToken).ConfigureAwait(false);
        var (mapping, bcId) = BcIdCoupledTo(StandardMappings.Customer, accountId) is { } customer ? (StandardMappings.Customer, customer)
            : BcIdCoupledTo(StandardMappings.Vendor, accountId) is { } vendor ? (StandardMappings.Vendor, vendor)
            : (null, Guid.Empty);
        if (mapping is null)
        {
            return (null, $"its parent account {accountId} must be coupled to a customer or vendor. Synchronize CUSTOMER and VENDOR first");
        }

        if (_rehearsedNewBcIds.Contains(bcId))
        {
            // Rehearsal: the run would create that customer or vendor first; its company contact exists only then.
            return ($"(the company contact of the {mapping.ToLowerInvariant()} this run creates)", null);
        }

        return _contactByRelated!.TryGetValue(bcId, out var contact) && _contactNumbersById!.TryGetValue(contact, out var number)
            ? (number, null)
            : (null, $"the {mapping.ToLowerInvariant()} coupled to account {accountId} has no company contact in Business Central");
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
