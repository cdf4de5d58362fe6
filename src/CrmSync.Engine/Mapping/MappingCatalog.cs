using CrmSync.OData;
using CrmSync.State;

namespace CrmSync.Mapping;

/// <summary>Requested changes to a table mapping; null means "leave as it is", an empty filter clears it.</summary>
public sealed record MappingSettingsChange
{
    public SyncDirection? Direction { get; init; }

    public bool? SynchOnlyCoupledRecords { get; init; }

    public string? TableFilter { get; init; }

    public string? IntegrationTableFilter { get; init; }

    public UpdateConflictResolution? UpdateConflictResolution { get; init; }

    public DeletionConflictResolution? DeletionConflictResolution { get; init; }

    public IReadOnlyList<string>? Dependencies { get; init; }
}

/// <summary>What a change would do to one mapping, validated, before it is applied.</summary>
public sealed record MappingChangePlan(
    IntegrationTableMapping Before,
    IntegrationTableMapping After,
    IReadOnlyList<string> Changes,
    IReadOnlyList<string> Warnings)
{
    public bool HasChanges => Changes.Count > 0;

    public string Describe() => HasChanges ? string.Join("; ", Changes) : "no change";
}

/// <summary>Reads, changes and resets the integration table mappings of a connection.</summary>
public sealed class MappingCatalog
{
    private readonly StateStore _store;

