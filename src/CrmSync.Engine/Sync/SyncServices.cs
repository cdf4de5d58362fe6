using CrmSync.BusinessCentral;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Http;
using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>
/// What synchronization works with: the state store, the clients of the identity it writes as, whose changes are
/// never synchronized back, and the request counts a job reports. Composed from a connection once per run.
/// </summary>
internal sealed record SyncServices(
    StateStore Store,
    DataverseClient Dataverse,
    BusinessCentralClient BusinessCentral,
    IReadOnlyList<Guid> WriterDataverseUserIds,
    Func<ServiceKind, int> RequestsSent)
{
    /// <summary>The integration identity's clients when the connection has one, else the connection's own.</summary>
    public static SyncServices Of(CrmSyncConnection connection) =>
        new(connection.Store, connection.SyncDataverse, connection.SyncBusinessCentral,
            connection.SyncDataverseUserIds.Count > 0 ? connection.SyncDataverseUserIds : new[] { connection.DataverseUserId }.OfType<Guid>().ToList(),
            connection.RequestsSent);

    /// <summary>
    /// The Dataverse users whose changes are never synchronized back: the integration user recorded by New-IntegrationUser
    /// and every identity synchronization writes as (each of a pool).
    /// </summary>
    public IReadOnlyList<Guid> IntegrationUserIds =>
        new[] { Guid.TryParse(Store.Settings.Get(SettingKeys.IntegrationUserId), out var configured) ? configured : (Guid?)null }
            .OfType<Guid>().Concat(WriterDataverseUserIds).Distinct().ToList();
}
