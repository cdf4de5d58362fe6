namespace CrmSync.Sandbox.Core;

/// <summary>
/// The rows of one emulated table, keyed by primary id. Not thread-safe on its own: every access goes
/// through its <see cref="ServiceStore"/>'s lock.
/// </summary>
public sealed class EntityTable
{
    private readonly Dictionary<Guid, Row> _rows = new();
    private readonly ServiceStore _store;

    // Unique columns are indexed (case-insensitive), so uniqueness checks stay O(1) at 100,000+ rows.
    private readonly Dictionary<int, Dictionary<string, Guid>> _unique = new();

    internal EntityTable(EntitySchema schema, ServiceStore store)
    {
        Schema = schema;
        _store = store;
        foreach (var column in schema.UniqueColumns)
        {
            _unique[schema.IndexOf(column)] = new Dictionary<string, Guid>(StringComparer.OrdinalIgnoreCase);
        }
    }

    public EntitySchema Schema { get; }

    public int Count => _rows.Count;

    public Row? Get(Guid id) => _rows.TryGetValue(id, out var row) ? row : null;

    public IReadOnlyCollection<Row> Rows => _rows.Values;

    /// <summary>Inserts or replaces a row; the previous version is recorded for undo.</summary>
    public void Put(Row row)
    {
        var id = (Guid)row.Values[Schema.KeyIndex]!;
        _store.RecordUndo(this, id, Get(id));
        Set(id, row);
    }

    public bool Remove(Guid id)
    {
        var existing = Get(id);
        if (existing is null)
        {
            return false;
        }

        _store.RecordUndo(this, id, existing);
        Set(id, null);
        return true;
    }

    // Bumped by every change: an ordered snapshot is valid only for the version it was sorted at.
    private long _version;
    private readonly Dictionary<string, (long Version, Row[] Rows)> _ordered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _scannedAt = new(StringComparer.Ordinal);

    /// <summary>
    /// The rows sorted by <paramref name="keys"/> (the order named <paramref name="order"/>), kept while the table is
    /// unchanged: paging through a large table in a fixed order (change tracking by modified time) then costs a binary
    /// search and a page instead of a scan of every row per page, as a database index would. Null for the first read of a
    /// version (the caller scans): a one-page change read must not pay for a sort, and a table written between every read
    /// never sorts; a second read of the same version is paging through it, and sorts once.
    /// </summary>
    internal Row[]? Ordered(string order, IReadOnlyList<(Func<Row, object?> Get, bool Descending)> keys)
    {
        if (_ordered.TryGetValue(order, out var snapshot) && snapshot.Version == _version)
        {
            return snapshot.Rows;
        }

        if (!_scannedAt.TryGetValue(order, out var scanned) || scanned != _version)
        {
            _scannedAt[order] = _version;
            return null;
        }

        // Each row's sort values are read (and normalized) once, not at every comparison: 100,000 rows sort in tens of ms.
        var rows = _rows.Values.ToArray();
        var values = new object?[rows.Length][];
        for (var i = 0; i < rows.Length; i++)
        {
            var rowValues = new object?[keys.Count];
            for (var k = 0; k < keys.Count; k++)
            {
                rowValues[k] = ValueComparer.Normalize(keys[k].Get(rows[i]));
            }

            values[i] = rowValues;
        }

        Array.Sort(values, rows, Comparer<object?[]>.Create((a, b) =>
        {
            for (var k = 0; k < a.Length; k++)
            {
                var c = ValueComparer.Compare(a[k], b[k]);
                if (c != 0)
                {
                    return keys[k].Descending ? -c : c;
                }
            }

            return 0;
        }));
        _ordered[order] = (_version, rows);
        return rows;
    }

    private void Set(Guid id, Row? row)
    {
        _version++;
        if (_rows.TryGetValue(id, out var previous))
        {
            foreach (var (column, index) in _unique)
            {
                if (IndexKey(previous.Values[column]) is { } key && index.TryGetValue(key, out var owner) && owner == id)
                {
                    index.Remove(key);
                }
            }
        }

        if (row is null)
        {
            _rows.Remove(id);
            return;
        }

        _rows[id] = row;
        foreach (var (column, index) in _unique)
        {
            if (IndexKey(row.Values[column]) is { } key)
            {
                index[key] = id;
            }
        }
    }

    private static string? IndexKey(object? value) => ValueComparer.Normalize(value) switch
    {
        null => null,
        string s => s,
        Guid g => g.ToString("N"),
        var other => other.ToString(),
    };

    /// <summary>Rows (other than <paramref name="except"/>) whose unique column equals the value, case-insensitively.</summary>
    public Row? FindUnique(int column, object? value, Guid? except)
    {
        if (value is null)
        {
            return null;
        }

        if (_unique.TryGetValue(column, out var index))
        {
            return IndexKey(value) is { } key && index.TryGetValue(key, out var owner) && owner != except ? _rows[owner] : null;
        }

        foreach (var row in _rows.Values)
        {
            var other = row.Values[column];
            if (other is not null && ValueComparer.AreEqual(other, value) && (except is null || !Equals(row.Values[Schema.KeyIndex], except)))
            {
                return row;
            }
        }

        return null;
    }

    internal void Restore(Guid id, Row? previous) => Set(id, previous);
}

/// <summary>
/// The data of one emulated service: its tables, one lock, a row-version counter and an undo log so
/// atomic groups (Dataverse change sets, bulk messages, BC snapshot batches) can roll back.
/// </summary>
public sealed class ServiceStore
{
    private readonly Dictionary<string, EntityTable> _bySet = new(StringComparer.OrdinalIgnoreCase);
    private List<(EntityTable Table, Guid Id, Row? Previous)>? _undo;
    private long _version = 1_000_000;

    public object Sync { get; } = new();

    public EntityTable Add(EntitySchema schema) => Add(schema, schema.EntitySet);

    /// <summary>Adds a table under its own key (BC: one table per company and entity set).</summary>
    public EntityTable Add(EntitySchema schema, string key)
    {
        var table = new EntityTable(schema, this);
        _bySet.Add(key, table);
        return table;
    }

    public EntityTable? Table(string key) => _bySet.TryGetValue(key, out var t) ? t : null;

    public IEnumerable<EntityTable> Tables => _bySet.Values;

    public long NextVersion() => Interlocked.Increment(ref _version);

    /// <summary>The last version given to a write: unchanged as long as nothing in the store was written.</summary>
    public long CurrentVersion => Interlocked.Read(ref _version);

    /// <summary>Runs <paramref name="work"/> atomically: if it throws, every row it wrote is restored. Callers hold <see cref="Sync"/>.</summary>
    public T Atomic<T>(Func<T> work)
    {
        if (_undo is not null)
        {
            return work();
        }

        var undo = new List<(EntityTable, Guid, Row?)>();
        _undo = undo;
        try
        {
            var result = work();
            _undo = null;
            return result;
        }
        catch
        {
            for (var i = undo.Count - 1; i >= 0; i--)
            {
                var (table, id, previous) = undo[i];
                table.Restore(id, previous);
            }

            _undo = null;
            throw;
        }
    }

    internal void RecordUndo(EntityTable table, Guid id, Row? previous) => _undo?.Add((table, id, previous));
}
