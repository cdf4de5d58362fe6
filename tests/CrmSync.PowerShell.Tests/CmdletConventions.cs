using System.Reflection;
using System.Text.RegularExpressions;

namespace CrmSync.PowerShell.Tests;

public sealed record Violation(string Rule, string Cmdlet, string Detail)
{
    public override string ToString() => $"{Rule}: {Cmdlet}: {Detail}";
}

/// <summary>The module's cmdlet conventions (docs/ARCHITECTURE.md, "Cmdlet conventions"), one method per rule.</summary>
public static partial class CmdletConventions
{
    // PowerShell's approved verbs (Get-Verb; learn.microsoft.com "Approved Verbs for PowerShell Commands").
    public static readonly IReadOnlySet<string> ApprovedVerbs = new HashSet<string>(StringComparer.Ordinal)
    {
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move", "New", "Open",
        "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split",
        "Step", "Switch", "Undo", "Unlock", "Watch",
        "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit", "Expand", "Export",
        "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore", "Save", "Sync", "Unpublish", "Update",
        "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace",
        "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke", "Register",
        "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall", "Unregister", "Wait",
        "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
        "Use",
    };

    public static readonly IReadOnlySet<string> StateChangingVerbs = new HashSet<string>(StringComparer.Ordinal)
    {
        "New", "Set", "Remove", "Reset", "Import", "Invoke", "Sync", "Grant", "Add", "Clear", "Start", "Stop",
    };

    public static IEnumerable<Violation> ApprovedVerb(IEnumerable<CmdletMetadata> cmdlets) =>
        cmdlets.Where(c => !ApprovedVerbs.Contains(c.Verb))
               .Select(c => new Violation(nameof(ApprovedVerb), c.Name, $"'{c.Verb}' is not an approved verb"));

    public static IEnumerable<Violation> HasOutputType(IEnumerable<CmdletMetadata> cmdlets) =>
        cmdlets.Where(c => c.OutputTypes.Count == 0)
               .Select(c => new Violation(nameof(HasOutputType), c.Name, "no [OutputType]"));

    public static IEnumerable<Violation> ClassName(IEnumerable<CmdletMetadata> cmdlets) =>
        cmdlets.Where(c => c.TypeName != $"{c.Verb}{c.Noun}Command")
               .Select(c => new Violation(nameof(ClassName), c.Name, $"class {c.TypeName} should be {c.Verb}{c.Noun}Command"));

    public static IEnumerable<Violation> ShouldProcess(IEnumerable<CmdletMetadata> cmdlets) =>
        cmdlets.Where(c => StateChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess)
               .Select(c => new Violation(nameof(ShouldProcess), c.Name, $"verb {c.Verb} changes state but SupportsShouldProcess is not set"));

