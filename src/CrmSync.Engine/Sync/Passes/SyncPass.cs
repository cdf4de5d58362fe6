using CrmSync.Http;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// One mapping in one direction: one job. Retries failed records, then reads the
/// source from the watermark (everything for a full sync, SourceRead) and runs it through, batch by batch: plan
/// (PassPlanner), write (PassWriter), commit (PassCommitter), with the writes of consecutive batches overlapping.
/// </summary>
internal sealed class SyncPass
{
    /// <summary>Source rows read ahead while the batches before them are written: at least a batch, so the next one is ready.</summary>
    private int ReadAheadRows => Math.Max(5000, BatchSize);

    /// <summary>
    /// How long the batcher waits for more rows before it sends what it has to a destination with too little to do: the
    /// rows of a page arrive together, so this is the end of a page, not a pause between rows.
    /// </summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    private readonly Func<ServiceKind, int> _requestsSent;
    private readonly PassContext _pass;
    private readonly PassPlanner _planner;
    private readonly PassWriter _writer;
    private readonly PassCommitter _committer;
    private readonly IReadOnlyList<Guid> _integrationUserIds;
    private readonly DateTimeOffset _jobStart = DateTimeOffset.UtcNow;
    private readonly (int Dataverse, int BusinessCentral) _requestsAtStart;

    // Source records taken into a batch this run: a record read again (a retry, a row changed during the read) is not
    // processed twice, and never sits in two batches.
    private readonly HashSet<Guid> _taken = new();

    public SyncPass(SyncServices services, IntegrationTableMapping mapping, SyncDirection direction, SyncOptions options, ISyncObserver observer,
        LookupContext lookups, IReadOnlyList<Guid> integrationUserIds)
    {
        _requestsSent = services.RequestsSent;
        _integrationUserIds = integrationUserIds;
        var bc = new BusinessCentralSideAccess(mapping, services.BusinessCentral);
        var dv = new DataverseSideAccess(mapping, services.Dataverse);
        var (source, destination) = direction == SyncDirection.ToIntegrationTable ? ((SyncSideAccess)bc, (SyncSideAccess)dv) : (dv, bc);
        var job = new PassJob(new IntegrationSyncJob { Id = Guid.NewGuid(), MappingName = mapping.Name, Direction = direction, Type = SyncJobType.Synchronization, StartTime = _jobStart, Worker = options.Worker });
        _pass = new PassContext(mapping, direction, options, observer, services.Store, source, destination, lookups, job);
        _planner = new PassPlanner(_pass, new FieldTransfer(mapping, direction, source, destination, lookups), integrationUserIds);
        _writer = new PassWriter(_pass);
        _committer = new PassCommitter(_pass);
        _requestsAtStart = (_requestsSent(ServiceKind.Dataverse), _requestsSent(ServiceKind.BusinessCentral));
    }

    private IntegrationTableMapping Mapping => _pass.Mapping;

    private PassJob Job => _pass.Job;

    // One engine batch is one state commit; the destination decides how many records it writes at once.
    private int BatchSize => _pass.Destination.RecordsPerBatch(_pass.Options.BatchSize);

    public async Task<IntegrationSyncJob> RunAsync(CancellationToken cancellationToken)
    {
        _pass.Lookups.BeginPass(Mapping.Name);
        _pass.Save(() => _pass.Store.Jobs.Save(Job.Current));
        _pass.Observer.Progress(Mapping.Name, _pass.Pass, 0, "Starting");
        try
        {
            await RunBatchesAsync(cancellationToken).ConfigureAwait(false);
            Finish($"{Job.Summary()}.");
            return Job.Current;
        }
        catch (OperationCanceledException)
        {
            Finish($"Stopped after {Job.Processed} records; what was processed is saved, and the next run continues from there.");
            throw;
        }
        catch (CrmSyncException ex)
        {
            Finish($"The job stopped after {Job.Processed} records: {ex.Message}");
            throw;
        }
    }

