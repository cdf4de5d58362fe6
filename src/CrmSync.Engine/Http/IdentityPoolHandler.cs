namespace CrmSync.Http;

/// <summary>
/// Spreads the requests of one service over several identities (application users), round robin. Service protection
/// counts requests, execution time and concurrency per identity (docs/reference/limits.md §1), so each
/// identity keeps its own <see cref="ServiceHandler"/>: its token, its throttling gate, its concurrency gate and its
/// retries. A request is not given to an identity that is being throttled while another one is free; when all are
/// throttled, it goes to the one whose throttling ends first.
/// </summary>
public sealed class IdentityPoolHandler : HttpMessageHandler
{
    private readonly IReadOnlyList<ServiceHandler> _members;
    private readonly IReadOnlyList<HttpMessageInvoker> _invokers;
    private int _next = -1;

    /// <param name="members">One handler per identity, all for the same service; the pool does not own them.</param>
    public IdentityPoolHandler(IReadOnlyList<ServiceHandler> members)
    {
        if (members.Count == 0)
        {
            throw new ArgumentException("An identity pool needs at least one identity.", nameof(members));
        }

        if (members.Select(m => m.Service).Distinct().Count() > 1)
        {
            throw new ArgumentException("The identities of a pool must all be handlers of the same service.", nameof(members));
        }

        _members = members;
        _invokers = members.Select(m => new HttpMessageInvoker(m, disposeHandler: false)).ToList();
    }

    public int Count => _members.Count;

    /// <summary>The identity the next request goes to (round robin, passing over identities being throttled).</summary>
    internal int Choose(DateTimeOffset now)
    {
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_members.Count);
        var soonest = start;
        for (var i = 0; i < _members.Count; i++)
        {
            var candidate = (start + i) % _members.Count;
            var until = _members[candidate].ThrottledUntil;
            if (until <= now)
            {
                return candidate;
            }

            if (until < _members[soonest].ThrottledUntil)
            {
                soonest = candidate;
            }
        }

        return soonest;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invokers[Choose(_members[0].Time.GetUtcNow())].SendAsync(request, cancellationToken);
}
