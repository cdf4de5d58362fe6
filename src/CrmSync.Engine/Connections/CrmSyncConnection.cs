using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Connections;

/// <summary>
/// A CrmSync connection: a name, its state file and (when connected to services) the Dataverse, Business
/// Central and Graph clients with the identity they run as. Owns the state store and the clients;
/// dispose it (Disconnect-CrmSync) to release them. Never holds or shows a secret in its properties.
/// </summary>
public sealed partial class CrmSyncConnection : IDisposable
{
    private readonly StateStore _store;
    private ServiceClients? _services;
    private SyncPool? _sync;

    private CrmSyncConnection(string name, StateStore store)
    {
        Name = name;
        _store = store;
        ConnectedAt = DateTimeOffset.Now;
    }

    public string Name { get; }

    /// <summary>Where the state lives: the SQLite file, or postgresql://host:port/database.</summary>
    public string StatePath => _store.Path;

    /// <summary>SQLite or PostgreSQL.</summary>
    public string StateKind => _store.Kind;

    public DateTimeOffset ConnectedAt { get; }

    public bool IsOpen { get; private set; } = true;

    internal StateStore Store
    {
        get
        {
            if (!IsOpen)
            {
                throw new CrmSyncException("ConnectionClosed", CrmSyncErrorKind.InvalidOperation,
                    $"The connection '{Name}' was disconnected. Run Connect-CrmSync again.", this);
            }

            return _store;
        }
    }

    /// <summary>
    /// Opens a connection on its state: a PostgreSQL database when <paramref name="stateConnectionString"/> is given,
    /// else the SQLite file (with no state path, the named connection's default file).
    /// </summary>
    public static CrmSyncConnection Open(string? name = null, string? statePath = null, string? stateConnectionString = null)
    {
        var connectionName = string.IsNullOrWhiteSpace(name) ? CrmSyncPaths.DefaultConnectionName : name.Trim();
        if (statePath is not null && stateConnectionString is not null)
        {
            throw new CrmSyncException("StateLocationConflict", CrmSyncErrorKind.InvalidArgument,
                "Give the state either as a file (-StatePath) or as a PostgreSQL database (-StateConnectionString), not both.");
        }

        var store = stateConnectionString is not null
            ? StateStore.OpenPostgres(stateConnectionString)
            : StateStore.Open(string.IsNullOrWhiteSpace(statePath) ? CrmSyncPaths.DefaultStatePath(connectionName) : statePath);
        try
        {
            SeedStandardMappings(store);
            return new CrmSyncConnection(connectionName, store);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    // A new state file starts with BC's standard mapping set, so a first-time user sees the mappings at once.
    private static void SeedStandardMappings(StateStore store)
    {
        if (store.Mappings.HasAny)
        {
            return;
        }

        store.InTransaction(() =>
        {
            foreach (var mapping in StandardMappings.All())
            {
                store.Mappings.Save(mapping);
            }
        });
    }

    public void Dispose()
    {
        if (IsOpen)
        {
            IsOpen = false;
            _services?.Dispose();
            _sync?.Dispose();
            _store.Dispose();
        }
    }

    public override string ToString() => _services is null ? $"{Name} ({StatePath})" : $"{Name} (Dataverse {DataverseUrl}, Business Central {CompanyName}, as {Identity})";
}
