using System.Reflection;
using System.Runtime.Loader;
using CrmSync.PowerShell.Loader;

namespace CrmSync.PowerShell.Tests;

// The engine and its dependencies run in their own load context while another MSAL is loaded
// (docs/reference/dependencies.md, "The engine's own AssemblyLoadContext").
public sealed class LoadContextIsolationTests
{
    [Fact]
    public async Task The_engine_signs_in_with_its_own_MSAL_while_another_version_is_loaded()
    {
        var hostMsal = typeof(Microsoft.Identity.Client.PublicClientApplication).Assembly;
        Assert.Equal((4, 92), (hostMsal.GetName().Version!.Major, hostMsal.GetName().Version!.Minor));
        var context = new EngineLoadContext(Path.Combine(AppContext.BaseDirectory, "isolated-engine", "CrmSync.Engine.dll"));
        var engine = context.LoadFromAssemblyName(new AssemblyName("CrmSync.Engine"));
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(engine));
        Assert.NotSame(typeof(CrmSync.Connections.CrmSyncConnection).Assembly, engine);

        // Engine code from that context signs in with a client secret against a local authority that refuses
        // connections: Azure.Identity and MSAL load and run inside the context.
        object New(string type, params object?[] args) => Activator.CreateInstance(engine.GetType(type, throwOnError: true)!, args)!;
        T Init<T>(T target, string property, object? value)
        {
            target!.GetType().GetProperty(property)!.SetValue(target, value);
            return target;
        }

        var credential = New("CrmSync.Auth.ClientSecretCredentialSpec", New("CrmSync.Auth.SecretText", "not-a-real-secret"));
        Init(credential, "TenantId", "contoso.onmicrosoft.com");
        Init(credential, "ClientId", Guid.NewGuid().ToString());
        Init(credential, "AuthorityHost", new Uri("https://127.0.0.1:1/"));
        var endpoints = New("CrmSync.Connections.ServiceEndpoints");
        Init(endpoints, "DataverseUrl", "https://127.0.0.1:1/dataverse");
        Init(endpoints, "BusinessCentralApiUrl", "https://127.0.0.1:1/bc/api/v2.0/");
        Init(endpoints, "GraphUrl", "https://127.0.0.1:1/v1.0");
        var settings = New("CrmSync.Connections.ConnectionSettings");
        var state = Path.Combine(Path.GetTempPath(), "crmsync-alc-" + Guid.NewGuid().ToString("N") + ".db");
        Init(settings, "Name", "isolated");
        Init(settings, "StatePath", state);
        Init(settings, "Endpoints", endpoints);
        Init(settings, "Credential", credential);
        Init(settings, "Retry", Init(New("CrmSync.Http.RetrySettings"), "MaxRetries", 0));
        var connect = engine.GetType("CrmSync.Connections.CrmSyncConnection")!.GetMethod("ConnectAsync")!;

        var error = await Assert.ThrowsAnyAsync<Exception>(() => (Task)connect.Invoke(null, new object?[] { settings, CancellationToken.None })!);

        Assert.Equal("CrmSync.Connections.ConnectionCheckFailedException", error.GetType().FullName);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(error.GetType().Assembly));
        var engineMsal = context.Assemblies.Single(a => a.GetName().Name == "Microsoft.Identity.Client");
        Assert.Equal((4, 83), (engineMsal.GetName().Version!.Major, engineMsal.GetName().Version!.Minor));
        var loaded = string.Join(", ", context.Assemblies.Select(a => a.GetName().Name));
        // Azure.Identity 1.21 forwards its credentials to Azure.Core 1.53 (docs/reference/dependencies.md).
        Assert.True(context.Assemblies.Any(a => a.GetName().Name == "Azure.Core"), loaded);
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name == "Azure.Core");
        Assert.True(context.Assemblies.Any(a => a.GetName().Name == "Microsoft.Data.Sqlite"), loaded);
        Assert.True(File.Exists(state), "the engine's SQLite (native e_sqlite3 from its own folder) created the state file");
        Assert.Same(hostMsal, typeof(Microsoft.Identity.Client.PublicClientApplication).Assembly);
    }
}