    public MappingCatalog(StateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <summary>All mappings in dependency order (CURRENCY, SALESPEOPLE, VENDOR, CUSTOMER, CONTACT for the standard set).</summary>
    public IReadOnlyList<IntegrationTableMapping> GetAll() => MappingOrder.Sort(_store.Mappings.GetAll());

    public IntegrationTableMapping Get(string name) =>
        _store.Mappings.Get(name) ?? throw NotFound(name);

    /// <summary>Validates a change against the mapping's current state and the other mappings; nothing is written.</summary>
    public MappingChangePlan Plan(string name, MappingSettingsChange change)
    {
        var before = Get(name);
        var after = before;
        var changes = new List<string>();
        var warnings = new List<string>();

        if (change.Direction is { } direction && direction != before.Direction)
        {
            RequireFieldMappingsFor(before, direction);
            after = after with { Direction = direction };
            changes.Add($"Direction: {before.Direction} -> {direction}");
        }

        if (change.SynchOnlyCoupledRecords is { } onlyCoupled && onlyCoupled != before.SynchOnlyCoupledRecords)
        {
            after = after with { SynchOnlyCoupledRecords = onlyCoupled };
            changes.Add($"SynchOnlyCoupledRecords: {before.SynchOnlyCoupledRecords} -> {onlyCoupled}");
        }

        if (change.TableFilter is not null)
        {
            var filter = NormalizeFilter(before, change.TableFilter, "TableFilter", "Business Central");
            if (filter != before.TableFilter)
            {
                after = after with { TableFilter = filter };
                changes.Add($"TableFilter: {Show(before.TableFilter)} -> {Show(filter)}");
            }
        }

        if (change.IntegrationTableFilter is not null)
        {
            var filter = NormalizeFilter(before, change.IntegrationTableFilter, "IntegrationTableFilter", "Dataverse");
            if (filter != before.IntegrationTableFilter)
            {
                after = after with { IntegrationTableFilter = filter };
                changes.Add($"IntegrationTableFilter: {Show(before.IntegrationTableFilter)} -> {Show(filter)}");
            }
        }

        if (change.UpdateConflictResolution is { } update && update != before.UpdateConflictResolution)
        {
            after = after with { UpdateConflictResolution = update };
            changes.Add($"UpdateConflictResolution: {before.UpdateConflictResolution} -> {update}");
        }

        if (change.DeletionConflictResolution is { } deletion && deletion != before.DeletionConflictResolution)
        {
            after = after with { DeletionConflictResolution = deletion };
            changes.Add($"DeletionConflictResolution: {before.DeletionConflictResolution} -> {deletion}");
        }

        if (change.Dependencies is { } dependencies)
        {
            var normalized = NormalizeDependencies(before, dependencies);
            if (!normalized.SequenceEqual(before.Dependencies, StringComparer.OrdinalIgnoreCase))
            {
                after = after with { Dependencies = normalized };
                changes.Add($"Dependencies: {Show(before.Dependencies)} -> {Show(normalized)}");
            }
        }

        if (after.UpdateConflictResolution != UpdateConflictResolution.None && after.Direction != SyncDirection.Bidirectional && change.UpdateConflictResolution is not null)
        {
            warnings.Add($"Mapping '{after.Name}' is {after.Direction}: update conflicts are detected only on Bidirectional mappings, so UpdateConflictResolution has no effect until the direction is Bidirectional.");
        }

        // BC's RemoveCouplingStrategyQst: a removed coupling may be recreated by the next job.
        if (after.DeletionConflictResolution == DeletionConflictResolution.RemoveCoupling && !after.SynchOnlyCoupledRecords && changes.Count > 0)
        {
            warnings.Add($"Mapping '{after.Name}' removes couplings on deletion conflicts while SynchOnlyCoupledRecords is off: the next synchronization may create the record again and couple it.");
        }

        // A dependency change must leave the whole set orderable.
        if (!ReferenceEquals(after.Dependencies, before.Dependencies))
        {
            MappingOrder.Sort(_store.Mappings.GetAll().Select(m => string.Equals(m.Name, after.Name, StringComparison.OrdinalIgnoreCase) ? after : m));
        }

        return new MappingChangePlan(before, after, changes, warnings);
    }

    /// <summary>Writes a planned change. The plan must have been made from the mapping's current state.</summary>
    public IntegrationTableMapping Apply(MappingChangePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        IntegrationTableMapping? result = null;
        _store.InTransaction(() =>
        {
            var current = Get(plan.Before.Name);
            if (!current.HasSameSettingsAs(plan.Before))
            {
                throw new CrmSyncException("MappingChangedConcurrently", CrmSyncErrorKind.InvalidOperation,
                    $"Mapping '{current.Name}' changed since the change was planned. Run the command again.", current);
            }

            if (plan.HasChanges)
            {
                _store.Mappings.Save(plan.After);
            }

            result = Get(plan.After.Name);
        });
        return result!;
    }

    /// <summary>What resetting a standard mapping to BC's defaults would change.</summary>
    public MappingChangePlan PlanReset(string name)
    {
        var existing = _store.Mappings.Get(name);
        var defaults = StandardMappings.Get(existing?.Name ?? name) ?? throw (existing is null ? NotFound(name) : new CrmSyncException("MappingHasNoDefault", CrmSyncErrorKind.InvalidOperation,
            $"Mapping '{existing.Name}' is not one of the standard mappings ({string.Join(", ", StandardMappings.Names)}), so it has no defaults to reset to.", existing));
        if (existing is null)
        {
            return new MappingChangePlan(defaults, defaults, new[] { "Mapping: restored with the defaults" }, Array.Empty<string>());
        }

        var before = existing;
        var after = defaults with { Name = before.Name };
        var changes = new List<string>();
        void Compare<T>(string label, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
            {
                changes.Add($"{label}: {Show(a)} -> {Show(b)}");
            }
        }

        Compare("Direction", before.Direction, after.Direction);
        Compare("SynchOnlyCoupledRecords", before.SynchOnlyCoupledRecords, after.SynchOnlyCoupledRecords);
        Compare("TableFilter", before.TableFilter, after.TableFilter);
        Compare("IntegrationTableFilter", before.IntegrationTableFilter, after.IntegrationTableFilter);
        Compare("UpdateConflictResolution", before.UpdateConflictResolution, after.UpdateConflictResolution);
        Compare("DeletionConflictResolution", before.DeletionConflictResolution, after.DeletionConflictResolution);
        Compare("CreateNewInCaseOfNoMatch", before.CreateNewInCaseOfNoMatch, after.CreateNewInCaseOfNoMatch);
        if (!before.Dependencies.SequenceEqual(after.Dependencies, StringComparer.OrdinalIgnoreCase))
        {
            changes.Add($"Dependencies: {Show(before.Dependencies)} -> {Show(after.Dependencies)}");
        }

        if (!before.FieldMappings.SequenceEqual(after.FieldMappings))
        {
            changes.Add("FieldMappings: restored to the defaults");
        }

        // BC's "Use Default Synchronization Setup" also clears the watermarks (docs/reference/integration.md §C.2).
        if (before.BcWatermark is not null || before.DataverseWatermark is not null)
        {
            changes.Add("Watermarks: cleared (the next synchronization examines all records)");
        }

        return new MappingChangePlan(before, after, changes, Array.Empty<string>());
    }

    /// <summary>Resets a standard mapping to BC's defaults and clears its watermarks; couplings are kept.</summary>
    public IntegrationTableMapping Reset(MappingChangePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        IntegrationTableMapping? result = null;
        _store.InTransaction(() =>
        {
            _store.Mappings.Save(plan.After);
            _store.Watermarks.Set(plan.After.Name, SyncSide.BusinessCentral, null);
            _store.Watermarks.Set(plan.After.Name, SyncSide.Dataverse, null);
            MappingOrder.Sort(_store.Mappings.GetAll());
            result = Get(plan.After.Name);
        });
        return result!;
    }

    private static void RequireFieldMappingsFor(IntegrationTableMapping mapping, SyncDirection direction)
    {
        var enabled = mapping.FieldMappings.Where(f => f.Status == FieldMappingStatus.Enabled).ToList();
        var ok = direction == SyncDirection.Bidirectional
            ? enabled.Any(f => f.Direction == SyncDirection.Bidirectional)
            : enabled.Any(f => f.Direction == direction || f.Direction == SyncDirection.Bidirectional);
        if (!ok)
        {
            throw new CrmSyncException("MappingDirectionInvalid", CrmSyncErrorKind.InvalidArgument,
                $"Mapping '{mapping.Name}' cannot be {direction}: none of its enabled field mappings has direction {direction}" +
                (direction == SyncDirection.Bidirectional ? string.Empty : " or Bidirectional") +
                $". Its field mappings are {string.Join(", ", enabled.Select(f => f.Direction).Distinct())} (see Get-IntegrationFieldMapping -Name {mapping.Name}).",
                mapping);
        }
    }

    /// <summary>The longest filter a mapping takes: it travels in every read's URL.</summary>
    public const int MaxFilterLength = 4_000;

    private static string? NormalizeFilter(IntegrationTableMapping mapping, string filter, string parameter, string side)
    {
        var trimmed = filter.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }

        if (trimmed.Length > MaxFilterLength)
        {
            // The filter goes into the URL of every read, with the watermark and paging around it; servers cut URLs far shorter than Dataverse's 32 KB.
            throw new CrmSyncException("MappingFilterTooLong", CrmSyncErrorKind.InvalidArgument,
                $"Mapping '{mapping.Name}', {parameter} ({side} side): the filter is {trimmed.Length:N0} characters long; at most {MaxFilterLength:N0} fit in a request URL. " +
                "Filter on fewer values, or on a field that groups them.", mapping);
        }

        var error = FilterExpression.Validate(trimmed);
        if (error is not null)
        {
            throw new CrmSyncException("MappingFilterInvalid", CrmSyncErrorKind.InvalidArgument,
                $"Mapping '{mapping.Name}', {parameter} ({side} side): {error} Pass an empty string to clear the filter.", mapping);
        }

        return trimmed;
    }

