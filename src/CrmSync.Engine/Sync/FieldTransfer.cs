using System.Globalization;
using System.Text.Json.Nodes;
using CrmSync.Mapping;

namespace CrmSync.Sync;

/// <summary>The destination values one source record produces: only changed fields, or why it cannot be transferred.</summary>
internal sealed record TransferResult(JsonObject Changes, IReadOnlyList<string> ChangedFields, IReadOnlyList<IntegrationFieldMapping> BidirectionalDifferences, string? Failure);

/// <summary>
/// Field transfer for one mapping and pass (docs/reference/integration.md §C.15): constants, plain values (BC's empty
/// strings are Dataverse's nulls), lookups through couplings, and only the fields whose value differs.
/// </summary>
internal sealed class FieldTransfer
{
    private readonly IntegrationTableMapping _mapping;
    private readonly SyncDirection _pass;
    private readonly SyncSideAccess _source;
    private readonly SyncSideAccess _destination;
    private readonly LookupContext _lookups;
    private readonly IReadOnlyList<IntegrationFieldMapping> _fields;

    public FieldTransfer(IntegrationTableMapping mapping, SyncDirection pass, SyncSideAccess source, SyncSideAccess destination, LookupContext lookups)
    {
        _mapping = mapping;
        _pass = pass;
        _source = source;
        _destination = destination;
        _lookups = lookups;
        _fields = mapping.FieldMappingsFor(pass).Where(f => DestinationField(f) is not null && (SourceField(f) is not null || f.ConstantValue is not null)).ToList();
    }

    private bool ToDataverse => _pass == SyncDirection.ToIntegrationTable;

    private string? SourceField(IntegrationFieldMapping f) => ToDataverse ? f.BcField : f.DataverseField;

    private string? DestinationField(IntegrationFieldMapping f) => ToDataverse ? f.DataverseField : f.BcField;

    public async Task<TransferResult> ComputeAsync(SideRow source, SideRow? destination, CancellationToken cancellationToken)
    {
        var changes = new JsonObject();
        var changed = new List<string>();
        var bidirectional = new List<IntegrationFieldMapping>();
        foreach (var field in _fields)
        {
            var target = DestinationField(field)!;
            // Constants describe new records (BC's "Type = Person"); they never overwrite an existing one.
            if (field.ConstantValue is not null && SourceField(field) is null && destination is not null)
            {
                continue;
            }

            var raw = field.ConstantValue is { } constant ? JsonValue.Create(constant) : source.Data[_source.ReadName(SourceField(field)!)]?.DeepClone();
            var (value, skip, failure) = await TranslateAsync(field, raw, cancellationToken).ConfigureAwait(false);
            if (failure is not null)
            {
                return new TransferResult(changes, changed, bidirectional, failure);
            }

            if (skip)
            {
                continue;
            }

            var current = destination?.Data[_destination.ReadName(target)];
            if (destination is not null && SameValue(value, current))
            {
                continue;
            }

            if (destination is null && IsEmpty(value))
            {
                continue;
            }

            Write(changes, target, value);
            changed.Add(field.BcFieldCaption);
            if (field.Direction == SyncDirection.Bidirectional)
            {
                bidirectional.Add(field);
            }
        }

        return new TransferResult(changes, changed, bidirectional, null);
    }

    private void Write(JsonObject changes, string target, JsonNode? value)
    {
        if (ToDataverse && DataverseSideAccess.Lookups.TryGetValue(target, out var lookup))
        {
            changes[lookup.Navigation + "@odata.bind"] = value is null ? null : $"/{lookup.EntitySet}({value.GetValue<string>()})";
            return;
        }

        changes[target] = value;
    }

    private async Task<(JsonNode? Value, bool Skip, string? Failure)> TranslateAsync(IntegrationFieldMapping field, JsonNode? raw, CancellationToken cancellationToken)
    {
        switch (field.LookupMapping)
        {
            case StandardMappings.Currency:
                return ToDataverse ? await CurrencyToDataverseAsync(raw, cancellationToken).ConfigureAwait(false) : await CurrencyToBcAsync(raw, cancellationToken).ConfigureAwait(false);
            case StandardMappings.Salespeople:
                return await OwnerAsync(raw, cancellationToken).ConfigureAwait(false);
            case StandardMappings.Customer + "|" + StandardMappings.Vendor:
                return ToDataverse ? await ParentToDataverseAsync(raw, cancellationToken).ConfigureAwait(false) : await ParentToBcAsync(raw, cancellationToken).ConfigureAwait(false);
        }

        // BC returns "" for empty text; Dataverse has null.
        if (raw is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0 && ToDataverse)
        {
            return (null, false, null);
        }

        if (raw is null && !ToDataverse)
        {
            return (JsonValue.Create(string.Empty), false, null);
        }

        return (raw, false, null);
    }

