
namespace CrmSync.State;

/// <summary>Named values of the connection (see SettingKeys).</summary>
public sealed class SettingStore
{
    private readonly StateDatabase _db;

    internal SettingStore(StateDatabase db)
    {
        _db = db;
    }

    public string? Get(string key) =>
        _db.Query("SELECT value FROM setting WHERE key = $k", r => r.IsDBNull(0) ? null : r.GetString(0), ("$k", key)).FirstOrDefault();

    public void Set(string key, string? value) =>
        _db.InTransaction(() => _db.Execute("INSERT INTO setting (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value)));
}
