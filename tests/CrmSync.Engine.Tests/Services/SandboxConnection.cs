using System.Text.Json;
using CrmSync.Connections;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Identity;
using CrmSync.SandboxControl;

namespace CrmSync.Engine.Tests.Services;

/// <summary>An in-process sandbox and a CrmSync connection to it over real HTTP.</summary>
public sealed class SandboxConnection : IAsyncDisposable
{
    private readonly TempDirectory _temp = new();

    private SandboxConnection(SandboxHost host, SandboxInstance instance)
    {
        Host = host;
        Instance = instance;
    }

    public SandboxHost Host { get; }

    public SandboxInstance Instance { get; }

    public CrmSyncConnection Connection { get; private set; } = null!;

    public List<string> Messages { get; } = new();

    public string StatePath => _temp.File("state.db");

    /// <param name="integrationIdentity">Synchronize as the sandbox's integration application (as Connect-CrmSync -Sandbox does).</param>
    public static async Task<SandboxConnection> StartAsync(SandboxOptions? options = null, Func<ConnectionSettings, ConnectionSettings>? adjust = null, bool connect = true, bool integrationIdentity = false)
    {
        var host = await SandboxHost.StartAsync(options ?? new SandboxOptions { DataverseUserSyncDelay = TimeSpan.Zero });
        var instance = SandboxProcess.Parse(JsonSerializer.Serialize(CrmSync.Sandbox.Program.Describe(host)));
        var sandbox = new SandboxConnection(host, instance);
        if (connect)
        {
            var settings = sandbox.Settings(adjust);
            if (integrationIdentity)
            {
                settings = settings with { IntegrationCredential = instance.IntegrationCredential() };
            }

            using var listening = sandbox.Listen();
            sandbox.Connection = await CrmSyncConnection.ConnectAsync(settings);
        }

        return sandbox;
    }

    /// <summary>Replaces the connection with one opened from these settings (e.g. the same state, other identities).</summary>
    public async Task ReconnectAsync(ConnectionSettings settings)
    {
        Connection?.Dispose();
        using var listening = Listen();
        Connection = await CrmSyncConnection.ConnectAsync(settings);
    }

    public ConnectionSettings Settings(Func<ConnectionSettings, ConnectionSettings>? adjust = null)
    {
        var settings = Instance.ToConnectionSettings("test", StatePath) with { Retry = new Http.RetrySettings { BaseDelay = TimeSpan.FromMilliseconds(50), MaxRetries = 6 } };
        return adjust is null ? settings : adjust(settings);
    }

    /// <summary>Registers an application in the sandbox tenant (and, optionally, as a Dataverse application user with a role).</summary>
    public SandboxIdentity AddApplication(string name, string secret, string? dataverseRole = null, bool businessCentral = true)
    {
        var identity = Host.Identities.Add(new SandboxIdentity
        {
            ObjectId = Guid.NewGuid(),
            DisplayName = name,
            Kind = IdentityKind.Application,
            ClientId = Guid.NewGuid(),
            ClientSecret = secret,
            BusinessCentralAccess = businessCentral,
        });
        if (dataverseRole is not null)
        {
            var userId = Guid.NewGuid();
            var created = Host.Invoke("Dataverse", Host.Sample!.SetupApp, "POST", "systemusers", new Dictionary<string, object>
            {
                ["systemuserid"] = userId, ["applicationid"] = identity.ClientId!.Value, ["lastname"] = name, ["isdisabled"] = false, ["accessmode"] = 4,
                ["businessunitid@odata.bind"] = $"/businessunits({Host.Sample.RootBusinessUnitId})",
            });
            Assert.Equal(204, created.Status);
            var role = Host.Dataverse.Table("roles").Rows.First(r => (string?)r.Values[1] == dataverseRole && Equals((r.Values[2] as CrmSync.Sandbox.Core.LookupValue)?.Id, Host.Sample.RootBusinessUnitId));
            Host.Dataverse.AssignRole(userId, (Guid)role.Values[0]!);
        }

        return identity;
    }

    public async Task<CrmSyncConnection> ConnectAsAsync(SandboxIdentity identity, string secret, List<string>? log = null)
    {
        using var listening = CallLog.Use(new ListLog(log ?? new List<string>()));
        var settings = Instance.ToConnectionSettings("as-" + identity.DisplayName, _temp.File(Guid.NewGuid().ToString("N") + ".db"), identity.ClientId, secret);
        return await CrmSyncConnection.ConnectAsync(settings with { Retry = new Http.RetrySettings { BaseDelay = TimeSpan.FromMilliseconds(50), MaxRetries = 2 } });
    }

    /// <summary>
    /// Collects the engine's messages into <see cref="Messages"/> for the calls that follow in the calling method, as a
    /// cmdlet's call does for its own streams (<see cref="CallLog"/> flows with the caller's async work only).
    /// </summary>
    public IDisposable Listen() => CallLog.Use(new ListLog(Messages));

    public async ValueTask DisposeAsync()
    {
        Connection?.Dispose();
        await Host.DisposeAsync();
        _temp.Dispose();
    }

    public sealed class ListLog(List<string> messages) : IEngineLog
    {
        public void Verbose(string message)
        {
            lock (messages)
            {
                messages.Add("VERBOSE: " + message);
            }
        }

        public void Warning(string message)
        {
            lock (messages)
            {
                messages.Add("WARNING: " + message);
            }
        }
    }
}
