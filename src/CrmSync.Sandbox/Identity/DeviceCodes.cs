using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace CrmSync.Sandbox.Identity;

public enum DeviceCodeState
{
    Pending,
    Approved,
    Unknown,
}

/// <summary>
/// The device authorization grant's codes: issued to an application, approved by a person on /devicelogin, redeemed
/// once for tokens; and the refresh tokens a person's sign-in leaves (MSAL signs in silently to the other services).
/// </summary>
public sealed class DeviceCodes
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<string, Entry> _byDeviceCode = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (SandboxIdentity Person, string ClientId)> _refreshTokens = new(StringComparer.Ordinal);

    private sealed class Entry(string userCode, string clientId)
    {
        public string UserCode { get; } = userCode;
        public string ClientId { get; } = clientId;
        public DateTimeOffset Expires { get; } = DateTimeOffset.UtcNow + Lifetime;
        public SandboxIdentity? ApprovedBy { get; set; }
    }

    public (string DeviceCode, string UserCode) Issue(string clientId)
    {
        var deviceCode = Token();
        // Nine letters and digits a person types, as Entra's codes look.
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        var userCode = new string(RandomNumberGenerator.GetItems<char>(alphabet, 9));
        _byDeviceCode[deviceCode] = new Entry(userCode, clientId);
        return (deviceCode, userCode);
    }

    public bool Approve(string userCode, SandboxIdentity person)
    {
        var entry = _byDeviceCode.Values.FirstOrDefault(e => string.Equals(e.UserCode, userCode, StringComparison.OrdinalIgnoreCase) && e.Expires > DateTimeOffset.UtcNow);
        if (entry is null)
        {
            return false;
        }

        entry.ApprovedBy = person;
        return true;
    }

    /// <summary>Pending until approved; approved once (the code is then spent); unknown when expired or never issued.</summary>
    public (DeviceCodeState State, SandboxIdentity? Person, string? ClientId) Redeem(string deviceCode)
    {
        if (!_byDeviceCode.TryGetValue(deviceCode, out var entry) || entry.Expires <= DateTimeOffset.UtcNow)
        {
            return (DeviceCodeState.Unknown, null, null);
        }

        if (entry.ApprovedBy is null)
        {
            return (DeviceCodeState.Pending, null, null);
        }

        _byDeviceCode.TryRemove(deviceCode, out _);
        return (DeviceCodeState.Approved, entry.ApprovedBy, entry.ClientId);
    }

    public string IssueRefreshToken(SandboxIdentity person, string clientId)
    {
        var token = Token();
        _refreshTokens[token] = (person, clientId);
        return token;
    }

    public (SandboxIdentity Person, string ClientId)? Refresh(string refreshToken) =>
        _refreshTokens.TryGetValue(refreshToken, out var found) ? found : null;

    private static string Token() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
