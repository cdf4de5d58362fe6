using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace CrmSync.Sync.Passes;

/// <summary>A row of a pass's read, or (Row null) the end of its slice: every row of that slice came before.</summary>
internal readonly record struct SourceItem(SideRow? Row, int Slice);

/// <summary>
/// Reads a pass's source rows ahead of the writes. The first page is read as any change query is: one request, so idle and
/// small incremental runs cost one request. When it is full, the rest of the modified-on range is cut into slices that are
/// read at once — a service spends per-record time on every page (docs/reference/limits.md §3.1: reads are
/// cheap only when they run in parallel), so one reader after another caps a pass at one page per page-time. Rows come in
/// modified-on order within a slice, slices interleave; <see cref="ReadProgress"/> keeps the watermark behind every row not
/// yet committed. A row changed during the read may be read twice (in two slices): the pass keeps the first.
/// Memory holds at most <c>capacity</c> rows plus a page per slice, never the table.
/// </summary>
internal static class SourceRead
{
    /// <summary>Rows of the first request: all of an idle or small run, and soon done when slices follow.</summary>
    public const int FirstPageSize = 100;

    /// <summary>
    /// About how long a slice's page should take. The writes wait one page time for their first rows, and a slow service
    /// (several ms per record, as the execution-time limit assumes, docs/reference/limits.md §3.1) spends
    /// seconds on a page of 500; a fast one still gets whole pages.
    /// </summary>
    public static readonly TimeSpan SlicePageTime = TimeSpan.FromMilliseconds(500);

    /// <summary>Fewest rows per slice page: below this the per-request cost would dominate.</summary>
    public const int MinSlicePageSize = 100;

    /// <summary>
    /// Rows per slice page for a service that took <paramref name="elapsed"/> for a page of <paramref name="rows"/> and
    /// <paramref name="oneRow"/> for a request of one row: the difference is the time per row without the time per request.
    /// About <see cref="SlicePageTime"/> each, between <see cref="MinSlicePageSize"/> and <paramref name="maxPageSize"/>.
    /// </summary>
    internal static int SlicePageSize(TimeSpan elapsed, int rows, TimeSpan oneRow, int maxPageSize)
    {
        var floor = Math.Min(MinSlicePageSize, maxPageSize);
        var perRow = rows > 1 ? (elapsed - oneRow).TotalSeconds / (rows - 1) : 0;
        if (perRow <= 0)
        {
            return maxPageSize;
        }

        return (int)Math.Clamp(SlicePageTime.TotalSeconds / perRow, floor, maxPageSize);
    }

    /// <param name="time">The clock the first page and the one-row request are timed with (tests give a fake one).</param>
    public static async IAsyncEnumerable<SourceItem> ReadAsync(SyncSideAccess side, DateTimeOffset? modifiedFrom, string? filter, ReadProgress progress, int capacity,
        [EnumeratorCancellation] CancellationToken cancellationToken, TimeProvider? time = null)
    {
        var channel = Channel.CreateBounded<SourceItem>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ExceptionDispatchInfo? failure = null;
        var producer = Task.Run(async () =>
        {
            try
            {
                await ProduceAsync(side, modifiedFrom, filter, progress, channel.Writer, time ?? TimeProvider.System, stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Kept as it is (the channel would wrap it), for the consumer to see where it would have reading directly.
                failure ??= ExceptionDispatchInfo.Capture(ex);
                stop.Cancel();
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            while (await channel.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }

            failure?.Throw();
        }
        finally
        {
            // The consumer stopped early (a failure, Ctrl+C) or finished: the readers must not run on.
            stop.Cancel();
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task ProduceAsync(SyncSideAccess side, DateTimeOffset? modifiedFrom, string? filter, ReadProgress progress, ChannelWriter<SourceItem> writer,
        TimeProvider time, CancellationToken cancellationToken)
    {
        progress.Declare(0, modifiedFrom);
        var count = 0;
        SideRow? last = null;
        var started = time.GetTimestamp();
        await foreach (var row in side.ReadAsync(modifiedFrom, filter, FirstPageSize, cancellationToken).ConfigureAwait(false))
        {
            await writer.WriteAsync(new SourceItem(row, 0), cancellationToken).ConfigureAwait(false);
            last = row;
            if (++count == FirstPageSize)
            {
                break;
            }
        }

        if (count < FirstPageSize || last is null)
        {
            await writer.WriteAsync(new SourceItem(null, 0), cancellationToken).ConfigureAwait(false);
            return;
        }

        // The rest: from the first page's last modified-on (whole seconds, so Dataverse and BC cut alike; the few rows
        // read twice at that second are dropped by the pass) to the latest, in equal spans, the last one open-ended.
        var firstPage = time.GetElapsedTime(started);
        started = time.GetTimestamp();
        var from = WholeSecond(last.ModifiedOn);
        var latest = await side.LastModifiedAsync(filter, cancellationToken).ConfigureAwait(false) ?? from;
        var pageSize = SlicePageSize(firstPage, count, time.GetElapsedTime(started), side.ReadPageSize);
        var bounds = SliceBounds(from, latest, side.ReadSlices);
        for (var i = 0; i < bounds.Count; i++)
        {
            progress.Declare(i + 1, bounds[i]);
        }

        await writer.WriteAsync(new SourceItem(null, 0), cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(bounds.Select(async (lower, i) =>
        {
            var slice = i + 1;
            var upper = i + 1 < bounds.Count ? bounds[i + 1] : (DateTimeOffset?)null;
            await foreach (var row in side.ReadSliceAsync(lower, upper, filter, pageSize, cancellationToken).ConfigureAwait(false))
            {
                await writer.WriteAsync(new SourceItem(row, slice), cancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(new SourceItem(null, slice), cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    /// <summary>The lower bounds of up to <paramref name="slices"/> slices from <paramref name="from"/> to <paramref name="latest"/>: whole seconds, ascending, distinct.</summary>
    internal static IReadOnlyList<DateTimeOffset> SliceBounds(DateTimeOffset from, DateTimeOffset latest, int slices)
    {
        var bounds = new List<DateTimeOffset> { from };
        var span = latest - from;
        for (var i = 1; i < slices && span > TimeSpan.Zero; i++)
        {
            var bound = WholeSecond(from + span * i / slices);
            if (bound > bounds[^1])
            {
                bounds.Add(bound);
            }
        }

        return bounds;
    }

    private static DateTimeOffset WholeSecond(DateTimeOffset value) => new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
