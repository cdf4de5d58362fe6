using System.Net;
using System.Text;
using CrmSync.Engine.Tests.Services;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Sync;

/// <summary>A pass writes several batches at once and reads in slices: a failure in the middle must lose nothing.</summary>
public sealed class PipelinedPassTests
{
    /// <summary>
    /// Once armed, answers the Nth Dataverse $batch with a 400 the engine does not retry — but only after a $batch of a
    /// later engine batch has been answered: the failure then lands while later batches are in flight, by construction.
    /// One engine batch is spread over at most four $batch requests (one identity), so the 4th request after the failing
    /// one belongs to a later batch whatever the order its siblings went in.
    /// </summary>
    private sealed class FailingBatch : DelegatingHandler
    {
        private const int MostRequestsPerEngineBatch = 4;

        private readonly TaskCompletionSource _laterAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public FailingBatch()
            : base(new SocketsHttpHandler { UseCookies = false })
        {
        }

        /// <summary>The number of the $batch request that fails, once armed.</summary>
        public int? FailAt { get; private set; }

        /// <summary>Whether the failing request was held until a later batch's request was answered (false: none came within the bound).</summary>
        public bool FailedWhileLaterInFlight { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!request.RequestUri!.AbsolutePath.EndsWith("/api/data/v9.2/$batch", StringComparison.Ordinal))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            var number = Interlocked.Increment(ref _seen);
            if (number == FailAt)
            {
                // Bounded: a pass that sends nothing more until this answer comes (no pipelining) fails the test, not hangs it.
                FailedWhileLaterInFlight = await Task.WhenAny(_laterAnswered.Task, Task.Delay(TimeSpan.FromMinutes(2), cancellationToken)) == _laterAnswered.Task;
                return new HttpResponseMessage(HttpStatusCode.BadRequest)
                {
                    Content = new StringContent("{\"error\":{\"code\":\"0x80040216\",\"message\":\"Injected by the test.\"}}", Encoding.UTF8, "application/json"),
                };
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (FailAt is { } failAt && number >= failAt + MostRequestsPerEngineBatch)
            {
                _laterAnswered.TrySetResult();
            }

            return response;
        }

        public void Arm(int requestsFromNow) => FailAt = Volatile.Read(ref _seen) + requestsFromNow;
    }

    [Fact]
    public async Task A_batch_that_fails_while_later_ones_are_in_flight_keeps_the_watermark_behind_it()
    {
        var failing = new FailingBatch();
        await using var sandbox = await SandboxConnection.StartAsync(
            new SandboxOptions { ExtraCustomers = 9000, DataverseUserSyncDelay = TimeSpan.Zero },
            s => s with { InnerHandlerFactory = () => failing });
        var (_, dependencies) = await sandbox.SyncAsync(full: true, names: new[] { StandardMappings.Currency, StandardMappings.Salespeople });
        Assert.Empty(dependencies.Failures);

        // The 10th $batch of the CUSTOMER pass fails, answered only once a later batch's $batch has been answered.
        failing.Arm(10);
        await Assert.ThrowsAnyAsync<CrmSyncException>(() => sandbox.SyncAsync(full: true, names: StandardMappings.Customer));
        Assert.True(failing.FailedWhileLaterInFlight, "no later batch's $batch was answered while the failing one waited: no later batch was in flight");
        var store = sandbox.Connection.Store;
        var couplings = store.Couplings.GetAll(StandardMappings.Customer);
        Assert.InRange(couplings.Count, 1, 8999);

        // Behind it: every in-scope customer left uncoupled is read again by the next modified-records run (the watermark,
        // less the overlap, is not after its last change), though later records were committed.
        var watermark = store.Watermarks.Get(StandardMappings.Customer, SyncSide.BusinessCentral);
        Assert.NotNull(watermark);
        var coupledBc = couplings.Select(c => c.BcId).ToHashSet();
        var uncoupled = sandbox.Rows("BusinessCentral", "customers")
            .Where(r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "blocked") == "_x0020_" && !coupledBc.Contains(r.Id()))
            .Select(r => (DateTimeOffset)r.Value(sandbox, "BusinessCentral", "customers", "lastModifiedDateTime")!).ToList();
        Assert.NotEmpty(uncoupled);
        Assert.True(watermark - SyncEngine.Overlap <= uncoupled.Min(), $"the watermark {watermark:O} passed an uncoupled customer changed at {uncoupled.Min():O}");

        // A modified-records run (not a full one, and creating records, as BC does with "Synch. Only Coupled Records" off)
        // starts from the watermark: it must still find everything not committed.
        store.Mappings.Save(new MappingCatalog(sandbox.Connection.Store).Get(StandardMappings.Customer) with { SynchOnlyCoupledRecords = false });
        var (_, observer) = await sandbox.SyncAsync(full: false, names: StandardMappings.Customer);
        Assert.Empty(observer.Failures);
        couplings = store.Couplings.GetAll(StandardMappings.Customer);
        var customers = sandbox.Rows("BusinessCentral", "customers");
        Assert.Equal(customers.Count(r => (string?)r.Value(sandbox, "BusinessCentral", "customers", "blocked") == "_x0020_"), couplings.Count);
        Assert.Equal(couplings.Count, couplings.Select(c => c.DataverseId).Distinct().Count());
        Assert.Equal(9000, sandbox.Rows("Dataverse", "accounts").Count(r => ((string?)r.Value(sandbox, "Dataverse", "accounts", "name"))?.StartsWith("Benchmark Customer", StringComparison.Ordinal) == true));
    }

    [Fact]
    public async Task A_slow_source_does_not_hold_back_the_writes_until_a_batch_is_full()
    {
        // BC spends 2 ms on every row it reads, and 1,500 customers are less than one Dataverse batch (2,000): without
        // sending what it has to an idle destination, the pass would write nothing until the whole table was read.
        var limits = SandboxLimits.Unlimited with { BusinessCentral = SandboxLimits.Unlimited.BusinessCentral with { LatencyPerRecord = TimeSpan.FromMilliseconds(2) } };
        await using var sandbox = await SandboxConnection.StartAsync(new SandboxOptions { ExtraCustomers = 1500, DataverseUserSyncDelay = TimeSpan.Zero, Limits = limits });
        var (_, dependencies) = await sandbox.SyncAsync(full: true, names: new[] { StandardMappings.Currency, StandardMappings.Salespeople });
        Assert.Empty(dependencies.Failures);
        sandbox.Host.Counters.Reset();

        var (jobs, observer) = await sandbox.SyncAsync(full: true, names: StandardMappings.Customer);

        Assert.Empty(observer.Failures);
        Assert.InRange(jobs.Job(StandardMappings.Customer, SyncDirection.ToIntegrationTable).Inserted, 1500, sandbox.Rows("BusinessCentral", "customers").Count);
        var log = sandbox.Host.Counters.Log;
        var reads = log.Where(e => e.Service == "BusinessCentral" && e.Method == "GET" && e.Endpoint.Contains("customers", StringComparison.Ordinal)).ToList();
        var writes = log.Where(e => e.Service == "Dataverse" && e.Method == "POST" && e.Endpoint.Contains("$batch", StringComparison.Ordinal)).ToList();
        Assert.True(reads.Count > 2, "the read was cut into slices");
        Assert.True(writes.Min(w => w.ReceivedAt) < reads.Max(r => r.CompletedAt),
            $"the first write ({writes.Min(w => w.ReceivedAt):HH:mm:ss.fff}) went out before the last page was read ({reads.Max(r => r.CompletedAt):HH:mm:ss.fff})");
    }
}
