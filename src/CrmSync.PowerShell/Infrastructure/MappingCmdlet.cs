using CrmSync.Mapping;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>Shared plumbing of the mapping cmdlets: selecting mappings by name and applying validated change plans.</summary>
public abstract class MappingCmdlet : ConnectedCmdlet
{
    private readonly List<string> _requestedNames = new();

    /// <summary>Gathers mapping names over the whole pipeline, so the work runs once in dependency order whatever order they came in.</summary>
    protected void RequestNames(string[]? names)
    {
        if (names is not null)
        {
            _requestedNames.AddRange(names);
        }
    }

    /// <summary>The mappings named so far (all when none), in dependency order.</summary>
    protected IReadOnlyList<IntegrationTableMapping> SelectRequestedMappings() => SelectMappings(_requestedNames);

    /// <summary>Mappings in dependency order matching the names (all when none); literal names that match nothing are reported.</summary>
    protected IReadOnlyList<IntegrationTableMapping> SelectMappings(IReadOnlyCollection<string> names)
    {
        IReadOnlyList<IntegrationTableMapping> mappings = Array.Empty<IntegrationTableMapping>();
        try
        {
            mappings = new MappingCatalog(ResolvedConnection.Store).GetAll();
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex);
        }

        var selected = MappingNameFilter.Select(mappings, names, out var unmatched);
        foreach (var name in unmatched)
        {
            WriteEngineError(MappingNameFilter.NotFound(name, mappings), name);
        }

        return selected;
    }

    /// <summary>
    /// For each mapping: plan the change (errors are per mapping), warn, skip when there is nothing to do,
    /// ask ShouldProcess with the exact changes, apply, and pass the result through when asked.
    /// </summary>
    protected void ApplyPlans(
        IEnumerable<string> names,
        Func<MappingCatalog, string, MappingChangePlan> plan,
        Func<MappingCatalog, MappingChangePlan, IntegrationTableMapping> apply,
        string action,
        bool passThru)
    {
        var catalog = new MappingCatalog(ResolvedConnection.Store);
        foreach (var name in names)
        {
            MappingChangePlan planned;
            try
            {
                planned = plan(catalog, name);
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex, name);
                continue;
            }

            foreach (var warning in planned.Warnings)
            {
                WriteWarning(warning);
            }

            if (!planned.HasChanges)
            {
                WriteVerbose($"Mapping '{planned.Before.Name}': nothing to change.");
                if (passThru)
                {
                    WriteObject(planned.Before);
                }

                continue;
            }

            if (!ShouldProcess($"Integration table mapping '{planned.Before.Name}'", $"{action}: {planned.Describe()}"))
            {
                continue;
            }

            try
            {
                var saved = apply(catalog, planned);
                if (passThru)
                {
                    WriteObject(saved);
                }
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex, planned.Before);
            }
        }
    }
}