    private async Task<(JsonNode?, bool, string?)> CurrencyToDataverseAsync(JsonNode? raw, CancellationToken cancellationToken)
    {
        var bcId = Guid.TryParse(raw?.GetValue<string>(), out var id) ? id : Guid.Empty;
        if (bcId == Guid.Empty)
        {
            // An empty currency is the local currency: Dataverse's base currency.
            var baseCurrency = await _lookups.DataverseBaseCurrencyAsync(cancellationToken).ConfigureAwait(false);
            return (baseCurrency == Guid.Empty ? null : JsonValue.Create(baseCurrency.ToString()), false, null);
        }

        if (_lookups.DataverseIdCoupledTo(StandardMappings.Currency, bcId) is not { } currency)
        {
            var code = await _lookups.BcCurrencyCodeAsync(bcId, cancellationToken).ConfigureAwait(false);
            return (null, false, $"Currency {code} must be coupled to a transactioncurrency record. Synchronize the CURRENCY mapping first (Sync-ModifiedRecord -Name CURRENCY).");
        }

        return (JsonValue.Create(currency.ToString()), false, null);
    }

    private async Task<(JsonNode?, bool, string?)> CurrencyToBcAsync(JsonNode? raw, CancellationToken cancellationToken)
    {
        var dvId = Guid.TryParse(raw?.GetValue<string>(), out var id) ? id : Guid.Empty;
        if (dvId == Guid.Empty || dvId == await _lookups.DataverseBaseCurrencyAsync(cancellationToken).ConfigureAwait(false))
        {
            return (JsonValue.Create(Guid.Empty.ToString()), false, null);
        }

        return _lookups.BcIdCoupledTo(StandardMappings.Currency, dvId) is { } currency
            ? (JsonValue.Create(currency.ToString()), false, null)
            : (null, false, $"Currency {dvId} (transactioncurrency) must be coupled to a Business Central currency. Synchronize the CURRENCY mapping first.");
    }

    // Person ownership: the owner is the user coupled to the salesperson; without one the owner stays as it is (Not Null).
    private async Task<(JsonNode?, bool, string?)> OwnerAsync(JsonNode? raw, CancellationToken cancellationToken)
    {
        var code = raw?.GetValue<string>();
        if (string.IsNullOrEmpty(code) || await _lookups.BcSalespersonIdAsync(code, cancellationToken).ConfigureAwait(false) is not { } salesperson)
        {
            return (null, true, null);
        }

        return _lookups.DataverseIdCoupledTo(StandardMappings.Salespeople, salesperson) is { } owner
            ? (JsonValue.Create(owner.ToString()), false, null)
            : (null, true, null);
    }

    private async Task<(JsonNode?, bool, string?)> ParentToDataverseAsync(JsonNode? raw, CancellationToken cancellationToken)
    {
        var number = raw?.GetValue<string>();
        if (string.IsNullOrEmpty(number))
        {
            return (null, true, null);
        }

        var (account, problem) = await _lookups.ParentAccountAsync(number, cancellationToken).ConfigureAwait(false);
        return problem is null ? (JsonValue.Create(account!.Value.ToString()), false, null) : (null, false, $"The contact cannot be synchronized: {problem}.");
    }

    private async Task<(JsonNode?, bool, string?)> ParentToBcAsync(JsonNode? raw, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(raw?.GetValue<string>(), out var account))
        {
            return (null, true, null);
        }

        var (number, problem) = await _lookups.CompanyNumberAsync(account, cancellationToken).ConfigureAwait(false);
        return problem is null ? (JsonValue.Create(number), false, null) : (null, false, $"The contact cannot be synchronized: {problem}.");
    }

    internal static bool IsEmpty(JsonNode? value) =>
        value is null || (value is JsonValue v && v.TryGetValue<string>(out var s) && s.Length == 0);

    /// <summary>Null and "" are the same (BC vs Dataverse); numbers compare by value, GUIDs ignoring case.</summary>
    internal static bool SameValue(JsonNode? a, JsonNode? b)
    {
        if (IsEmpty(a) || IsEmpty(b))
        {
            return IsEmpty(a) && IsEmpty(b) || (IsZeroGuid(a) && IsEmpty(b)) || (IsZeroGuid(b) && IsEmpty(a));
        }

        if (a is JsonValue va && b is JsonValue vb)
        {
            if (va.TryGetValue<decimal>(out var da) && vb.TryGetValue<decimal>(out var db))
            {
                return da == db;
            }

            if (va.TryGetValue<bool>(out var ba) && vb.TryGetValue<bool>(out var bb))
            {
                return ba == bb;
            }

            var sa = va.ToString();
            var sb = vb.ToString();
            return Guid.TryParse(sa, out var ga) && Guid.TryParse(sb, out var gb) ? ga == gb : string.Equals(sa, sb, StringComparison.Ordinal);
        }

        return JsonNode.DeepEquals(a, b);
    }

    private static bool IsZeroGuid(JsonNode? value) => value is JsonValue v && v.TryGetValue<string>(out var s) && Guid.TryParse(s, out var g) && g == Guid.Empty;

    internal static string Describe(JsonNode? value) => value switch
    {
        null => "(empty)",
        JsonValue v when v.TryGetValue<decimal>(out var d) => d.ToString(CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
