using System.Xml.Linq;

namespace CrmSync.PowerShell.Tests;

/// <summary>The real module follows every convention.</summary>
public sealed class ModuleConventionTests : IDisposable
{
    private readonly CmdletAssembly _module = new(Repository.Output("CrmSync.PowerShell.dll"), Repository.Output("CrmSync.Engine.dll"));

    public void Dispose() => _module.Dispose();

    [Fact]
    public void The_module_has_the_expected_cmdlets()
    {
        var names = _module.Cmdlets.Select(c => c.Name).ToList();

        Assert.Contains("Get-IntegrationTableMapping", names);
        Assert.Contains("Set-IntegrationTableMapping", names);
        Assert.Contains("Connect-CrmSync", names);
        Assert.True(names.Count >= 7);
    }

    [Fact]
    public void Verbs_are_approved() => Assert.Empty(CmdletConventions.ApprovedVerb(_module.Cmdlets));

    [Fact]
    public void Every_cmdlet_declares_its_output_type() => Assert.Empty(CmdletConventions.HasOutputType(_module.Cmdlets));

    [Fact]
    public void Class_names_are_verb_noun_command() => Assert.Empty(CmdletConventions.ClassName(_module.Cmdlets));

    [Fact]
    public void State_changing_cmdlets_support_ShouldProcess() => Assert.Empty(CmdletConventions.ShouldProcess(_module.Cmdlets));

    [Fact]
    public void Pipeline_bindings_match_output_properties() => Assert.Empty(CmdletConventions.PipelineBinding(_module.Cmdlets));

    [Fact]
    public void Parameter_sets_are_unambiguous() => Assert.Empty(CmdletConventions.UnambiguousParameterSets(_module.Cmdlets));

    // The built module's manifest and the repository root's, which imports it.
    [Theory]
    [InlineData("src/CrmSync.PowerShell/CrmSync.psd1")]
    [InlineData("CrmSync.psd1")]
    public void The_manifest_exports_exactly_the_compiled_cmdlets(string manifest) =>
        Assert.Empty(CmdletConventions.ManifestExports(_module.Cmdlets, Path.Combine(Repository.Root, manifest)));

    [Fact]
    public void Every_cmdlet_and_parameter_has_help() =>
        Assert.Empty(CmdletConventions.Help(_module.Cmdlets, Path.Combine(Repository.Root, "docs", "en-US")));

    [Fact]
    public void Output_types_are_CrmSync_owned()
    {
        var foreign = _module.Cmdlets.SelectMany(c => c.OutputTypes)
            .Where(t => t.FullName != "System.Void" && (t.Namespace is null || !t.Namespace.StartsWith("CrmSync", StringComparison.Ordinal)))
            .ToList();

        Assert.Empty(foreign);
    }

    [Fact]
    public void Connected_cmdlets_take_a_connection()
    {
        var withoutConnection = _module.Cmdlets
            .Where(c => c.Noun.StartsWith("Integration", StringComparison.Ordinal))
            .Where(c => !c.Parameters.Any(p => p.Name == "Connection"))
            .Select(c => c.Name)
            .ToList();

        Assert.Empty(withoutConnection);
    }

    [Fact]
    public void The_manifest_version_is_the_one_module_version()
    {
        var props = XDocument.Load(Path.Combine(Repository.Root, "Directory.Build.props"));
        var version = props.Descendants("ModuleVersion").Single().Value;
        var source = File.ReadAllText(Path.Combine(Repository.Root, "src", "CrmSync.PowerShell", "CrmSync.psd1"));
        var root = File.ReadAllText(Path.Combine(Repository.Root, "CrmSync.psd1"));

        // The module's manifest carries a placeholder that build.ps1 replaces with this one version; the root's states it.
        Assert.Contains("ModuleVersion        = '{{ModuleVersion}}'", source);
        Assert.Contains($"ModuleVersion        = '{version}'", root);
        Assert.Equal(version, typeof(CrmSync.PowerShell.Infrastructure.CrmSyncCmdlet).Assembly.GetName().Version!.ToString(3));
    }

