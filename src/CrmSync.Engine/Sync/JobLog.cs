using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>The job log of a connection: jobs newest first and their per-record errors (BC tables 5338 and 5339).</summary>
public sealed class JobLog
{
    private readonly StateStore _store;

    public JobLog(StateStore store) => _store = store;

    public IReadOnlyList<IntegrationSyncJob> GetJobs(DateTimeOffset? since = null, bool failedOnly = false) => _store.Jobs.GetAll(since: since, failedOnly: failedOnly);

    public IReadOnlyList<IntegrationSyncError> GetErrors(Guid? jobId = null) => _store.Jobs.GetErrors(jobId);
}
