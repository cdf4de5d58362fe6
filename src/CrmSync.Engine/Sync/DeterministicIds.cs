using System.Security.Cryptography;
using System.Text;

namespace CrmSync.Sync;

/// <summary>
/// The Dataverse id of a row created from a BC record is derived from the mapping and the BC SystemId
/// (a name-based, version 5 style GUID), so a retried or repeated create upserts the same row instead of
/// creating a duplicate (docs/ARCHITECTURE.md, "Reliability by construction").
/// </summary>
public static class DeterministicIds
{
    private static readonly byte[] Namespace = Guid.Parse("5b6d4c1a-9f0e-4c4d-8a3b-2f1e6d7c8b90").ToByteArray();

    public static Guid ForDataverse(string mappingName, Guid bcId)
    {
        var name = Encoding.UTF8.GetBytes(mappingName.ToUpperInvariant() + ":" + bcId.ToString("D"));
        var hash = SHA1.HashData(Namespace.Concat(name).ToArray());
        var bytes = hash[..16];
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }
}