    /// <summary>
    /// Batches whose writes are in flight together. Planning the next batch and committing the last one overlap the writes
    /// of others, so the destination always has requests to work on (its concurrency gate queues what is over its limit).
    /// Each record is in one batch only, and batches commit in the order they were read, so the watermark stays safe.
    /// </summary>
    private const int BatchesInFlight = 3;

    private sealed record InFlightBatch(List<RecordDecision> Decisions, DateTimeOffset? AdvanceWatermarkTo, Task Write);

    private readonly Queue<InFlightBatch> _inFlight = new();

    /// <summary>Records of the batches whose writes are still running.</summary>
    private int RecordsBeingWritten()
    {
        var writing = 0;
        foreach (var batch in _inFlight)
        {
            writing += batch.Write.IsCompleted ? 0 : batch.Decisions.Count;
        }

        return writing;
    }

    /// <summary>
    /// Whether the writes still running hold less than a batch: the destination has idle capacity, so rows read are better
    /// sent now than held until a batch is full (the start of a pass, a source slower than the destination).
    /// </summary>
    private bool DestinationHasRoom() => RecordsBeingWritten() < BatchSize;

    /// <summary>Whether no write is running: a batch then goes out as soon as it is planned, and may be spread over every request slot.</summary>
    private bool DestinationIdle() => RecordsBeingWritten() == 0;

    /// <summary>
    /// A batch's size while nothing is being written: planning costs engine time per record, so an idle destination gets a
    /// first share of the rows at once (a slice's pages of all slices come together) and the rest is planned while it writes.
    /// </summary>
    private int IdleBatchSize => Math.Max(1, BatchSize / 8);

