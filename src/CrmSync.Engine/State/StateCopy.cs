namespace CrmSync.State;

/// <summary>What Copy-CrmSyncState copied, record kind by record kind.</summary>
public sealed record StateCopyResult
{
    public required string Source { get; init; }

    public required string Destination { get; init; }

    public int Mappings { get; init; }

    public int Watermarks { get; init; }

    public int Couplings { get; init; }

    public int Jobs { get; init; }

    public int JobErrors { get; init; }

    public int Failures { get; init; }

    public int PendingWrites { get; init; }

    public int Settings { get; init; }
}

/// <summary>
/// Moves a connection's state from one store to another (a SQLite file into PostgreSQL): every record kind, in one
/// transaction of the destination, so a failure leaves the destination as it was. The destination may hold mappings
/// (a first Connect-CrmSync seeds the standard set; the source's replace them) but no synchronization history.
/// </summary>
public static class StateCopy
{
    public static StateCopyResult Copy(StateStore source, StateStore destination, Action<string>? progress = null)
    {
        var history = new (string Kind, int Count)[]
        {
            ("couplings", destination.Couplings.GetAll().Count), ("jobs", destination.Jobs.GetAll().Count),
            ("watermarks", destination.Watermarks.GetAll().Count), ("failures", destination.Failures.GetAll().Count),
            ("pending writes", destination.PendingWrites.GetAll().Count),
        }.Where(h => h.Count > 0).ToList();
        if (history.Count > 0)
        {
            throw new CrmSyncException("StateStoreNotEmpty", CrmSyncErrorKind.ResourceExists,
                $"The state store {destination.Path} already holds {string.Join(", ", history.Select(h => $"{h.Count} {h.Kind}"))}: copying into it would mix two histories. " +
                "Copy into a new, empty database.", destination.Path);
        }

        StateCopyResult? result = null;
        destination.InTransaction(() =>
        {
            progress?.Invoke("mappings");
            var mappings = source.Mappings.GetAll();
            foreach (var stale in destination.Mappings.GetAll().Where(d => !mappings.Any(m => string.Equals(m.Name, d.Name, StringComparison.OrdinalIgnoreCase))))
            {
                destination.Mappings.Delete(stale.Name);
            }

            foreach (var mapping in mappings)
            {
                destination.Mappings.Save(mapping);
            }

            var watermarks = source.Watermarks.GetAll();
            foreach (var (name, side, value) in watermarks)
            {
                destination.Watermarks.Set(name, side, value);
            }

            progress?.Invoke("couplings");
            var couplings = source.Couplings.GetAll();
            foreach (var coupling in couplings)
            {
                destination.Couplings.Save(coupling);
            }

            progress?.Invoke("jobs and their errors");
            var jobs = source.Jobs.GetAll();
            foreach (var job in jobs)
            {
                destination.Jobs.Save(job);
            }

            var errors = source.Jobs.GetErrors();
            foreach (var error in errors.Reverse())
            {
                destination.Jobs.AddError(error);
            }

            progress?.Invoke("failures, pending writes and settings");
            var failures = source.Failures.GetAll();
            foreach (var failure in failures)
            {
                destination.Failures.Save(failure);
            }

            var pending = source.PendingWrites.GetAll();
            foreach (var write in pending)
            {
                destination.PendingWrites.Add(write);
            }

            var settings = source.Settings.GetAll();
            foreach (var (key, value) in settings)
            {
                destination.Settings.Set(key, value);
            }

            result = new StateCopyResult
            {
                Source = source.Path, Destination = destination.Path, Mappings = mappings.Count, Watermarks = watermarks.Count, Couplings = couplings.Count,
                Jobs = jobs.Count, JobErrors = errors.Count, Failures = failures.Count, PendingWrites = pending.Count, Settings = settings.Count,
            };
        });
        return result!;
    }
}
