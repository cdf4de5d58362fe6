using System.Management.Automation;
using CrmSync.Mapping;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>PowerShell name matching for mappings: wildcards filter quietly, a literal name that matches nothing is an error.</summary>
internal static class MappingNameFilter
{
    public static IReadOnlyList<IntegrationTableMapping> Select(IReadOnlyList<IntegrationTableMapping> ordered, IReadOnlyCollection<string> names, out IReadOnlyList<string> unmatchedLiterals)
    {
        var unmatched = new List<string>();
        if (names.Count == 0)
        {
            unmatchedLiterals = unmatched;
            return ordered;
        }

        var patterns = names.Select(n => (Name: n, Pattern: new WildcardPattern(n, WildcardOptions.IgnoreCase))).ToList();
        foreach (var (name, pattern) in patterns)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(name) && !ordered.Any(m => pattern.IsMatch(m.Name)))
            {
                unmatched.Add(name);
            }
        }

        unmatchedLiterals = unmatched;
        return ordered.Where(m => patterns.Any(p => p.Pattern.IsMatch(m.Name))).ToList();
    }

    public static CrmSyncException NotFound(string name, IReadOnlyList<IntegrationTableMapping> existing) =>
        new("MappingNotFound", CrmSyncErrorKind.ObjectNotFound,
            $"There is no integration table mapping named '{name}'. The mappings are: {string.Join(", ", existing.Select(m => m.Name))}.", name);
}
