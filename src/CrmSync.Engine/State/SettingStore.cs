
namespace CrmSync.State;

/// <summary>Named values of the connection (see SettingKeys).</summary>
internal sealed class SettingStore(StateDatabase db)
{
    public string? Get(string key) =>
        db.Query("SELECT value FROM setting WHERE key = $k", r => r.IsDBNull(0) ? null : r.GetString(0), ("$k", key)).FirstOrDefault();

    public void Set(string key, string? value) =>
        db.InTransaction(() => db.Execute("INSERT INTO setting (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$k", key), ("$v", value)));
}