    /// <summary>Every by-property-name parameter (or one of its aliases) must be a property of some output type of the assembly.</summary>
    public static IEnumerable<Violation> PipelineBinding(IReadOnlyList<CmdletMetadata> cmdlets)
    {
        var outputProperties = cmdlets.SelectMany(c => c.OutputTypes)
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Select(p => p.Name)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var cmdlet in cmdlets)
        {
            foreach (var parameter in cmdlet.Parameters.Where(p => p.ByPropertyName))
            {
                if (!parameter.Aliases.Prepend(parameter.Name).Any(outputProperties.Contains))
                {
                    yield return new Violation(nameof(PipelineBinding), cmdlet.Name, $"-{parameter.Name} binds by property name, but no output type has a property {parameter.Name}");
                }
            }
        }
    }

    /// <summary>With several parameter sets, one must be the default and no two may take the same parameters.</summary>
    public static IEnumerable<Violation> UnambiguousParameterSets(IEnumerable<CmdletMetadata> cmdlets)
    {
        foreach (var cmdlet in cmdlets)
        {
            var sets = cmdlet.Parameters.SelectMany(p => p.ParameterSets).Where(s => s != "__AllParameterSets").Distinct().ToList();
            if (sets.Count < 2)
            {
                continue;
            }

            if (cmdlet.DefaultParameterSetName is null)
            {
                yield return new Violation(nameof(UnambiguousParameterSets), cmdlet.Name, $"parameter sets {string.Join(", ", sets)} but no DefaultParameterSetName");
            }

            var signatures = sets.Select(s => (Set: s, Key: string.Join(",", cmdlet.Parameters.Where(p => p.ParameterSets.Contains(s)).Select(p => p.Name).Order()))).ToList();
            foreach (var group in signatures.GroupBy(s => s.Key).Where(g => g.Count() > 1))
            {
                yield return new Violation(nameof(UnambiguousParameterSets), cmdlet.Name, $"parameter sets {string.Join(", ", group.Select(g => g.Set))} take the same parameters");
            }
        }
    }

    /// <summary>The manifest exports exactly the compiled cmdlets.</summary>
    public static IEnumerable<Violation> ManifestExports(IEnumerable<CmdletMetadata> cmdlets, string manifestPath)
    {
        var exported = ReadCmdletsToExport(manifestPath);
        var compiled = cmdlets.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var missing in compiled.Where(c => !exported.Contains(c)))
        {
            yield return new Violation(nameof(ManifestExports), missing, "compiled but not in CmdletsToExport");
        }

        foreach (var extra in exported.Where(e => !compiled.Contains(e)))
        {
            yield return new Violation(nameof(ManifestExports), extra, "in CmdletsToExport but not compiled");
        }
    }

    public static HashSet<string> ReadCmdletsToExport(string manifestPath)
    {
        var text = File.ReadAllText(manifestPath);
        var block = CmdletsToExportPattern().Match(text);
        if (!block.Success)
        {
            throw new InvalidOperationException($"{manifestPath} has no explicit CmdletsToExport = @(...)");
        }

        return QuotedPattern().Matches(block.Groups[1].Value).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Every cmdlet has a help file with synopsis, description, an example, and every parameter documented (and no stale ones).</summary>
    public static IEnumerable<Violation> Help(IEnumerable<CmdletMetadata> cmdlets, string docsDirectory)
    {
        foreach (var cmdlet in cmdlets)
        {
            var path = Path.Combine(docsDirectory, cmdlet.Name + ".md");
            if (!File.Exists(path))
            {
                yield return new Violation(nameof(Help), cmdlet.Name, $"no help file {cmdlet.Name}.md");
                continue;
            }

            var sections = Sections(File.ReadAllText(path));
            foreach (var required in new[] { "SYNOPSIS", "DESCRIPTION", "EXAMPLES" })
            {
                if (!sections.TryGetValue(required, out var body) || string.IsNullOrWhiteSpace(body))
                {
                    yield return new Violation(nameof(Help), cmdlet.Name, $"help has no {required}");
                }
            }

            if (sections.TryGetValue("EXAMPLES", out var examples) && !(examples.Contains("### ") && examples.Contains("```")))
            {
                yield return new Violation(nameof(Help), cmdlet.Name, "help has no example with code");
            }

            var documented = sections.TryGetValue("PARAMETERS", out var parameters)
                ? ParameterHeadingPattern().Matches(parameters).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.OrdinalIgnoreCase)
                : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var parameter in cmdlet.Parameters.Where(p => !documented.Contains(p.Name)))
            {
                yield return new Violation(nameof(Help), cmdlet.Name, $"parameter -{parameter.Name} is not documented");
            }

            var allowed = cmdlet.Parameters.Select(p => p.Name).Concat(cmdlet.SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>());
            foreach (var stale in documented.Except(allowed, StringComparer.OrdinalIgnoreCase))
            {
                yield return new Violation(nameof(Help), cmdlet.Name, $"help documents -{stale}, which the cmdlet does not have");
            }
        }
    }

    private static Dictionary<string, string> Sections(string markdown) =>
        SectionPattern().Matches(markdown).ToDictionary(m => m.Groups[1].Value.Trim(), m => m.Groups[2].Value, StringComparer.OrdinalIgnoreCase);

    [GeneratedRegex(@"CmdletsToExport\s*=\s*@\(([^)]*)\)", RegexOptions.Singleline)]
    private static partial Regex CmdletsToExportPattern();

    [GeneratedRegex(@"'([^']+)'|""([^""]+)""")]
    private static partial Regex QuotedPattern();

    [GeneratedRegex(@"^### -(\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ParameterHeadingPattern();

    [GeneratedRegex(@"^## ([^\n]+)\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SectionPattern();
}
