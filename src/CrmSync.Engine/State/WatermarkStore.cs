using CrmSync.Mapping;
using static CrmSync.State.StateValues;

namespace CrmSync.State;

/// <summary>Per mapping and side, the modified-on time up to which changes were synchronized; watermarks only move forward.</summary>
internal sealed class WatermarkStore(StateDatabase db)
{
    public DateTimeOffset? Get(string mappingName, SyncSide side) =>
        db.Query("SELECT value FROM watermark WHERE mapping_name = $m AND side = $s", r => (DateTimeOffset?)ParseDate(r.GetString(0)),
            ("$m", mappingName), ("$s", (int)side)).FirstOrDefault();

    /// <summary>Moves a watermark forward; an earlier value is ignored (watermarks never move back). Returns the stored value.</summary>
    public DateTimeOffset Advance(string mappingName, SyncSide side, DateTimeOffset value)
    {
        DateTimeOffset result = value;
        db.InTransaction(() =>
        {
            var current = Get(mappingName, side);
            if (current is { } existing && existing >= value)
            {
                result = existing;
                return;
            }

            Set(mappingName, side, value);
        });
        return result;
    }

    /// <summary>Sets or (with null) clears a watermark unconditionally — for resets and full-sync bookkeeping.</summary>
    public void Set(string mappingName, SyncSide side, DateTimeOffset? value)
    {
        db.InTransaction(() =>
        {
            if (value is null)
            {
                db.Execute("DELETE FROM watermark WHERE mapping_name = $m AND side = $s", ("$m", mappingName), ("$s", (int)side));
            }
            else
            {
                db.Execute("INSERT INTO watermark (mapping_name, side, value) VALUES ($m, $s, $v) ON CONFLICT(mapping_name, side) DO UPDATE SET value = excluded.value",
                    ("$m", mappingName), ("$s", (int)side), ("$v", Format(value.Value)));
            }
        });
    }


    /// <summary>Every watermark, for reading mappings with theirs in one query.</summary>
    internal IReadOnlyList<(string Name, SyncSide Side, DateTimeOffset Value)> GetAll() =>
        db.Query("SELECT mapping_name, side, value FROM watermark", r => (Name: r.GetString(0), Side: (SyncSide)r.GetInt32(1), Value: ParseDate(r.GetString(2))));
}
