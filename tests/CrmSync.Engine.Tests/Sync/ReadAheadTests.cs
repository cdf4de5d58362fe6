using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

public sealed class ReadAheadTests
{
    private static async IAsyncEnumerable<int> Source(int count, List<int> produced, Exception? failAt = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (failAt is not null && i == 3)
            {
                throw failAt;
            }

            lock (produced)
            {
                produced.Add(i);
            }

            await Task.Yield();
            yield return i;
        }
    }

    [Fact]
    public async Task Yields_every_item_in_order()
    {
        var items = new List<int>();
        await foreach (var item in ReadAhead.Of(Source(1000, new List<int>()), 50, CancellationToken.None))
        {
            items.Add(item);
        }

        Assert.Equal(Enumerable.Range(0, 1000), items);
    }

    [Fact]
    public async Task The_source_failure_arrives_as_it_is()
    {
        var failure = new CrmSyncException("ServiceUnavailable", CrmSyncErrorKind.ResourceUnavailable, "the page read failed");
        var read = new List<int>();

        var error = await Assert.ThrowsAsync<CrmSyncException>(async () =>
        {
            await foreach (var item in ReadAhead.Of(Source(10, new List<int>(), failure), 5, CancellationToken.None))
            {
                read.Add(item);
            }
        });

        Assert.Same(failure, error);
        Assert.Equal(new[] { 0, 1, 2 }, read);
    }

    [Fact]
    public async Task It_reads_at_most_the_capacity_ahead_and_stops_reading_when_the_consumer_stops()
    {
        var produced = new List<int>();
        await foreach (var item in ReadAhead.Of(Source(10_000, produced), 20, CancellationToken.None))
        {
            if (item == 5)
            {
                break;
            }
        }

        var afterStop = produced.Count;
        await Task.Delay(200);

        // 6 consumed, at most 20 buffered, one more in the producer's hand.
        Assert.InRange(afterStop, 6, 6 + 20 + 1);
        Assert.Equal(afterStop, produced.Count);
    }
}
