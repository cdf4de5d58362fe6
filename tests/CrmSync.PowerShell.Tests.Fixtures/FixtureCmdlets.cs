using System.Management.Automation;

namespace CrmSync.Fixtures;

/// <summary>The fixtures' output type.</summary>
public sealed class FixtureWidget
{
    public string Name { get; set; } = string.Empty;
}

/// <summary>Follows every convention: never appears in a violation.</summary>
[Cmdlet(VerbsCommon.Get, "Widget")]
[OutputType(typeof(FixtureWidget))]
public sealed class GetWidgetCommand : PSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }
}

/// <summary>Broken: "Frobnicate" is not an approved verb.</summary>
[Cmdlet("Frobnicate", "Widget")]
[OutputType(typeof(FixtureWidget))]
public sealed class FrobnicateWidgetCommand : PSCmdlet
{
}

/// <summary>Broken: no [OutputType].</summary>
[Cmdlet(VerbsCommon.Get, "Gadget")]
public sealed class GetGadgetCommand : PSCmdlet
{
}

/// <summary>Broken: class name is not &lt;Verb&gt;&lt;Noun&gt;Command.</summary>
[Cmdlet(VerbsCommon.Get, "Doohickey")]
[OutputType(typeof(FixtureWidget))]
public sealed class GetThingamajig : PSCmdlet
{
}

/// <summary>Broken: a state-changing verb without SupportsShouldProcess.</summary>
[Cmdlet(VerbsCommon.Remove, "Widget")]
[OutputType(typeof(FixtureWidget))]
public sealed class RemoveWidgetCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string Name { get; set; } = string.Empty;
}

/// <summary>Broken: binds a property that no output type has.</summary>
[Cmdlet(VerbsCommon.Get, "Sprocket")]
[OutputType(typeof(FixtureWidget))]
public sealed class GetSprocketCommand : PSCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Frobozz { get; set; }
}

/// <summary>Broken: two parameter sets, no default, identical parameters.</summary>
[Cmdlet(VerbsCommon.Set, "Gizmo", SupportsShouldProcess = true)]
[OutputType(typeof(FixtureWidget))]
public sealed class SetGizmoCommand : PSCmdlet
{
    [Parameter(ParameterSetName = "A")]
    [Parameter(ParameterSetName = "B")]
    public string? Name { get; set; }
}
