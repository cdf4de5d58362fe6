using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using CrmSync.Mapping;
using CrmSync.Sync;
using CrmSync.Sync.Passes;
using Microsoft.Extensions.Time.Testing;

namespace CrmSync.Engine.Tests.Sync;

/// <summary>
/// The pass's source read: one request when the changes fit a page, slices read at once when they do not; every row
/// delivered, each slice's end after its rows, and a watermark (ReadProgress) that never passes a row not yet committed.
/// </summary>
public sealed class SourceReadTests
{
    /// <summary>A side over an in-memory table that answers as the services do (ordered by modified-on and id, paged) and counts requests.</summary>
    private sealed class TableSide(IReadOnlyList<SideRow> rows, int slices = 5, int pageSize = 500, Exception? failAfterRequests = null, int failAt = int.MaxValue,
        TimeSpan rowTime = default, FakeTimeProvider? clock = null)
        : SyncSideAccess(StandardMappings.Get(StandardMappings.Customer)!)
    {
        private int _requests;

        /// <summary>The page size each slice asked for.</summary>
        public List<int> SlicePageSizes { get; } = new();

        /// <summary>The page size of each read that was not a slice (the first page).</summary>
        public List<int> FirstPageSizes { get; } = new();

        public int Requests => _requests;

        public List<(DateTimeOffset From, DateTimeOffset? Before)> Slices { get; } = new();

        public override SyncSide Side => SyncSide.BusinessCentral;

        public override string? InclusionFilter => null;

        public override string EntityName => "Customer";

        public override int ReadSlices => slices;

        public override int ReadPageSize => pageSize;

        public override string ReadName(string field) => field;

        public override IAsyncEnumerable<SideRow> ReadAsync(DateTimeOffset? modifiedFrom, string? extraFilter, int size, CancellationToken cancellationToken)
        {
            FirstPageSizes.Add(size);
            return Pages(rows.Where(r => modifiedFrom is null || r.ModifiedOn >= modifiedFrom), size, cancellationToken);
        }

        public override IAsyncEnumerable<SideRow> ReadSliceAsync(DateTimeOffset from, DateTimeOffset? before, string? extraFilter, int size, CancellationToken cancellationToken)
        {
            lock (Slices)
            {
                Slices.Add((from, before));
                SlicePageSizes.Add(size);
            }

            return Pages(rows.Where(r => r.ModifiedOn >= from && (before is null || r.ModifiedOn < before)), Math.Min(size, pageSize), cancellationToken);
        }

        public override async Task<DateTimeOffset?> LastModifiedAsync(string? extraFilter, CancellationToken cancellationToken)
        {
            await Request().ConfigureAwait(false);
            clock?.Advance(rowTime);
            return rows.Count == 0 ? null : rows.Max(r => r.ModifiedOn);
        }

        // The reads above answer from the table itself; no filter text is interpreted here.
        protected override IAsyncEnumerable<SideRow> Query(string filter, bool descending, int pageSize, CancellationToken cancellationToken) => throw new NotSupportedException();

        protected override string Modified(string op, DateTimeOffset value) => throw new NotSupportedException();

        public override Task<Dictionary<Guid, SideRow>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override Task<IReadOnlyList<SideWriteResult>> WriteAsync(IReadOnlyList<SideWrite> writes, bool destinationIdle, CancellationToken cancellationToken) => throw new NotSupportedException();

        private async IAsyncEnumerable<SideRow> Pages(IEnumerable<SideRow> matching, int size, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var ordered = matching.OrderBy(r => r.ModifiedOn).ThenBy(r => r.Id).ToList();
            for (var start = 0; start < ordered.Count || start == 0; start += size)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await Request().ConfigureAwait(false);
                // A service that spends time on every row it reads (the sandbox's per-record latency), on the read's clock.
                clock?.Advance(rowTime * Math.Min(size, ordered.Count - start));

                foreach (var row in ordered.Skip(start).Take(size))
                {
                    yield return row;
                }

                if (start + size >= ordered.Count)
                {
                    yield break;
                }
            }
        }

