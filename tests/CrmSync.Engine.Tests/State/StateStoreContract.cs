using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Engine.Tests.State;

/// <summary>
/// What every state store backend guarantees, run against each: SQLite (<see cref="StateStoreTests"/>) and a real
/// PostgreSQL (<see cref="PostgresStateStoreTests"/>). A location names one store; opening it again reopens the same one.
/// </summary>
public abstract class StateStoreContract
{
    /// <summary>A store location for this test (a file path, or a connection string to a database of its own).</summary>
    protected abstract string Location(string name);

    private protected abstract StateStore Open(string location, IReadOnlyList<StateMigration>? migrations = null);

    protected abstract bool TableExists(StateStore store, string table);


    public static TheoryData<int> EarlierVersions()
    {
        var data = new TheoryData<int>();
        foreach (var migration in StateMigrations.All.Where(m => m.Version < StateMigrations.LatestVersion))
        {
            data.Add(migration.Version);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EarlierVersions))]
    public void A_store_of_an_earlier_version_is_migrated_and_keeps_its_data(int version)
    {
        var path = Location($"v{version}");
        var coupling = SampleCoupling();
        var job = SampleJob();
        using (var old = Open(path, StateMigrations.All.Where(m => m.Version <= version).ToList()))
        {
            Assert.Equal(version, old.SchemaVersion);
            old.Mappings.Save(StandardMappings.Get("CUSTOMER")!);
            // Written with the columns every version has, as an older CrmSync wrote them.
            old.Database.Execute("""
                INSERT INTO coupling (mapping_name, bc_id, dataverse_id, bc_last_synch_modified_on, dataverse_last_synch_modified_on, last_synch_result,
                    last_synch_job_id, last_synch_crm_result, last_synch_crm_job_id, last_error_message, skipped, coupled_at)
                VALUES ('CUSTOMER', $bc, $dv, '2026-01-01T10:00:00.4560000Z', '2026-01-01T10:00:01.0000000Z', 2, $job, 1, $crmJob, $error, 1, '2025-12-31T23:59:59.0000000Z')
                """, ("$bc", coupling.BcId.ToString()), ("$dv", coupling.DataverseId.ToString()), ("$job", coupling.LastSynchJobId.ToString()),
                ("$crmJob", coupling.LastSynchCrmJobId.ToString()), ("$error", coupling.LastErrorMessage));
            old.Database.Execute("""
                INSERT INTO sync_job (id, mapping_name, direction, type, start_time, finish_time, message, inserted, modified, deleted, unchanged, skipped, failed, coupled, uncoupled)
                VALUES ($id, $m, $dir, $type, $start, $finish, $msg, $ins, $mod, $del, $unch, $skip, $fail, $coup, $uncoup)
                """, ("$id", job.Id.ToString()), ("$m", job.MappingName), ("$dir", (int)job.Direction), ("$type", (int)job.Type),
                ("$start", "2026-01-01T10:00:00.0000000Z"),
                ("$finish", "2026-01-01T10:00:05.0000000Z"), ("$msg", job.Message),
                ("$ins", job.Inserted), ("$mod", job.Modified), ("$del", job.Deleted), ("$unch", job.Unchanged), ("$skip", job.Skipped), ("$fail", job.Failed),
                ("$coup", job.Coupled), ("$uncoup", job.Uncoupled));
            old.Watermarks.Advance("CUSTOMER", SyncSide.Dataverse, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        }

        using var store = Open(path);

        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
        Assert.True(store.Mappings.Get("CUSTOMER")!.HasSameSettingsAs(StandardMappings.Get("CUSTOMER")!));
        Assert.Equal(coupling, store.Couplings.GetByBcId("CUSTOMER", coupling.BcId));
        Assert.Equal(job, store.Jobs.Get(job.Id));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), store.Watermarks.Get("CUSTOMER", SyncSide.Dataverse));
        store.Settings.Set("integration-user", "x");
        Assert.Equal("x", store.Settings.Get("integration-user"));
    }

    [Fact]
    public void Migration_8_spells_a_saved_blank_blocked_filter_the_way_BC_does()
    {
        var path = Location("v7-blank");
        using (var old = Open(path, StateMigrations.All.Where(m => m.Version <= 7).ToList()))
        {
            old.Mappings.Save(StandardMappings.Get("CUSTOMER")! with { TableFilter = "blocked eq ' ' and city eq 'Oslo'" });
            old.Mappings.Save(StandardMappings.Get("VENDOR")! with { TableFilter = "blocked eq ' '" });
            old.Mappings.Save(StandardMappings.Get("CONTACT")!);
        }

        using var store = Open(path);

        Assert.Equal("blocked eq '_x0020_' and city eq 'Oslo'", store.Mappings.Get("CUSTOMER")!.TableFilter);
        Assert.Equal("blocked eq '_x0020_'", store.Mappings.Get("VENDOR")!.TableFilter);
        Assert.Equal(StandardMappings.Get("CONTACT")!.TableFilter, store.Mappings.Get("CONTACT")!.TableFilter);
    }

    [Fact]
    public void A_store_from_a_newer_CrmSync_is_refused()
    {
        var path = Location("newer");
        using (var store = Open(path))
        {
            store.Database.Execute("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', '2030-01-01')");
        }

        var ex = Assert.Throws<CrmSyncException>(() => Open(path));
        Assert.Equal("StateStoreTooNew", ex.ErrorId);
        Assert.Contains("99", ex.Message);
    }

    [Fact]
    public void A_migration_that_fails_midway_leaves_the_previous_version()
    {
        var path = Location("broken-migration");
        var broken = StateMigrations.All.Append(new StateMigration(StateMigrations.LatestVersion + 1, "broken",
            "CREATE TABLE half_done (id INTEGER); CREATE TABLE this is not sql;")).ToList();

        Assert.ThrowsAny<Exception>(() => Open(path, broken));

        using var store = Open(path);
        Assert.Equal(StateStore.LatestSchemaVersion, store.SchemaVersion);
        Assert.False(TableExists(store, "half_done"));
    }

    [Fact]
    public void Every_table_round_trips()
    {
        var path = Location("roundtrip");
        var coupling = WithVersions(SampleCoupling());
        var job = SampleJob();
        var error = new IntegrationSyncError
        {
            JobId = job.Id, MappingName = "CUSTOMER", Direction = SyncDirection.FromIntegrationTable, SourceId = "a", DestinationId = "b",
            Message = "Currency EUR must be coupled", Detail = "stack", Time = new DateTimeOffset(2026, 5, 6, 7, 8, 9, 123, TimeSpan.Zero),
        };
        var failure = new UncoupledFailure { MappingName = "CUSTOMER", Direction = SyncDirection.ToIntegrationTable, SourceId = Guid.NewGuid(), Message = "m", FailureCount = 2, Skipped = true, LastJobId = job.Id, FailedAt = DateTimeOffset.UnixEpoch.AddDays(3) };
        var pending = new PendingWrite { MappingName = "CUSTOMER", Side = SyncSide.BusinessCentral, SourceId = Guid.NewGuid().ToString(), Operation = "Create", Marker = "m1", CreatedAt = DateTimeOffset.UnixEpoch.AddDays(1) };
        long errorId, pendingId;
        using (var store = Open(path))
        {
            foreach (var mapping in StandardMappings.All())
            {
                store.Mappings.Save(mapping with { TableFilter = mapping.Name + " eq 'x'", UpdateConflictResolution = UpdateConflictResolution.GetUpdateFromIntegration });
            }

            store.Watermarks.Advance("CUSTOMER", SyncSide.BusinessCentral, new DateTimeOffset(2026, 3, 1, 0, 0, 0, 123, TimeSpan.FromHours(2)));
            store.Couplings.Save(coupling);
            store.Jobs.Save(job);
            errorId = store.Jobs.AddError(error);
            pendingId = store.PendingWrites.Add(pending);
            store.Settings.Set("k", "v");
            store.Failures.Save(failure);
        }

        using (var store = Open(path))
        {
            foreach (var expected in StandardMappings.All())
            {
                var actual = store.Mappings.Get(expected.Name)!;
                Assert.True(actual.HasSameSettingsAs(expected with { TableFilter = expected.Name + " eq 'x'", UpdateConflictResolution = UpdateConflictResolution.GetUpdateFromIntegration }), expected.Name);
                Assert.Equal(expected.FieldMappings, actual.FieldMappings);
            }

            Assert.Equal(new DateTimeOffset(2026, 2, 28, 22, 0, 0, 123, TimeSpan.Zero), store.Mappings.Get("CUSTOMER")!.BcWatermark);
            Assert.Null(store.Mappings.Get("CUSTOMER")!.DataverseWatermark);
            Assert.Equal(coupling, store.Couplings.GetByBcId("CUSTOMER", coupling.BcId));
            Assert.Equal(coupling, store.Couplings.GetByDataverseId("CUSTOMER", coupling.DataverseId));
            Assert.Equal(failure, store.Failures.Get("CUSTOMER", SyncDirection.ToIntegrationTable, failure.SourceId));
            Assert.Equal(job, store.Jobs.Get(job.Id));
            Assert.Equal(error with { Id = errorId }, store.Jobs.GetErrors(job.Id).Single());
            Assert.Equal(pending with { Id = pendingId }, store.PendingWrites.GetAll().Single());
            Assert.Equal("v", store.Settings.Get("k"));

            Assert.True(store.PendingWrites.Remove(pendingId));
            Assert.True(store.Couplings.Remove("CUSTOMER", coupling.BcId));
            Assert.True(store.Mappings.Delete("CONTACT"));
            Assert.Empty(store.PendingWrites.GetAll());
            Assert.Empty(store.Couplings.GetAll("CUSTOMER"));
            Assert.Null(store.Mappings.Get("CONTACT"));
        }
    }

    [Fact]
    public void A_transaction_interrupted_midway_leaves_the_previous_state()
    {
        using var store = Open(Location("tx"));
        var customer = StandardMappings.Get("CUSTOMER")!;
        store.Mappings.Save(customer);
        var coupling = SampleCoupling();

        Assert.Throws<InvalidOperationException>(() => store.InTransaction(() =>
        {
            store.Mappings.Save(customer with { TableFilter = "changed eq 1", FieldMappings = customer.FieldMappings.Take(2).ToList() });
            store.Couplings.Save(coupling);
            store.Watermarks.Advance("CUSTOMER", SyncSide.Dataverse, DateTimeOffset.UtcNow);
            throw new InvalidOperationException("killed midway");
        }));

        var after = store.Mappings.Get("CUSTOMER")!;
        Assert.True(after.HasSameSettingsAs(customer));
        Assert.Null(store.Couplings.GetByBcId("CUSTOMER", coupling.BcId));
        Assert.Null(after.DataverseWatermark);
    }

    [Fact]
    public void Watermarks_only_move_forward()
    {
        using var store = Open(Location("wm"));
        store.Mappings.Save(StandardMappings.Get("CURRENCY")!);
        var later = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(later, store.Watermarks.Advance("CURRENCY", SyncSide.BusinessCentral, later));
        Assert.Equal(later, store.Watermarks.Advance("CURRENCY", SyncSide.BusinessCentral, later.AddHours(-1)));
        Assert.Equal(later, store.Watermarks.Get("CURRENCY", SyncSide.BusinessCentral));
        Assert.Equal(later.AddSeconds(1), store.Watermarks.Advance("CURRENCY", SyncSide.BusinessCentral, later.AddSeconds(1)));
    }

    [Fact]
    public void A_Dataverse_row_is_coupled_at_most_once_per_mapping()
    {
        using var store = Open(Location("unique"));
        var coupling = SampleCoupling();
        store.Couplings.Save(coupling);

        Assert.ThrowsAny<Exception>(() => store.Couplings.Save(coupling with { BcId = Guid.NewGuid() }));
        store.Couplings.Save(coupling with { MappingName = "VENDOR", BcId = Guid.NewGuid() });
        Assert.Single(store.Couplings.GetAll("CUSTOMER"));
    }

    [Fact]
    public void Jobs_are_listed_newest_first_and_filtered()
    {
        using var store = Open(Location("jobs"));
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        store.Jobs.Save(SampleJob() with { Id = Guid.NewGuid(), MappingName = "CURRENCY", StartTime = start, Failed = 0 });
        store.Jobs.Save(SampleJob() with { Id = Guid.NewGuid(), MappingName = "CUSTOMER", StartTime = start.AddMinutes(1), Failed = 2 });
        store.Jobs.Save(SampleJob() with { Id = Guid.NewGuid(), MappingName = "CUSTOMER", StartTime = start.AddMinutes(2), Failed = 0 });

        Assert.Equal(new[] { start.AddMinutes(2), start.AddMinutes(1), start }, store.Jobs.GetAll().Select(j => j.StartTime));
        Assert.Equal(2, store.Jobs.GetAll("customer").Count);
        Assert.Equal(start.AddMinutes(1), store.Jobs.GetAll(failedOnly: true).Single().StartTime);
        Assert.Equal(2, store.Jobs.GetAll(since: start.AddMinutes(1)).Count);
    }

    [Fact]
    public void Couplings_and_failures_of_many_records_are_found_at_once_across_several_lists()
    {
        // 250 ids: three lists of 100 (the last padded), half of them coupled, some asked twice, one of another mapping.
        using var store = Open(Location("many"));
        var couplings = Enumerable.Range(0, 125).Select(_ => SampleCoupling() with { BcId = Guid.NewGuid(), DataverseId = Guid.NewGuid() }).ToList();
        store.InTransaction(() => couplings.ForEach(store.Couplings.Save));
        var other = SampleCoupling() with { MappingName = "VENDOR", BcId = Guid.NewGuid(), DataverseId = Guid.NewGuid() };
        store.Couplings.Save(other);
        var asked = couplings.Select(c => c.BcId).Concat(Enumerable.Range(0, 124).Select(_ => Guid.NewGuid())).Append(couplings[0].BcId).Append(other.BcId).ToList();

        var byBc = store.Couplings.GetByBcIds("CUSTOMER", asked);
        Assert.Equal(couplings.Select(c => c.BcId).OrderBy(id => id), byBc.Keys.OrderBy(id => id));
        Assert.All(couplings, c => Assert.Equal(c.DataverseId, byBc[c.BcId].DataverseId));
        var byDataverse = store.Couplings.GetByDataverseIds("CUSTOMER", couplings.Select(c => c.DataverseId).Take(101).Append(other.DataverseId));
        Assert.Equal(couplings.Take(101).Select(c => c.DataverseId).OrderBy(id => id), byDataverse.Keys.OrderBy(id => id));
        Assert.Empty(store.Couplings.GetByBcIds("CUSTOMER", Array.Empty<Guid>()));

        var failed = Enumerable.Range(0, 150).Select(_ => Guid.NewGuid()).ToList();
        store.InTransaction(() => failed.ForEach(id => store.Failures.Save(new UncoupledFailure
        {
            MappingName = "CUSTOMER", Direction = SyncDirection.ToIntegrationTable, SourceId = id, Message = "No salesperson.", FailureCount = 1, FailedAt = DateTimeOffset.UtcNow,
        })));
        var found = store.Failures.GetMany("CUSTOMER", SyncDirection.ToIntegrationTable, failed.Concat(asked));
        Assert.Equal(failed.OrderBy(id => id), found.Keys.OrderBy(id => id));
        Assert.Empty(store.Failures.GetMany("CUSTOMER", SyncDirection.FromIntegrationTable, failed));
    }

    [Fact]
    public void Failed_couplings_are_found_per_direction_without_the_skipped_ones()
    {
        using var store = Open(Location("failed"));
        IntegrationCoupling Coupling(SyncResult toBc, SyncResult toDv, bool skipped = false) =>
            SampleCoupling() with { BcId = Guid.NewGuid(), DataverseId = Guid.NewGuid(), LastSynchResult = toBc, LastSynchCrmResult = toDv, Skipped = skipped };
        var intoDataverse = Coupling(SyncResult.Success, SyncResult.Failure);
        var intoBc = Coupling(SyncResult.Failure, SyncResult.Success);
        foreach (var coupling in new[] { intoDataverse, intoBc, Coupling(SyncResult.Failure, SyncResult.Failure, skipped: true), Coupling(SyncResult.Success, SyncResult.Success) })
        {
            store.Couplings.Save(coupling);
        }

        Assert.Equal(new[] { intoDataverse.BcId }, store.Couplings.GetFailed("CUSTOMER", intoDataverse: true).Select(c => c.BcId));
        Assert.Equal(new[] { intoBc.BcId }, store.Couplings.GetFailed("CUSTOMER", intoDataverse: false).Select(c => c.BcId));
        Assert.True(store.Couplings.Any("CUSTOMER"));
        Assert.False(store.Couplings.Any("VENDOR"));
    }


    [Fact]
    public void A_lease_is_held_by_one_worker_until_it_expires_or_is_released()
    {
        using var store = Open(Location("leases"));
        var now = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var minute = TimeSpan.FromMinutes(1);

        Assert.True(store.Leases.TryAcquire("CUSTOMER", "worker-a", minute, now).Acquired);
        var (taken, held) = store.Leases.TryAcquire("customer", "worker-b", minute, now.AddSeconds(30));
        Assert.False(taken);
        Assert.Equal(("worker-a", now.AddMinutes(1)), (held.Holder, held.ExpiresAt));
        Assert.True(store.Leases.TryAcquire("CUSTOMER", "worker-a", minute, now.AddSeconds(30)).Acquired);
        Assert.True(store.Leases.Renew("CUSTOMER", "worker-a", minute, now.AddSeconds(40)));
        Assert.False(store.Leases.Renew("CUSTOMER", "worker-b", minute, now.AddSeconds(40)));
        Assert.True(store.Leases.TryAcquire("VENDOR", "worker-b", minute, now).Acquired);

        // worker-a stops renewing (a crash): once expired, worker-b takes over, and worker-a can no longer renew.
        Assert.True(store.Leases.TryAcquire("CUSTOMER", "worker-b", minute, now.AddMinutes(2)).Acquired);
        Assert.False(store.Leases.Renew("CUSTOMER", "worker-a", minute, now.AddMinutes(2)));
        store.Leases.Release("CUSTOMER", "worker-a");
        Assert.Equal("worker-b", store.Leases.Get("CUSTOMER")!.Holder);
        store.Leases.Release("CUSTOMER", "worker-b");
        Assert.Null(store.Leases.Get("CUSTOMER"));
    }

    protected static IntegrationCoupling SampleCoupling() => new()
    {
        MappingName = "CUSTOMER",
        BcId = Guid.NewGuid(),
        DataverseId = Guid.NewGuid(),
        BcLastSynchModifiedOn = new DateTimeOffset(2026, 1, 1, 10, 0, 0, 456, TimeSpan.Zero),
        DataverseLastSynchModifiedOn = new DateTimeOffset(2026, 1, 1, 10, 0, 1, TimeSpan.Zero),
        LastSynchResult = SyncResult.Failure,
        LastSynchJobId = Guid.NewGuid(),
        LastSynchCrmResult = SyncResult.Success,
        LastSynchCrmJobId = Guid.NewGuid(),
        LastErrorMessage = "Currency EUR must be coupled to a transactioncurrency record.",
        Skipped = true,
        CoupledAt = new DateTimeOffset(2025, 12, 31, 23, 59, 59, TimeSpan.Zero),
    };

    private static IntegrationCoupling WithVersions(IntegrationCoupling coupling) => coupling with { BcVersion = "W/\"JzE7Jw==\"", DataverseVersion = "W/\"1000001\"" };

    private static IntegrationSyncJob SampleJob() => new()
    {
        Id = Guid.NewGuid(),
        MappingName = "CUSTOMER",
        Direction = SyncDirection.ToIntegrationTable,
        Type = SyncJobType.Synchronization,
        StartTime = new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.Zero),
        FinishTime = new DateTimeOffset(2026, 1, 1, 10, 0, 5, TimeSpan.Zero),
        Message = "done",
        Inserted = 1, Modified = 2, Deleted = 3, Unchanged = 4, Skipped = 5, Failed = 6, Coupled = 7, Uncoupled = 8,
    };
}
