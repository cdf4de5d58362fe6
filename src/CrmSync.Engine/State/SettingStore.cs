
namespace CrmSync.State;

/// <summary>Named values of the connection (see SettingKeys).</summary>
internal sealed class SettingStore(StateDatabase db)
{
    public string? Get(string key) =>
        db.Query("SELECT value FROM setting WHERE key = $k", r => r.IsDBNull(0) ? null : r.GetString(0), ("$k", key)).FirstOrDefault();

    public void Set(string key, string? value) =>
        db.InTransaction(() => db.Execute("INSERT INTO setting (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value)));

    /// <summary>Every setting, for copying a store.</summary>
    public IReadOnlyList<(string Key, string? Value)> GetAll() =>
        db.Query("SELECT key, value FROM setting ORDER BY key", r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)));
}