        private async Task Request()
        {
            if (Interlocked.Increment(ref _requests) > failAt)
            {
                throw failAfterRequests!;
            }

            await Task.Yield();
        }
    }

    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<SideRow> Table(int count, Random random, int spreadSeconds = 100_000) =>
        Enumerable.Range(0, count)
            .Select(_ => new SideRow(Guid.NewGuid(), Origin.AddMilliseconds(random.NextInt64(0, spreadSeconds * 1000L)), new JsonObject(), null))
            .ToList();

    private static async Task<List<SourceItem>> ReadAll(SyncSideAccess side, ReadProgress progress, DateTimeOffset? after = null, int capacity = 100, TimeProvider? clock = null)
    {
        var items = new List<SourceItem>();
        await foreach (var item in SourceRead.ReadAsync(side, after, null, progress, capacity, CancellationToken.None, clock))
        {
            items.Add(item);
        }

        return items;
    }

    [Fact]
    public async Task Changes_that_fit_the_first_page_cost_one_request()
    {
        var side = new TableSide(Table(SourceRead.FirstPageSize - 1, new Random(1)));
        var items = await ReadAll(side, new ReadProgress());
        Assert.Equal(1, side.Requests);
        Assert.Empty(side.Slices);
        Assert.Equal(new[] { SourceRead.FirstPageSize }, side.FirstPageSizes);
        Assert.Equal(SourceRead.FirstPageSize - 1, items.Count(i => i.Row is not null));
        Assert.Equal(new SourceItem(null, 0), items[^1]);
    }

    [Fact]
    public async Task An_idle_read_costs_one_request()
    {
        var side = new TableSide(Array.Empty<SideRow>());
        var items = await ReadAll(side, new ReadProgress());
        Assert.Equal(1, side.Requests);
        Assert.Equal(new[] { new SourceItem(null, 0) }, items);
    }

    [Fact]
    public async Task A_long_read_is_cut_into_slices_that_together_deliver_every_row()
    {
        var table = Table(20_000, new Random(2));
        var side = new TableSide(table, slices: 5, pageSize: 500);
        var items = await ReadAll(side, new ReadProgress());

        Assert.Equal(5, side.Slices.Count);
        Assert.Null(side.Slices.OrderBy(s => s.From).Last().Before);
        var delivered = items.Where(i => i.Row is not null).Select(i => i.Row!.Id).ToHashSet();
        Assert.True(table.All(r => delivered.Contains(r.Id)), "every row is delivered");
        // First page + the latest modified-on + each slice's pages (a page more at most for the rows of the boundary second).
        Assert.InRange(side.Requests, 2 + 20_000 / 500, 2 + 20_000 / 500 + 5 + 1);
        foreach (var slice in items.Select(i => i.Slice).Distinct())
        {
            var positions = items.Select((item, index) => (item, index)).Where(x => x.item.Slice == slice).ToList();
            Assert.Null(positions[^1].item.Row);
            Assert.Single(positions, p => p.item.Row is null);
            var times = positions.Where(p => p.item.Row is not null).Select(p => p.item.Row!.ModifiedOn).ToList();
            Assert.Equal(times.OrderBy(t => t), times);
        }
    }

    [Fact]
    public async Task A_slow_service_is_read_in_smaller_slice_pages_so_the_first_rows_come_soon()
    {
        // 4 ms per row, on a fake clock the side moves as it answers: the first page of 100 takes 400 ms and the one-row
        // request 4 ms, so slices ask for pages of half a second, 125 rows — measured, however fast the machine.
        var table = Table(1_500, new Random(3));
        var clock = new FakeTimeProvider();
        var side = new TableSide(table, slices: 4, pageSize: 500, rowTime: TimeSpan.FromMilliseconds(4), clock: clock);
        var items = await ReadAll(side, new ReadProgress(), capacity: 2_000, clock: clock);

        Assert.Equal(4, side.SlicePageSizes.Count);
        Assert.All(side.SlicePageSizes, size => Assert.Equal(125, size));
        Assert.Equal(table.Select(r => r.Id).ToHashSet(), items.Where(i => i.Row is not null).Select(i => i.Row!.Id).ToHashSet());
    }

    [Theory]
    [InlineData(10, 250, 0, 500, 500)] // fast: whole pages
    [InlineData(1016, 250, 20, 500, 125)] // 4 ms a row: half a second's worth
    [InlineData(120, 101, 20, 500, 500)] // 1 ms a row once the 20 ms of the request itself is left out (not 1.2 ms: 420 rows)
    [InlineData(5000, 250, 20, 500, 100)] // 20 ms a row: never below the floor
    [InlineData(1000, 250, 0, 50, 50)] // a side whose pages are smaller than the floor keeps its own
    [InlineData(0, 250, 0, 500, 500)]
    [InlineData(20, 250, 40, 500, 500)] // the one-row request was the slower (noise): no time per row to go by
    [InlineData(30, 1, 30, 500, 500)] // a first page of one row says nothing about the time per row
    public void Slice_pages_take_about_half_a_second(int firstPageMs, int rows, int oneRowMs, int maxPageSize, int expected) =>
        Assert.Equal(expected, SourceRead.SlicePageSize(TimeSpan.FromMilliseconds(firstPageMs), rows, TimeSpan.FromMilliseconds(oneRowMs), maxPageSize));

    [Fact]
    public async Task Rows_that_share_one_modified_on_are_read_in_one_slice()
    {
        var stamp = Origin;
        var table = Enumerable.Range(0, 3000).Select(_ => new SideRow(Guid.NewGuid(), stamp, new JsonObject(), null)).ToList();
        var side = new TableSide(table);
        var items = await ReadAll(side, new ReadProgress());
        Assert.Single(side.Slices);
        Assert.Equal(table.Select(r => r.Id).ToHashSet(), items.Where(i => i.Row is not null).Select(i => i.Row!.Id).ToHashSet());
    }

    [Fact]
    public async Task A_failing_slice_stops_the_read_with_its_error_after_what_was_read()
    {
        var failure = new CrmSyncException("Boom", CrmSyncErrorKind.ConnectionError, "The service went away.");
        var side = new TableSide(Table(10_000, new Random(3)), failAfterRequests: failure, failAt: 6);
        var read = new List<SourceItem>();
        var thrown = await Assert.ThrowsAsync<CrmSyncException>(async () =>
        {
            await foreach (var item in SourceRead.ReadAsync(side, null, null, new ReadProgress(), 100, CancellationToken.None))
            {
                read.Add(item);
            }
        });
        Assert.Same(failure, thrown);
        Assert.NotEmpty(read);
    }

    [Fact]
    public void Slice_bounds_are_whole_seconds_ascending_and_distinct()
    {
        var from = Origin.AddSeconds(10);
        Assert.Equal(new[] { from }, SourceRead.SliceBounds(from, from, 5));
        Assert.Equal(new[] { from }, SourceRead.SliceBounds(from, from.AddMilliseconds(900), 5));
        var bounds = SourceRead.SliceBounds(from, from.AddSeconds(100), 4);
        Assert.Equal(new[] { 0, 25, 50, 75 }.Select(s => from.AddSeconds(s)), bounds);
        var narrow = SourceRead.SliceBounds(from, from.AddSeconds(2), 5);
        Assert.Equal(narrow.Distinct().OrderBy(b => b), narrow);
        Assert.All(narrow, b => Assert.Equal(0, b.UtcTicks % TimeSpan.TicksPerSecond));
    }

    /// <summary>
    /// The watermark's promise, over random tables, slicings and commit points: whatever prefix of the read is committed,
    /// every row modified before the watermark it allows is in that prefix (so the next run, reading from the watermark,
    /// misses nothing). And once everything is committed it reaches the latest row.
    /// </summary>
    [Fact]
    public async Task The_watermark_never_passes_a_row_not_yet_committed()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var table = Table(random.Next(0, 3000), random, spreadSeconds: random.Next(1, 5000));
            var side = new TableSide(table, slices: random.Next(1, 7), pageSize: random.Next(50, 700));
            var progress = new ReadProgress();
            var items = await ReadAll(side, progress, capacity: random.Next(1, 500));
            var committed = new HashSet<Guid>();
            var position = 0;
            DateTimeOffset? watermark = null;
            while (position < items.Count)
            {
                var batch = items.Skip(position).Take(random.Next(1, 800)).ToList();
                position += batch.Count;
                committed.UnionWith(batch.Where(i => i.Row is not null).Select(i => i.Row!.Id));
                if (progress.WatermarkAfter(batch) is { } allowed)
                {
                    Assert.True(watermark is null || allowed >= watermark, $"seed {seed}: the watermark moves forward only");
                    watermark = allowed;
                    var missed = table.Where(r => r.ModifiedOn < allowed && !committed.Contains(r.Id)).ToList();
                    Assert.True(missed.Count == 0, $"seed {seed}: {missed.Count} rows before the watermark {allowed:O} are not committed");
                }
            }

            Assert.Equal(table.Count == 0 ? null : table.Max(r => r.ModifiedOn), watermark);
        }
    }

    private static bool Long => CrmSync.Engine.Tests.Reliability.SyncRunnerProcess.Long;

    /// <summary>
    /// Watermark edges over runs, randomized (docs/reference/limits.md §4.3): whole-second modified-on values shared across
    /// page and batch boundaries, rows committed late (behind the watermark by up to the overlap), and the service's
    /// clock far ahead of or behind this machine's. Each run reads from the watermark less the overlap, commits in random
    /// batches and keeps the watermark the read allows; between runs rows change and appear. No version is missed, and
    /// the planner's change test (PassPlanner.SourceChanged) syncs no version twice. CI: 1,000 cases; long: 10,000.
    /// </summary>
    [Fact]
    public async Task Across_runs_no_change_is_missed_and_none_is_synced_twice()
    {
        var cases = Long ? 10_000 : 1_000;
        for (var seed = 0; seed < cases; seed++)
        {
            var random = new Random(seed * 7919 + 1);
            var skew = TimeSpan.FromHours(random.Next(-48, 49));
            var now = DateTimeOffset.UtcNow.AddSeconds(-random.Next(0, 100)) + skew;
            DateTimeOffset Second(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
            var table = new Dictionary<Guid, (DateTimeOffset ModifiedOn, int Version)>();
            void Touch(Guid id, DateTimeOffset at) => table[id] = (Second(at), table.TryGetValue(id, out var old) ? old.Version + 1 : 1);
            for (var i = random.Next(0, 60); i > 0; i--)
            {
                Touch(Guid.NewGuid(), now.AddSeconds(-random.Next(0, 5)));
            }

            var synced = new Dictionary<Guid, (DateTimeOffset ModifiedOn, int Version)>();
            var syncedVersions = new HashSet<(Guid, int)>();
            DateTimeOffset? watermark = null;
            for (var run = 0; run < random.Next(2, 6); run++)
            {
                var snapshot = table.Select(kv => new SideRow(kv.Key, kv.Value.ModifiedOn, new JsonObject(), "v" + kv.Value.Version)).ToList();
                var side = new TableSide(snapshot, slices: random.Next(1, 6), pageSize: random.Next(2, 40));
                var progress = new ReadProgress();
                var items = await ReadAll(side, progress, watermark - SyncEngine.Overlap, capacity: random.Next(1, 50));
                var taken = new HashSet<Guid>();
                for (var position = 0; position < items.Count;)
                {
                    var batch = items.Skip(position).Take(random.Next(1, 30)).ToList();
                    position += batch.Count;
                    foreach (var row in batch.Select(i => i.Row).OfType<SideRow>().Where(r => taken.Add(r.Id)))
                    {
                        var coupling = synced.TryGetValue(row.Id, out var known)
                            ? new CrmSync.State.IntegrationCoupling { MappingName = "CUSTOMER", BcId = row.Id, DataverseId = row.Id, BcLastSynchModifiedOn = known.ModifiedOn, BcVersion = "v" + known.Version, LastSynchResult = CrmSync.State.SyncResult.Success }
                            : null;
                        var decision = new RecordDecision { Source = row, Coupling = coupling is null ? null : new CrmSync.Sync.Passes.CouplingView(coupling, ToDataverse: true) };
                        if (decision.Coupling is null || PassPlanner.SourceChanged(decision))
                        {
                            var version = int.Parse(row.ETag![1..], System.Globalization.CultureInfo.InvariantCulture);
                            Assert.True(syncedVersions.Add((row.Id, version)), $"seed {seed}: version {version} of {row.Id} was synced twice");
                            synced[row.Id] = (row.ModifiedOn, version);
                        }
                    }

                    if (progress.WatermarkAfter(batch) is { } allowed)
                    {
                        watermark = watermark is { } current && current > allowed ? current : allowed;
                    }
                }

                // Nothing that existed when the run read is missed.
                foreach (var (id, state) in snapshot.Select(r => (r.Id, table[r.Id])))
                {
                    Assert.True(synced.TryGetValue(id, out var got) && got.Version == state.Version, $"seed {seed}, run {run}: version {state.Version} of {id} was missed (watermark {watermark:O})");
                }

                // Between runs: changes at "now", some sharing a second with others, some committed late (behind the
                // watermark by up to the overlap), and new rows.
                now = now.AddSeconds(random.Next(0, 3));
                foreach (var id in table.Keys.Where(_ => random.NextDouble() < 0.3).ToList())
                {
                    var late = watermark is { } w && random.NextDouble() < 0.3 ? w - TimeSpan.FromMilliseconds(random.Next(0, (int)SyncEngine.Overlap.TotalMilliseconds)) : now;
                    Touch(id, late > now ? now : late);
                }

                for (var i = random.Next(0, 10); i > 0; i--)
                {
                    Touch(Guid.NewGuid(), now);
                }
            }
        }
    }
}
