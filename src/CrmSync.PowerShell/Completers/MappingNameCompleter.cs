using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using CrmSync.Connections;
using CrmSync.Mapping;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Completers;

/// <summary>
/// Tab completion of integration table mapping names (CURRENCY, CUSTOMER, …) from the connection's state file:
/// the -Connection being typed, else the session's current connection. Before any connection it offers the
/// standard mappings rather than open (and create) the default state file just to complete a word.
/// </summary>
public sealed class MappingNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = wordToComplete.Trim('\'', '"');
        var pattern = WildcardPattern.Get(typed + "*", WildcardOptions.IgnoreCase);
        var connection = fakeBoundParameters["Connection"] as CrmSyncConnection ?? DefaultConnection.Get();
        IEnumerable<IntegrationTableMapping> mappings;
        try
        {
            mappings = connection is { IsOpen: true } ? new MappingCatalog(connection.Store).GetAll() : StandardMappings.All();
        }
        catch (CrmSyncException)
        {
            mappings = StandardMappings.All();
        }

        return mappings
            .Where(m => pattern.IsMatch(m.Name))
            .Select(m => new CompletionResult(Quote(m.Name), m.Name, CompletionResultType.ParameterValue,
                $"{m.Name}: {m.BcTable} ⇄ {m.DataverseTable} ({m.Direction})"))
            .ToList();
    }

    // Names are plain words today, but a custom mapping may hold a space or a quote.
    private static string Quote(string name) =>
        name.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '`' or ',' or ';' or '(' or ')' or '{' or '}')
            ? "'" + name.Replace("'", "''") + "'"
            : name;
}
