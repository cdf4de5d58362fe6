using CrmSync.State;

namespace CrmSync.Sync.Passes;

/// <summary>The job of one pass as it runs: BC's counters (§A.4), added batch by batch.</summary>
internal sealed class PassJob(IntegrationSyncJob job)
{
    public IntegrationSyncJob Current { get; private set; } = job;

    public Guid Id => Current.Id;

    /// <summary>Source records processed so far (every decision, whatever its outcome).</summary>
    public int Processed { get; private set; }

    /// <summary>Counts a batch's decisions: an uncoupling after a deletion is Deleted; records left alone (Ignore) count nowhere.</summary>
    public void Count(IReadOnlyCollection<RecordDecision> decisions)
    {
        int inserted = 0, modified = 0, deleted = 0, unchanged = 0, skipped = 0, failed = 0, coupled = 0, uncoupled = 0;
        foreach (var d in decisions)
        {
            switch (d.Action)
            {
                case SyncAction.Insert: inserted++; break;
                case SyncAction.Modify: modified++; break;
                case SyncAction.Uncouple: deleted++; break;
                case SyncAction.Unchanged: unchanged++; break;
                case SyncAction.Skip: skipped++; break;
                case SyncAction.Fail: failed++; break;
            }

            coupled += d.Coupled && d.Action != SyncAction.Fail ? 1 : 0;
            uncoupled += d.Uncoupled && d.Action == SyncAction.Uncouple ? 1 : 0;
        }

        var j = Current;
        Current = j with
        {
            Inserted = j.Inserted + inserted,
            Modified = j.Modified + modified,
            Deleted = j.Deleted + deleted,
            Unchanged = j.Unchanged + unchanged,
            Skipped = j.Skipped + skipped,
            Failed = j.Failed + failed,
            Coupled = j.Coupled + coupled,
            Uncoupled = j.Uncoupled + uncoupled,
        };
        Processed += decisions.Count;
    }

    public void Finish(string message, int dataverseRequests, int businessCentralRequests) =>
        Current = Current with { FinishTime = DateTimeOffset.UtcNow, Message = message, DataverseRequests = dataverseRequests, BusinessCentralRequests = businessCentralRequests };

    public string Summary()
    {
        var j = Current;
        return $"{Processed} records: {j.Inserted} inserted, {j.Modified} modified, {j.Deleted} deleted, {j.Unchanged} unchanged, {j.Skipped} skipped, {j.Failed} failed" +
            (j.Coupled > 0 ? $", {j.Coupled} coupled" : string.Empty) + (j.Uncoupled > 0 ? $", {j.Uncoupled} uncoupled" : string.Empty);
    }
}
