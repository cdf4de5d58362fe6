using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace CrmSync.PowerShell.Loader;

/// <summary>
/// Loads CrmSync.Engine and its dependencies (SQLite, Graph, Azure.Identity, MSAL) from Dependencies/ into
/// their own AssemblyLoadContext, so CrmSync works in a session that already loaded other versions of them
/// (Az.Accounts, Microsoft.Graph, PnP.PowerShell). Only the engine is answered from the default context;
/// everything else resolves inside the engine's context.
/// </summary>
/// <remarks>
/// This lives in its own assembly, imported as the manifest's first nested module, because
/// Import-Module calls GetExportedTypes() on the cmdlet assembly — which needs the engine — before it runs
/// that assembly's initializer. By then this resolver is already in place.
/// </remarks>
public sealed class EngineResolver : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssemblyName = "CrmSync.Engine";

    private static readonly string DependencyDirectory =
        Path.Combine(Path.GetDirectoryName(typeof(EngineResolver).Assembly.Location)!, "Dependencies");

    private static readonly Lazy<EngineLoadContext> EngineContext =
        new(() => new EngineLoadContext(Path.Combine(DependencyDirectory, EngineAssemblyName + ".dll")));

    public void OnImport()
    {
        // Importing in another runspace of the same process calls this again: hook once.
        AssemblyLoadContext.Default.Resolving -= ResolveEngine;
        AssemblyLoadContext.Default.Resolving += ResolveEngine;
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        string.Equals(name.Name, EngineAssemblyName, StringComparison.Ordinal) && File.Exists(Path.Combine(DependencyDirectory, EngineAssemblyName + ".dll"))
            ? EngineContext.Value.LoadFromAssemblyName(name)
            : null;
}

/// <summary>The engine's own load context: its dependencies resolve from its .deps.json, never from the default context.</summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    private readonly AssemblyDependencyResolver _resolver;

    public EngineLoadContext(string enginePath)
        : base("CrmSync.Engine", isCollectible: false)
    {
        _resolver = new AssemblyDependencyResolver(enginePath);
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // PowerShell's own assembly is always the host's.
        if (string.Equals(assemblyName.Name, "System.Management.Automation", StringComparison.Ordinal))
        {
            return null;
        }

        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
