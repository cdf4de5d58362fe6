using CrmSync.Mapping;
using FsCheck;
using FsCheck.Fluent;

namespace CrmSync.Engine.Tests.Mapping;

public sealed class MappingOrderTests
{
    private static readonly string[] Expected = { "CURRENCY", "SALESPEOPLE", "VENDOR", "CUSTOMER", "CONTACT" };

    [Fact]
    public void Any_input_order_gives_the_dependency_order()
    {
        var mappings = StandardMappings.All();
        Prop.ForAll(Gen.Shuffle(mappings.ToArray()).ToArbitrary(), shuffled =>
            MappingOrder.Sort(shuffled).Select(m => m.Name).SequenceEqual(Expected)).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Every_mapping_comes_after_its_dependencies()
    {
        var custom = new[]
        {
            Custom("ITEM", "CURRENCY"),
            Custom("OPPORTUNITY", "CONTACT", "ITEM"),
            Custom("ZZZ"),
        };

        var ordered = MappingOrder.Sort(StandardMappings.All().Concat(custom)).Select(m => m.Name).ToList();

        Assert.Equal(new[] { "CURRENCY", "SALESPEOPLE", "VENDOR", "CUSTOMER", "CONTACT", "ITEM", "OPPORTUNITY", "ZZZ" }, ordered);
    }

    [Fact]
    public void Declared_dependencies_win_over_the_tie_break()
    {
        var currency = StandardMappings.Get("CURRENCY")! with { Dependencies = new[] { "ITEM" } };
        var mappings = StandardMappings.All().Select(m => m.Name == "CURRENCY" ? currency : m).Append(Custom("ITEM"));

        Assert.Equal(new[] { "SALESPEOPLE", "ITEM", "CURRENCY", "VENDOR", "CUSTOMER", "CONTACT" }, MappingOrder.Sort(mappings).Select(m => m.Name));
    }

    [Fact]
    public void A_cycle_is_a_clear_error_naming_it()
    {
        var currency = StandardMappings.Get("CURRENCY")! with { Dependencies = new[] { "CONTACT" } };
        var mappings = StandardMappings.All().Select(m => m.Name == "CURRENCY" ? currency : m);

        var ex = Assert.Throws<CrmSyncException>(() => MappingOrder.Sort(mappings));

        Assert.Equal("MappingDependencyCycle", ex.ErrorId);
        Assert.Contains("CONTACT -> CUSTOMER -> CURRENCY -> CONTACT", ex.Message);
    }

    [Fact]
    public void An_unknown_dependency_is_named()
    {
        var ex = Assert.Throws<CrmSyncException>(() => MappingOrder.Sort(new[] { Custom("ITEM", "UNIT OF MEASURE") }));

        Assert.Equal("MappingDependencyNotFound", ex.ErrorId);
        Assert.Contains("'ITEM' depends on 'UNIT OF MEASURE'", ex.Message);
    }

    [Fact]
    public void A_subset_keeps_the_order_of_the_whole_set()
    {
        var all = StandardMappings.All();
        var subset = new[] { all.Single(m => m.Name == "CONTACT"), all.Single(m => m.Name == "CURRENCY"), all.Single(m => m.Name == "CURRENCY") };

        Assert.Equal(new[] { "CURRENCY", "CONTACT" }, MappingOrder.SortSubset(subset, all).Select(m => m.Name));
    }

    private static IntegrationTableMapping Custom(string name, params string[] dependencies) =>
        StandardMappings.Get("CURRENCY")! with { Name = name, Dependencies = dependencies };
}
