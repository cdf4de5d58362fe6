namespace CrmSync.Sync.Passes;

/// <summary>
/// How far a pass's read is committed, slice by slice, for the watermark. Rows arrive in modified-on order within a
/// slice but slices interleave, so the watermark may only move to the lowest point any unfinished slice has reached:
/// then every row modified before it is committed, and a crash loses nothing (the next run reads from there).
/// </summary>
internal sealed class ReadProgress
{
    private readonly object _gate = new();
    private readonly Dictionary<int, Slice> _slices = new();

    /// <summary>A slice starts at <paramref name="from"/> (null: the beginning of time). Declared before any of its rows are read.</summary>
    public void Declare(int slice, DateTimeOffset? from)
    {
        lock (_gate)
        {
            _slices[slice] = new Slice(from);
        }
    }

    /// <summary>
    /// Takes the items of the next batch to commit (rows and slice ends, in the order read) and returns the watermark that
    /// batch may set when it commits, if any. Batches commit in the order they were taken, and after a failed one none
    /// moves the watermark (SyncPass).
    /// </summary>
    public DateTimeOffset? WatermarkAfter(IEnumerable<SourceItem> items)
    {
        lock (_gate)
        {
            foreach (var item in items)
            {
                var slice = _slices[item.Slice];
                if (item.Row is { } row)
                {
                    slice.Reached = slice.Reached is { } reached && reached > row.ModifiedOn ? reached : row.ModifiedOn;
                }
                else
                {
                    slice.Done = true;
                }
            }

            DateTimeOffset? lowest = null;
            DateTimeOffset? highest = null;
            foreach (var slice in _slices.Values)
            {
                if (slice.Reached is { } reached && (highest is null || reached > highest))
                {
                    highest = reached;
                }

                if (!slice.Done)
                {
                    // A slice with nothing committed holds the watermark at its start (before all time: no watermark).
                    if ((slice.Reached ?? slice.From) is not { } point)
                    {
                        return _allowed;
                    }

                    lowest = lowest is null || point < lowest ? point : lowest;
                }
            }

            // A watermark once safe stays safe (its rows stay committed): never give a lower one.
            var allowed = lowest ?? highest;
            if (allowed > _allowed || _allowed is null)
            {
                _allowed = allowed;
            }

            return _allowed;
        }
    }

    private DateTimeOffset? _allowed;

    private sealed class Slice(DateTimeOffset? from)
    {
        public DateTimeOffset? From { get; } = from;

        public DateTimeOffset? Reached { get; set; }

        public bool Done { get; set; }
    }
}
