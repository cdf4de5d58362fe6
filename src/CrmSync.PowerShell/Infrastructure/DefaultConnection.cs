using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using CrmSync.Connections;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>
/// The current connection of each runspace (never process-wide: ForEach-Object -Parallel and hosted
/// runbooks each get their own). Before Connect-CrmSync, the first cmdlet opens the default local connection.
/// </summary>
internal static class DefaultConnection
{
    private static readonly ConditionalWeakTable<Runspace, Holder> ByRunspace = new();
    private static readonly Holder NoRunspace = new();

    private static Holder Current => Runspace.DefaultRunspace is { } runspace ? ByRunspace.GetOrCreateValue(runspace) : NoRunspace;

    public static CrmSyncConnection? Get() => Current.Connection is { IsOpen: true } open ? open : null;

    public static CrmSyncConnection GetOrOpenDefault()
    {
        var holder = Current;
        lock (holder)
        {
            if (holder.Connection is not { IsOpen: true })
            {
                holder.Connection = CrmSyncConnection.Open();
                holder.HandedOut = false;
            }

            return holder.Connection;
        }
    }

    /// <summary>
    /// Makes <paramref name="connection"/> the runspace's default, closing the previous one unless it was handed to the
    /// caller (Connect-CrmSync -PassThru): that one stays open for -Connection until Disconnect-CrmSync -Connection.
    /// </summary>
    public static void Set(CrmSyncConnection connection, bool handedOut)
    {
        var holder = Current;
        lock (holder)
        {
            if (holder.Connection is { } previous && !ReferenceEquals(previous, connection) && !holder.HandedOut)
            {
                previous.Dispose();
            }

            holder.Connection = connection;
            holder.HandedOut = handedOut;
        }
    }

    /// <summary>Forgets <paramref name="connection"/> if it is the runspace's default.</summary>
    public static void Clear(CrmSyncConnection connection)
    {
        var holder = Current;
        lock (holder)
        {
            if (ReferenceEquals(holder.Connection, connection))
            {
                holder.Connection = null;
            }
        }
    }

    public static void CloseCurrent()
    {
        var holder = Current;
        lock (holder)
        {
            holder.Connection?.Dispose();
            holder.Connection = null;
        }
    }

    private sealed class Holder
    {
        public CrmSyncConnection? Connection { get; set; }

        public bool HandedOut { get; set; }
    }
}
