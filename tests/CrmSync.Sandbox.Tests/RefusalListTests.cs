using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Tests;

/// <summary>about_CrmSyncSandbox says what the sandbox refuses: its list and the emulator's stay the same.</summary>
public sealed class RefusalListTests
{
    [Fact]
    public void The_about_topic_lists_every_refused_parameter_and_table()
    {
        var missing = Dataverse.DataverseService.RefusedQueryParameters.Concat(Dataverse.DataverseService.RefusedTables)
            .Concat(Hosting.ServiceRequest.NotEmulatedPreferences)
            .Where(name => !Named("- Dataverse:").Contains(name)).ToList();

        Assert.True(missing.Count == 0, $"about_CrmSyncSandbox does not list for Dataverse: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_about_topic_lists_what_Business_Central_accepts_and_serves()
    {
        var named = Named("- Business Central:");
        var served = BusinessCentral.BcService.CollectionQueryOptions
            .Concat(new[] { BusinessCentral.BcSchemas.Customer, BusinessCentral.BcSchemas.Vendor, BusinessCentral.BcSchemas.Contact }
                .SelectMany(BusinessCentral.BcNavigation.Of).Select(p => p.Name))
            .Append("$metadata").Append(BusinessCentral.BcSchemas.BlankOption);

        var missing = served.Where(name => !named.Any(n => n.Contains(name, StringComparison.Ordinal))).Distinct().ToList();

        Assert.True(missing.Count == 0, $"about_CrmSyncSandbox does not list for Business Central: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_about_topic_lists_what_Graph_accepts_and_serves()
    {
        var named = Named("- Graph:");

        var missing = Graph.GraphService.UserQueryOptions.Concat(Graph.GraphService.UserActions)
            .Where(name => !named.Any(n => n.Contains(name, StringComparison.Ordinal))).ToList();

        Assert.True(missing.Count == 0, $"about_CrmSyncSandbox does not list for Graph: {string.Join(", ", missing)}");
    }

    // The `code` names in one service's bullet(s) of the "What the sandbox refuses" section.
    private static HashSet<string> Named(string bullet)
    {
        var about = FindAbout();
        var section = about[about.IndexOf("### What the sandbox refuses", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n### ", 5, StringComparison.Ordinal)];
        var text = string.Join("\n", Regex.Split(section, @"\n(?=- )").Where(b => b.StartsWith(bullet, StringComparison.Ordinal) || b.StartsWith(bullet.TrimEnd(':') + " ", StringComparison.Ordinal)));
        Assert.False(string.IsNullOrEmpty(text), $"about_CrmSyncSandbox has no bullet starting '{bullet}'.");
        return Regex.Matches(text, "`([^`]+)`").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    private static string FindAbout()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var path = Path.Combine(directory.FullName, "docs", "en-US", "about_CrmSyncSandbox.md");
            if (File.Exists(path))
            {
                return File.ReadAllText(path);
            }
        }

        throw new FileNotFoundException("docs/en-US/about_CrmSyncSandbox.md was not found above the test's folder.");
    }
}
