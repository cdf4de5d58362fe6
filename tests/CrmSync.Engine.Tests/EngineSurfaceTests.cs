using System.Reflection;
using CrmSync.Connections;

namespace CrmSync.Engine.Tests;

// The engine must load into its own AssemblyLoadContext: no PowerShell reference, no dependency types in its public surface.
public sealed class EngineSurfaceTests
{
    private static readonly Assembly Engine = typeof(CrmSyncConnection).Assembly;

    private static readonly string[] ForbiddenPrefixes =
    {
        "Microsoft.Data.Sqlite", "SQLitePCL", "System.Management.Automation", "Microsoft.PowerShell",
        "Azure.", "Microsoft.Identity", "Microsoft.Graph", "Microsoft.Kiota", "Polly",
    };

    [Fact]
    public void The_engine_references_no_PowerShell_assembly()
    {
        var references = Engine.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.DoesNotContain(references, r => r.StartsWith("System.Management.Automation", StringComparison.Ordinal) || r.StartsWith("Microsoft.PowerShell", StringComparison.Ordinal));
    }

    [Fact]
    public void No_public_member_exposes_a_dependency_type_SQLite_Azure_MSAL_Graph_or_Polly()
    {
        var offenders = PublicSurfaceTypes().Where(t => ForbiddenPrefixes.Any(p => (t.FullName ?? t.Name).StartsWith(p, StringComparison.Ordinal)))
            .Select(t => t.FullName).Distinct().ToList();

        Assert.Empty(offenders);
        // The check sees through members: the store's public API is in the surface it walked.
        Assert.Contains(typeof(CrmSync.State.StateStore), PublicSurfaceTypes());
    }

    private static IEnumerable<Type> PublicSurfaceTypes()
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in Engine.GetExportedTypes())
        {
            yield return type;
            foreach (var t in Expand(type.BaseType).Concat(type.GetInterfaces().SelectMany(Expand)))
            {
                yield return t;
            }

            foreach (var member in type.GetMembers(flags))
            {
                var types = member switch
                {
                    PropertyInfo p => new[] { p.PropertyType },
                    FieldInfo f => new[] { f.FieldType },
                    MethodInfo m => m.GetParameters().Select(x => x.ParameterType).Append(m.ReturnType).ToArray(),
                    ConstructorInfo c => c.GetParameters().Select(x => x.ParameterType).ToArray(),
                    EventInfo e => new[] { e.EventHandlerType! },
                    _ => Array.Empty<Type>(),
                };
                foreach (var t in types.SelectMany(Expand))
                {
                    yield return t;
                }
            }
        }
    }

    private static IEnumerable<Type> Expand(Type? type)
    {
        if (type is null)
        {
            yield break;
        }

        var element = type.HasElementType ? type.GetElementType()! : type;
        yield return element;
        if (element.IsGenericType)
        {
            foreach (var argument in element.GetGenericArguments().SelectMany(Expand))
            {
                yield return argument;
            }
        }
    }
}