    [Fact]
    public void The_format_file_exists_and_its_views_name_real_types()
    {
        var format = XDocument.Load(Path.Combine(Repository.Root, "src", "CrmSync.PowerShell", "CrmSync.Format.ps1xml"));
        var typeNames = format.Descendants("TypeName").Select(e => e.Value).ToList();
        var engine = typeof(CrmSync.Connections.CrmSyncConnection).Assembly;

        Assert.Contains("'CrmSync.Format.ps1xml'", File.ReadAllText(Path.Combine(Repository.Root, "src", "CrmSync.PowerShell", "CrmSync.psd1")));
        Assert.NotEmpty(typeNames);
        Assert.All(typeNames, name => Assert.NotNull(engine.GetType(name)));
        foreach (var view in format.Descendants("View"))
        {
            var type = engine.GetType(view.Element("ViewSelectedBy")!.Element("TypeName")!.Value)!;
            foreach (var property in view.Descendants("PropertyName").Select(p => p.Value))
            {
                Assert.True(type.GetProperty(property) is not null, $"{type.Name} has no property {property} used by the format view");
            }
        }
    }
}

/// <summary>Each rule fails on the fixture built to break it, and passes the fixture that follows them all.</summary>
public sealed class ConventionFixtureTests : IDisposable
{
    private const string Compliant = "Get-Widget";
    private readonly CmdletAssembly _fixtures = new(Repository.Output("CrmSync.PowerShell.Tests.Fixtures.dll"));

    public void Dispose() => _fixtures.Dispose();

    private static void AssertCatches(IEnumerable<Violation> violations, string expected, string detail)
    {
        var list = violations.ToList();
        Assert.Contains(list, v => v.Cmdlet == expected && v.Detail.Contains(detail, StringComparison.Ordinal));
        Assert.DoesNotContain(list, v => v.Cmdlet == Compliant);
    }

    [Fact]
    public void Unapproved_verb_is_caught() => AssertCatches(CmdletConventions.ApprovedVerb(_fixtures.Cmdlets), "Frobnicate-Widget", "'Frobnicate' is not an approved verb");

    [Fact]
    public void Missing_output_type_is_caught() => AssertCatches(CmdletConventions.HasOutputType(_fixtures.Cmdlets), "Get-Gadget", "no [OutputType]");

    [Fact]
    public void Misnamed_class_is_caught() => AssertCatches(CmdletConventions.ClassName(_fixtures.Cmdlets), "Get-Doohickey", "GetThingamajig should be GetDoohickeyCommand");

    [Fact]
    public void Missing_ShouldProcess_is_caught() => AssertCatches(CmdletConventions.ShouldProcess(_fixtures.Cmdlets), "Remove-Widget", "SupportsShouldProcess is not set");

    [Fact]
    public void Orphan_pipeline_binding_is_caught() => AssertCatches(CmdletConventions.PipelineBinding(_fixtures.Cmdlets), "Get-Sprocket", "-Frobozz");

    [Fact]
    public void Ambiguous_parameter_sets_are_caught()
    {
        AssertCatches(CmdletConventions.UnambiguousParameterSets(_fixtures.Cmdlets), "Set-Gizmo", "no DefaultParameterSetName");
        AssertCatches(CmdletConventions.UnambiguousParameterSets(_fixtures.Cmdlets), "Set-Gizmo", "take the same parameters");
    }

    [Fact]
    public void Manifest_drift_is_caught()
    {
        var manifest = Repository.Output(Path.Combine("Fixtures", "Fixtures.psd1"));

        AssertCatches(CmdletConventions.ManifestExports(_fixtures.Cmdlets, manifest), "Frobnicate-Widget", "not in CmdletsToExport");
        AssertCatches(CmdletConventions.ManifestExports(_fixtures.Cmdlets, manifest), "Get-Phantom", "not compiled");
    }

    [Fact]
    public void Missing_and_stale_help_is_caught()
    {
        var docs = Repository.Output(Path.Combine("Fixtures", "docs"));

        AssertCatches(CmdletConventions.Help(_fixtures.Cmdlets, docs), "Get-Gadget", "no help file");
        AssertCatches(CmdletConventions.Help(_fixtures.Cmdlets, docs), "Get-Sprocket", "-Frobozz is not documented");
        AssertCatches(CmdletConventions.Help(_fixtures.Cmdlets, docs), "Get-Doohickey", "documents -Ghost");
    }
}