    // Stopping (Ctrl+C) is honoured between batches: the batches whose writes started are written and committed whole.
    private async Task RunBatchesAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var (rows, advanceWatermarkTo) in BatchesAsync(stopping).ConfigureAwait(false))
            {
                stopping.ThrowIfCancellationRequested();
                var decisions = await _planner.PlanAsync(rows, CancellationToken.None).ConfigureAwait(false);
                var destinationIdle = DestinationIdle();
                _inFlight.Enqueue(new InFlightBatch(decisions, advanceWatermarkTo, _writer.WriteAsync(decisions, destinationIdle, CancellationToken.None)));
                if (_inFlight.Count == BatchesInFlight)
                {
                    await CommitAsync(_inFlight.Dequeue(), advanceWatermark: true).ConfigureAwait(false);
                }
            }

            while (_inFlight.Count > 0)
            {
                await CommitAsync(_inFlight.Dequeue(), advanceWatermark: true).ConfigureAwait(false);
            }
        }
        catch
        {
            // What was sent is committed (its couplings are the truth), but the watermark stays where it is: a batch before
            // these may have failed, and its records must be read again.
            while (_inFlight.Count > 0)
            {
                try
                {
                    await CommitAsync(_inFlight.Dequeue(), advanceWatermark: false).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The first failure is the one reported.
                }
            }

            throw;
        }
    }

    private async Task CommitAsync(InFlightBatch batch, bool advanceWatermark)
    {
        await batch.Write.ConfigureAwait(false);
        _committer.Commit(batch.Decisions, advanceWatermark ? batch.AdvanceWatermarkTo : null, _jobStart);
        _pass.Observer.Progress(Mapping.Name, _pass.Pass, Job.Processed, Job.Summary());
    }

    // Failed (not skipped) records first, whether or not they changed (docs/reference/integration.md §C.2); then the change query
    // from the watermark (less the overlap), or everything for a full sync.
    private async IAsyncEnumerable<(List<SideRow> Rows, DateTimeOffset? AdvanceWatermarkTo)> BatchesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var store = _pass.Store;
        var retry = store.Couplings.GetFailed(Mapping.Name, intoDataverse: _pass.ToDataverse).Select(c => new CouplingView(c, _pass.ToDataverse).SourceId)
            .Concat(store.Failures.GetAll(Mapping.Name).Where(f => f.Direction == _pass.Pass && !f.Skipped).Select(f => f.SourceId))
            .Distinct().ToList();
        if (retry.Count > 0)
        {
            var rows = await _pass.Source.GetByIdsAsync(retry, cancellationToken).ConfigureAwait(false);
            foreach (var chunk in rows.Values.Where(r => _taken.Add(r.Id)).Chunk(BatchSize))
            {
                yield return (chunk.ToList(), null);
            }
        }

        var watermark = _pass.Options.FullSync ? null : store.Watermarks.Get(Mapping.Name, _pass.Source.Side);
        var progress = new ReadProgress();
        var batch = new List<SideRow>(BatchSize);
        var read = new List<SourceItem>();
        await using var source = SourceRead.ReadAsync(_pass.Source, watermark - SyncEngine.Overlap, SourceFilter(), progress, ReadAheadRows, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        Task<bool>? waiting = null;
        try
        {
            while (true)
            {
                var next = source.MoveNextAsync();
                if (!next.IsCompleted && batch.Count > 0 && DestinationHasRoom())
                {
                    // No row ready, and the destination could be writing: send the rows read so far unless more come at once.
                    waiting = next.AsTask();
                    if (await Task.WhenAny(waiting, Task.Delay(Linger, CancellationToken.None)).ConfigureAwait(false) != waiting)
                    {
                        yield return TakeBatch();
                    }

                    next = new ValueTask<bool>(waiting);
                }

                var more = await next.ConfigureAwait(false);
                waiting = null;
                if (!more)
                {
                    break;
                }

                var item = source.Current;
                read.Add(item);
                if (item.Row is not { } row || !_taken.Add(row.Id))
                {
                    continue;
                }

                batch.Add(row);
                if (batch.Count == BatchSize || (batch.Count >= IdleBatchSize && DestinationIdle()))
                {
                    yield return TakeBatch();
                }
            }
        }
        finally
        {
            // The pass stopped while a row was awaited (a failed batch): the read may only be disposed once that step is over.
            if (waiting is not null)
            {
                await waiting.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }

        if (read.Count > 0)
        {
            yield return TakeBatch();
        }

        // The rows gathered so far as a batch, with the watermark it may set (for every item read since the last one).
        (List<SideRow> Rows, DateTimeOffset? AdvanceWatermarkTo) TakeBatch()
        {
            var taken = (batch, progress.WatermarkAfter(read));
            batch = new List<SideRow>(BatchSize);
            read.Clear();
            return taken;
        }
    }

    private void Finish(string message)
    {
        // What this job cost against the services' limits (passes run one after another on a connection).
        Job.Finish(message,
            _requestsSent(ServiceKind.Dataverse) - _requestsAtStart.Dataverse,
            _requestsSent(ServiceKind.BusinessCentral) - _requestsAtStart.BusinessCentral);
        _pass.Save(() => _pass.Store.Jobs.Save(Job.Current));
        _pass.Observer.Progress(Mapping.Name, _pass.Pass, Job.Processed, "Completed");
        if (!_pass.Options.WhatIf)
        {
            _pass.Observer.JobCompleted(Job.Current);
        }
    }

    // What is never read from Dataverse (docs/reference/integration.md §C.4, article 1):
    // - echo suppression: changes the integration identity made are not synchronized back — for every mapping,
    //   full synchronization included (BC applies the filter to some mappings only; CrmSync's rule is the article's);
    // - service identities are never salespeople: application users, integration users, non-interactive users and
    //   the identities this connection writes as.
    private string? SourceFilter()
    {
        if (_pass.ToDataverse)
        {
            return null;
        }

        var filters = _integrationUserIds.Select(id => $"_modifiedby_value ne {id}").ToList();
        if (string.Equals(Mapping.DataverseTable, "systemuser", StringComparison.OrdinalIgnoreCase))
        {
            filters.Add("applicationid eq null and isintegrationuser eq false and accessmode ne 4");
            filters.AddRange(_integrationUserIds.Select(id => $"systemuserid ne {id}"));
        }

        return filters.Count == 0 ? null : string.Join(" and ", filters);
    }
}
