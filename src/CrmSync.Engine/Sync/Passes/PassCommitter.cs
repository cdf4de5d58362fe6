using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>
/// Commits what a batch learnt — couplings, failures and skips, job errors, the watermark and the job's counters — in
/// one state-store transaction, after the destination acknowledged the writes (docs/reference/limits.md §4.1).
/// </summary>
internal sealed class PassCommitter(PassContext pass)
{
    public void Commit(IReadOnlyList<RecordDecision> decisions, DateTimeOffset? advanceWatermarkTo, DateTimeOffset jobStart)
    {
        pass.Job.Count(decisions);
        foreach (var d in decisions.Where(d => d.Action == SyncAction.Fail))
        {
            pass.Observer.RecordFailed(new SyncRecordResult
            {
                MappingName = pass.Mapping.Name, Direction = pass.Pass, SourceId = d.Source.Id, DestinationId = d.DestinationId,
                SourceKey = pass.Key(d.Source), Action = SyncAction.Fail, Message = d.Message,
            });
        }

        if (pass.Options.WhatIf)
        {
            return;
        }

        var store = pass.Store;
        store.InTransaction(() =>
        {
            // A worker whose lease was taken over commits nothing: the renewal in this transaction holds the lease row
            // until the commit, so a takeover waits for it and then finds the lease renewed.
            pass.Options.CommitFence?.Invoke();
            foreach (var d in decisions)
            {
                CommitRecord(d);
            }

            if (!pass.ToDataverse)
            {
                var committed = decisions.Select(d => d.Source.Id.ToString()).ToHashSet(StringComparer.Ordinal);
                foreach (var pending in store.PendingWrites.GetAll(pass.Mapping.Name).Where(p => committed.Contains(p.SourceId)))
                {
                    store.PendingWrites.Remove(pending.Id);
                }
            }

            // Never past the job's start: rows changed while it runs are read again next time.
            if (advanceWatermarkTo is { } seen)
            {
                store.Watermarks.Advance(pass.Mapping.Name, pass.Source.Side, seen < jobStart ? seen : jobStart);
            }

            store.Jobs.Save(pass.Job.Current);
        });
    }

    private void CommitRecord(RecordDecision d)
    {
        var store = pass.Store;
        var mapping = pass.Mapping.Name;
        switch (d.Action)
        {
            case SyncAction.Insert or SyncAction.Modify or SyncAction.Couple or SyncAction.Unchanged when d.DestinationId is { } destinationId && (d.Coupling is not null || d.Action == SyncAction.Insert):
                if (d.Action == SyncAction.Unchanged && d.Destination is null)
                {
                    break;
                }

                var coupling = d.Coupling ?? pass.NewCoupling(d.Source.Id, destinationId);
                store.Couplings.Save(coupling.Succeeded(pass.JobId, d.Source.ModifiedOn, d.Source.ETag, d.DestinationModifiedOn, d.DestinationVersion));
                if (d.PreviousFailure is not null)
                {
                    store.Failures.Remove(mapping, pass.Pass, d.Source.Id);
                }

                break;
            case SyncAction.Unchanged when d.Coupling is { } unchanged:
                var refreshed = unchanged.SourceSeen(d.Source.ModifiedOn, d.Source.ETag);
                if (refreshed != unchanged.Coupling)
                {
                    store.Couplings.Save(refreshed);
                }

                break;
            case SyncAction.Uncouple when d.Coupling is { } removed:
                store.Couplings.Remove(mapping, removed.Coupling.BcId);
                break;
            case SyncAction.Fail:
                var now = DateTimeOffset.UtcNow;
                var message = d.Message ?? "Failed.";
                store.Jobs.AddError(new IntegrationSyncError
                {
                    JobId = pass.JobId, MappingName = mapping, Direction = pass.Pass, SourceId = $"{d.Source.Id} ({pass.Key(d.Source)})",
                    DestinationId = d.DestinationId?.ToString(), Message = message, Time = now,
                });
                RecordFailure(d, message, now);
                break;
        }
    }

    // BC ends every error message with "CorrelationId: <a new guid>": two answers are the same error when all but that is.
    internal static bool SameError(string? previous, string current) =>
        previous is not null && string.Equals(WithoutCorrelationId(previous), WithoutCorrelationId(current), StringComparison.Ordinal);

    private static string WithoutCorrelationId(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\s*CorrelationId:\s*[0-9a-fA-F-]{36}\.?", string.Empty).Trim();

    // The same error twice in a row, in the same direction, makes the record Skipped until it is reset (§C.12): BC
    // compares with the last error of that direction's job, so the two directions of a conflict do not reset each other.
    // A transient failure (throttling, 5xx, a lost connection) is retried but never counts toward skipping.
    private void RecordFailure(RecordDecision d, string message, DateTimeOffset now)
    {
        if (d.Coupling is { } coupling && !d.Coupled)
        {
            var skipped = coupling.Skipped || (!d.Transient && coupling.LastResult == SyncResult.Failure && SameError(coupling.LastError, message));
            pass.Store.Couplings.Save(coupling.Failed(pass.JobId, message, skipped));
            return;
        }

        var failure = d.PreviousFailure;
        var same = !d.Transient && failure is not null && SameError(failure.Message, message);
        pass.Store.Failures.Save(new UncoupledFailure
        {
            MappingName = pass.Mapping.Name, Direction = pass.Pass, SourceId = d.Source.Id, Message = message,
            FailureCount = (failure?.FailureCount ?? 0) + 1, Skipped = same, LastJobId = pass.JobId, FailedAt = now,
        });
    }
}
