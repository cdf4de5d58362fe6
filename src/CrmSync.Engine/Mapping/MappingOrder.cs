namespace CrmSync.Mapping;

/// <summary>
/// Orders mappings so every mapping comes after the mappings it depends on (BC's "Dependency Filter",
/// docs/reference/integration.md §B.8). Ties are broken by the documented order CURRENCY, SALESPEOPLE, VENDOR,
/// CUSTOMER, CONTACT, then by name.
/// </summary>
public static class MappingOrder
{
    public static IReadOnlyList<IntegrationTableMapping> Sort(IEnumerable<IntegrationTableMapping> mappings)
    {
        var byName = new Dictionary<string, IntegrationTableMapping>(StringComparer.OrdinalIgnoreCase);
        foreach (var mapping in mappings)
        {
            if (!byName.TryAdd(mapping.Name, mapping))
            {
                throw new CrmSyncException("MappingDuplicateName", CrmSyncErrorKind.InvalidData,
                    $"Two mappings are named '{mapping.Name}'. Mapping names must be unique.", mapping);
            }
        }

        foreach (var mapping in byName.Values)
        {
            foreach (var dependency in mapping.Dependencies)
            {
                if (!byName.ContainsKey(dependency))
                {
                    throw new CrmSyncException("MappingDependencyNotFound", CrmSyncErrorKind.ObjectNotFound,
                        $"Mapping '{mapping.Name}' depends on '{dependency}', which is not a mapping. " +
                        $"Remove it with Set-IntegrationTableMapping -Name {mapping.Name} -Dependency <names>, or restore the defaults with Reset-IntegrationTableMapping.",
                        mapping);
                }
            }
        }

        var remaining = byName.Values.ToDictionary(m => m.Name, m => m.Dependencies.Select(d => byName[d].Name).ToHashSet(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        var ordered = new List<IntegrationTableMapping>(byName.Count);
        while (remaining.Count > 0)
        {
            var next = remaining.Where(kv => kv.Value.Count == 0).Select(kv => byName[kv.Key]).OrderBy(Rank).ThenBy(m => m.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault();
            if (next is null)
            {
                var cycle = FindCycle(remaining);
                throw new CrmSyncException("MappingDependencyCycle", CrmSyncErrorKind.InvalidData,
                    $"The mapping dependencies form a cycle: {string.Join(" -> ", cycle)}. Remove one of these dependencies with Set-IntegrationTableMapping -Dependency.",
                    byName[cycle[0]]);
            }

            ordered.Add(next);
            remaining.Remove(next.Name);
            foreach (var deps in remaining.Values)
            {
                deps.Remove(next.Name);
            }
        }

        return ordered;
    }

    /// <summary>Orders a subset of mappings by the order of the whole set they belong to.</summary>
    public static IReadOnlyList<IntegrationTableMapping> SortSubset(IEnumerable<IntegrationTableMapping> subset, IEnumerable<IntegrationTableMapping> all)
    {
        var position = Sort(all).Select((m, i) => (m.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.OrdinalIgnoreCase);
        return subset.DistinctBy(m => m.Name, StringComparer.OrdinalIgnoreCase)
                     .OrderBy(m => position.TryGetValue(m.Name, out var p) ? p : int.MaxValue)
                     .ToList();
    }

    private static int Rank(IntegrationTableMapping mapping)
    {
        var index = StandardMappings.Names.ToList().FindIndex(n => string.Equals(n, mapping.Name, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? int.MaxValue : index;
    }

    private static List<string> FindCycle(Dictionary<string, HashSet<string>> remaining)
    {
        // Every remaining node has an unresolved dependency, so walking dependencies must revisit a node.
        var path = new List<string>();
        var current = remaining.Keys.OrderBy(k => k, StringComparer.OrdinalIgnoreCase).First();
        while (!path.Contains(current, StringComparer.OrdinalIgnoreCase))
        {
            path.Add(current);
            current = remaining[current].OrderBy(k => k, StringComparer.OrdinalIgnoreCase).First();
        }

        var start = path.FindIndex(p => string.Equals(p, current, StringComparison.OrdinalIgnoreCase));
        var cycle = path.Skip(start).ToList();
        cycle.Add(current);
        return cycle;
    }
}
