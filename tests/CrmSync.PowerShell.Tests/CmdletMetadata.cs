using System.Collections.ObjectModel;
using System.Reflection;

namespace CrmSync.PowerShell.Tests;

public sealed record ParameterMetadata(string Name, IReadOnlyList<string> Aliases, bool ByValue, bool ByPropertyName, IReadOnlyList<string> ParameterSets, bool Mandatory);

public sealed record CmdletMetadata(
    string TypeName,
    string Verb,
    string Noun,
    bool SupportsShouldProcess,
    string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes,
    IReadOnlyList<ParameterMetadata> Parameters)
{
    public string Name => $"{Verb}-{Noun}";
}

/// <summary>Reads cmdlet metadata from a compiled assembly without executing it.</summary>
public sealed class CmdletAssembly : IDisposable
{
    private const string Sma = "System.Management.Automation.";
    private readonly MetadataLoadContext _context;

    public CmdletAssembly(string assemblyPath, params string[] extraPaths)
    {
        var runtime = Directory.GetFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "*.dll");
        var local = new[] { Path.Combine(AppContext.BaseDirectory, "System.Management.Automation.dll"), assemblyPath }.Concat(extraPaths);
        _context = new MetadataLoadContext(new PathAssemblyResolver(runtime.Concat(local).Distinct()));
        Assembly = _context.LoadFromAssemblyPath(assemblyPath);
        Cmdlets = Assembly.GetTypes().Select(Read).OfType<CmdletMetadata>().OrderBy(c => c.Name).ToList();
    }

    public Assembly Assembly { get; }

    public IReadOnlyList<CmdletMetadata> Cmdlets { get; }

    private static CmdletMetadata? Read(Type type)
    {
        var cmdlet = Attributes(type, "CmdletAttribute").FirstOrDefault();
        if (cmdlet is null)
        {
            return null;
        }

        var outputTypes = Attributes(type, "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items ? items.Select(i => i.Value) : new[] { arg.Value })
            .OfType<Type>()
            .ToList();
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(ReadParameter)
            .OfType<ParameterMetadata>()
            .ToList();
        return new CmdletMetadata(
            type.Name,
            (string)cmdlet.ConstructorArguments[0].Value!,
            (string)cmdlet.ConstructorArguments[1].Value!,
            Named(cmdlet, "SupportsShouldProcess") is true,
            Named(cmdlet, "DefaultParameterSetName") as string,
            outputTypes,
            parameters);
    }

    private static ParameterMetadata? ReadParameter(PropertyInfo property)
    {
        var parameterAttributes = Attributes(property, "ParameterAttribute").ToList();
        if (parameterAttributes.Count == 0)
        {
            return null;
        }

        var aliases = Attributes(property, "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items ? items.Select(i => (string)i.Value!) : new[] { (string)arg.Value! })
            .ToList();
        return new ParameterMetadata(
            property.Name,
            aliases,
            parameterAttributes.Any(a => Named(a, "ValueFromPipeline") is true),
            parameterAttributes.Any(a => Named(a, "ValueFromPipelineByPropertyName") is true),
            parameterAttributes.Select(a => Named(a, "ParameterSetName") as string ?? "__AllParameterSets").ToList(),
            parameterAttributes.Any(a => Named(a, "Mandatory") is true));
    }

    private static IEnumerable<CustomAttributeData> Attributes(MemberInfo member, string name) =>
        member.GetCustomAttributesData().Where(a => a.AttributeType.FullName == Sma + name);

    private static object? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.Where(n => n.MemberName == name).Select(n => n.TypedValue.Value).FirstOrDefault();

    public void Dispose() => _context.Dispose();
}