    private IReadOnlyList<string> NormalizeDependencies(IntegrationTableMapping mapping, IReadOnlyList<string> dependencies)
    {
        var known = _store.Mappings.GetAll().ToDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
        var result = new List<string>();
        foreach (var raw in dependencies.SelectMany(d => d.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (string.Equals(raw, mapping.Name, StringComparison.OrdinalIgnoreCase))
            {
                throw new CrmSyncException("MappingDependencyCycle", CrmSyncErrorKind.InvalidArgument,
                    $"Mapping '{mapping.Name}' cannot depend on itself. Remove '{raw}' from -Dependency.", mapping);
            }

            if (!known.TryGetValue(raw, out var dependency))
            {
                throw new CrmSyncException("MappingDependencyNotFound", CrmSyncErrorKind.ObjectNotFound,
                    $"Mapping '{mapping.Name}' cannot depend on '{raw}': there is no such mapping. Known mappings: {string.Join(", ", known.Keys.Order())}.", mapping);
            }

            if (!result.Contains(dependency.Name, StringComparer.OrdinalIgnoreCase))
            {
                result.Add(dependency.Name);
            }
        }

        return result;
    }

    private static CrmSyncException NotFound(string name) =>
        new("MappingNotFound", CrmSyncErrorKind.ObjectNotFound,
            $"There is no integration table mapping named '{name}'. Run Get-IntegrationTableMapping to list them, or Reset-IntegrationTableMapping to restore a standard one.", name);

    private static string Show<T>(T value) => value switch
    {
        null => "(none)",
        string s when s.Length == 0 => "(none)",
        IEnumerable<string> list => list.Any() ? string.Join("|", list) : "(none)",
        _ => value.ToString() ?? "(none)",
    };
}
