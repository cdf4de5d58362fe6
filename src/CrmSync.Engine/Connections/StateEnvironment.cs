using CrmSync.State;

namespace CrmSync.Connections;

/// <summary>
/// The one environment a state was made for: the Entra tenant, the Dataverse organization, the Business Central
/// environment and company. Couplings, watermarks and the recorded integration user mean nothing anywhere else — BC
/// itself removes the couplings of a copied company — so a connection to another environment is refused until the
/// admin picks another state or re-points this one (which forgets them).
/// </summary>
public sealed record StateEnvironment(Guid TenantId, Guid DataverseOrganizationId, string BusinessCentralEnvironment, Guid CompanyId)
{
    private const string Key = "Environment";

    public override string ToString() =>
        $"tenant {TenantId}, Dataverse organization {DataverseOrganizationId}, Business Central environment '{BusinessCentralEnvironment}' company {CompanyId}";

    /// <summary>The environment a state records; null for a state no connection to services has used yet.</summary>
    internal static StateEnvironment? Recorded(StateStore store) =>
        store.Settings.Get(Key) is { } text ? System.Text.Json.JsonSerializer.Deserialize<StateEnvironment>(text) : null;

    internal void Record(StateStore store) => store.Settings.Set(Key, System.Text.Json.JsonSerializer.Serialize(this));

    /// <summary>The environment name in a BC API v2.0 root (…/v2.0/{tenant}/{environment}/api/v2.0/ or …/v2.0/{environment}/api/v2.0/).</summary>
    internal static string EnvironmentOf(string businessCentralApiUrl)
    {
        var segments = new Uri(businessCentralApiUrl).AbsolutePath.Trim('/').Split('/');
        var api = Array.FindLastIndex(segments, s => s.Equals("api", StringComparison.OrdinalIgnoreCase));
        return api > 0 ? segments[api - 1] : businessCentralApiUrl;
    }

    /// <summary>
    /// Binds the state to <paramref name="current"/>: records it on first use; refuses another environment with the
    /// choices; with <paramref name="repoint"/> forgets what belonged to the old one (couplings, watermarks, failures,
    /// pending writes, the integration user and admin) and records the new one. Mappings and the job log stay.
    /// </summary>
    internal static void Bind(StateStore store, string statePath, StateEnvironment current, bool repoint)
    {
        var recorded = Recorded(store);
        if (recorded == current)
        {
            return;
        }

        if (recorded is not null && !repoint)
        {
            throw new CrmSyncException("StateBelongsToAnotherEnvironment", CrmSyncErrorKind.InvalidOperation,
                $"The state {statePath} was made for {recorded}, but this connection reaches {current}. Its couplings, watermarks and integration user belong to the other environment. " +
                "Use a state of its own for this environment (-StatePath, or a different -Name), or re-point this state with -RepointState (after confirmation it forgets the couplings, watermarks and integration user, as Business Central does for a copied company; mappings and the job log stay).",
                statePath);
        }

        store.InTransaction(() =>
        {
            if (recorded is not null)
            {
                store.ForgetEnvironmentData();
            }

            current.Record(store);
        });
    }
}
