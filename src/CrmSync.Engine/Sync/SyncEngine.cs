using System.Text.Json;
using System.Text.Json.Nodes;
using CrmSync.Connections;
using CrmSync.Http;
using CrmSync.Mapping;
using CrmSync.OData;
using CrmSync.State;

namespace CrmSync.Sync;

/// <summary>
/// Synchronizes integration table mappings the way Business Central does (reference/domain.md §C; design
/// §5): per mapping in dependency order, BC → Dataverse first and then back; candidates from the watermark
/// with an overlap plus failed records; echo suppression; change detection against the coupling;
/// field-level conflicts on bidirectional fields; only changed fields written, in batches; couplings,
/// failures and watermarks committed per acknowledged batch; one job per mapping and direction.
/// </summary>
public sealed class SyncEngine
{
    /// <summary>Rows modified this long before the watermark are read again (second-precision modifiedon, late commits).</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(1);

    /// <summary>Source rows read ahead while the batches before them are written: one page, so reading and writing overlap.</summary>
    private const int ReadAheadRows = 5000;

    private readonly CrmSyncConnection _connection;
    private readonly StateStore _store;

    public SyncEngine(CrmSyncConnection connection)
    {
        _connection = connection;
        _store = connection.Store;
    }

    /// <summary>Synchronizes the mappings (in dependency order) and returns one job per mapping and direction.</summary>
    public async Task<IReadOnlyList<IntegrationSyncJob>> RunAsync(IReadOnlyList<IntegrationTableMapping> mappings, SyncOptions options, ISyncObserver observer, CancellationToken cancellationToken)
    {
        var ordered = MappingOrder.SortSubset(mappings.Select(m => _store.GetMapping(m.Name) ?? m), _store.GetMappings());
        var lookups = new LookupContext(_connection);
        var jobs = new List<IntegrationSyncJob>();
        foreach (var mapping in ordered)
        {
            foreach (var pass in Passes(mapping.Direction))
            {
                var run = new PassRun(this, mapping, pass, options, observer, lookups);
                jobs.Add(await run.RunAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return jobs;
    }

    /// <summary>Mappings where both sides already hold records and nothing is coupled yet: a full sync would copy each side to the other (duplicates).</summary>
    public async Task<IReadOnlyList<string>> DuplicateRisksAsync(IReadOnlyList<IntegrationTableMapping> mappings, CancellationToken cancellationToken)
    {
        var risks = new List<string>();
        foreach (var mapping in mappings.Where(m => m.Direction == SyncDirection.Bidirectional))
        {
            if (_store.HasCouplings(mapping.Name))
            {
                continue;
            }

            var bc = new BusinessCentralSideAccess(mapping, _connection.SyncBusinessCentral);
            var dv = new DataverseSideAccess(mapping, _connection.SyncDataverse);
            if (await bc.AnyAsync(cancellationToken).ConfigureAwait(false) && await dv.AnyAsync(cancellationToken).ConfigureAwait(false))
            {
                risks.Add($"Both Business Central ({mapping.BcTable}) and Dataverse ({mapping.DataverseTable}) already hold records for {mapping.Name} and none are coupled: " +
                    $"a full synchronization copies every uncoupled record to the other side, which duplicates records that exist on both. Couple them first (New-IntegrationCoupling -Name {mapping.Name} -MatchBased).");
            }
        }

        return risks;
    }

    private static IEnumerable<SyncDirection> Passes(SyncDirection direction) => direction switch
    {
        SyncDirection.Bidirectional => new[] { SyncDirection.ToIntegrationTable, SyncDirection.FromIntegrationTable },
        _ => new[] { direction },
    };

    /// <summary>
    /// The Dataverse users whose changes are never synchronized back: the integration user recorded by New-IntegrationUser
    /// and the identity synchronization writes as (the integration identity, else the connection's own user).
    /// </summary>
    internal IReadOnlyList<Guid> IntegrationUserIds =>
        new[] { Guid.TryParse(_store.GetSetting(SettingKeys.IntegrationUserId), out var configured) ? configured : (Guid?)null, _connection.SyncDataverseUserId ?? _connection.DataverseUserId }
            .OfType<Guid>().Distinct().ToList();

    /// <summary>One mapping × direction: one job.</summary>
    private sealed class PassRun
    {
        private readonly SyncEngine _engine;
        private readonly IntegrationTableMapping _mapping;
        private readonly SyncDirection _pass;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        private readonly LookupContext _lookups;
        private readonly SyncSideAccess _source;
        private readonly SyncSideAccess _destination;
        private readonly FieldTransfer _transfer;
        private readonly StateStore _store;
        private readonly DateTimeOffset _jobStart = DateTimeOffset.UtcNow;
        private readonly (int Dataverse, int BusinessCentral) _requestsAtStart;
        private readonly HashSet<Guid> _processed = new();
        private IntegrationSyncJob _job;
        private int _processedCount;

        public PassRun(SyncEngine engine, IntegrationTableMapping mapping, SyncDirection pass, SyncOptions options, ISyncObserver observer, LookupContext lookups)
        {
            _engine = engine;
            _mapping = mapping;
            _pass = pass;
            _options = options;
            _observer = observer;
            _lookups = lookups;
            _store = engine._store;
            var bc = new BusinessCentralSideAccess(mapping, engine._connection.SyncBusinessCentral);
            var dv = new DataverseSideAccess(mapping, engine._connection.SyncDataverse);
            (_source, _destination) = pass == SyncDirection.ToIntegrationTable ? ((SyncSideAccess)bc, (SyncSideAccess)dv) : (dv, bc);
            _transfer = new FieldTransfer(mapping, pass, _source, _destination, lookups);
            _job = new IntegrationSyncJob { Id = Guid.NewGuid(), MappingName = mapping.Name, Direction = pass, Type = SyncJobType.Synchronization, StartTime = _jobStart };
            _requestsAtStart = (engine._connection.RequestsSent(ServiceKind.Dataverse), engine._connection.RequestsSent(ServiceKind.BusinessCentral));
        }

        private bool ToDataverse => _pass == SyncDirection.ToIntegrationTable;

        public async Task<IntegrationSyncJob> RunAsync(CancellationToken cancellationToken)
        {
            Save(() => _store.SaveJob(_job));
            _observer.Progress(_mapping.Name, _pass, 0, "Starting");
            try
            {
                if (!ToDataverse)
                {
                    await ReconcilePendingCreatesAsync(cancellationToken).ConfigureAwait(false);
                }

                // Failed (not skipped) records first, whether or not they changed (reference/domain.md §C.2).
                var retry = RetryIds();
                if (retry.Count > 0)
                {
                    var rows = await _source.GetByIdsAsync(retry, cancellationToken).ConfigureAwait(false);
                    foreach (var chunk in rows.Values.Chunk(BatchSize))
                    {
                        await ProcessBatchAsync(chunk, advanceWatermarkTo: null, cancellationToken).ConfigureAwait(false);
                    }
                }

                var watermark = _options.FullSync ? null : _store.GetWatermark(_mapping.Name, _source.Side);
                var batch = new List<SideRow>(BatchSize);
                await foreach (var row in ReadAhead.Of(_source.ReadAsync(watermark - Overlap, SourceFilter(), cancellationToken), ReadAheadRows, cancellationToken).ConfigureAwait(false))
                {
                    if (_processed.Contains(row.Id))
                    {
                        continue;
                    }

                    batch.Add(row);
                    if (batch.Count == BatchSize)
                    {
                        await ProcessBatchAsync(batch, batch[^1].ModifiedOn, cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    await ProcessBatchAsync(batch, batch[^1].ModifiedOn, cancellationToken).ConfigureAwait(false);
                }

                Finish($"{Summary()}.");
                return _job;
            }
            catch (OperationCanceledException)
            {
                Finish($"Stopped after {_processedCount} records; what was processed is saved, and the next run continues from there.");
                throw;
            }
            catch (CrmSyncException ex)
            {
                Finish($"The job stopped after {_processedCount} records: {ex.Message}");
                throw;
            }
        }

        private string Summary() =>
            $"{_processedCount} records: {_job.Inserted} inserted, {_job.Modified} modified, {_job.Deleted} deleted, {_job.Unchanged} unchanged, {_job.Skipped} skipped, {_job.Failed} failed" +
            (_job.Coupled > 0 ? $", {_job.Coupled} coupled" : string.Empty) + (_job.Uncoupled > 0 ? $", {_job.Uncoupled} uncoupled" : string.Empty);

        // One engine batch is one state commit; the destination decides how many records it writes at once.
        private int BatchSize => _destination.RecordsPerBatch(_options.BatchSize);

        private void Finish(string message)
        {
            // What this job cost against the services' limits (passes run one after another on a connection).
            _job = _job with
            {
                FinishTime = DateTimeOffset.UtcNow, Message = message,
                DataverseRequests = _engine._connection.RequestsSent(ServiceKind.Dataverse) - _requestsAtStart.Dataverse,
                BusinessCentralRequests = _engine._connection.RequestsSent(ServiceKind.BusinessCentral) - _requestsAtStart.BusinessCentral,
            };
            Save(() => _store.SaveJob(_job));
            _observer.Progress(_mapping.Name, _pass, _processedCount, "Completed");
            if (!_options.WhatIf)
            {
                _observer.JobCompleted(_job);
            }
        }

        private void Save(Action write)
        {
            if (!_options.WhatIf)
            {
                write();
            }
        }

        // What is never read from Dataverse (reference/domain.md §C.4, article 1):
        // - echo suppression: changes the integration identity made are not synchronized back — for every mapping,
        //   full synchronization included (BC applies the filter to some mappings only; CrmSync's rule is the article's);
        // - service identities are never salespeople: application users, integration users, non-interactive users and
        //   the identities this connection writes as.
        private string? SourceFilter()
        {
            if (ToDataverse)
            {
                return null;
            }

            var writers = _engine.IntegrationUserIds;
            var filters = writers.Select(id => $"_modifiedby_value ne {id}").ToList();
            if (string.Equals(_mapping.DataverseTable, "systemuser", StringComparison.OrdinalIgnoreCase))
            {
                filters.Add("applicationid eq null and isintegrationuser eq false and accessmode ne 4");
                filters.AddRange(writers.Select(id => $"systemuserid ne {id}"));
            }

            return filters.Count == 0 ? null : string.Join(" and ", filters);
        }

        private List<Guid> RetryIds()
        {
            var ids = _store.GetFailedCouplings(_mapping.Name, intoDataverse: ToDataverse).Select(c => ToDataverse ? c.BcId : c.DataverseId);
            return ids.Concat(_store.GetFailures(_mapping.Name).Where(f => f.Direction == _pass && !f.Skipped).Select(f => f.SourceId)).Distinct().ToList();
        }

        // ---- One batch ----------------------------------------------------------------------------

        private sealed class Decision
        {
            public required SideRow Source { get; init; }

            public IntegrationCoupling? Coupling { get; set; }

            public SideRow? Destination { get; set; }

            public SyncAction Action { get; set; }

            public string? Message { get; set; }

            public SideWrite? Write { get; set; }

            public IReadOnlyList<string> ChangedFields { get; set; } = Array.Empty<string>();

            public bool Coupled { get; set; }

            public bool Uncoupled { get; set; }

            public Guid? DestinationId { get; set; }

            public DateTimeOffset? DestinationModifiedOn { get; set; }

            public string? DestinationVersion { get; set; }
        }

        // Stopping (Ctrl+C) is honoured between batches: a batch that started is written and committed whole.
        private async Task ProcessBatchAsync(IReadOnlyList<SideRow> rows, DateTimeOffset? advanceWatermarkTo, CancellationToken stopping)
        {
            stopping.ThrowIfCancellationRequested();
            var cancellationToken = CancellationToken.None;
            var decisions = rows.Select(r => new Decision { Source = r, Coupling = CouplingOf(r.Id) }).ToList();
            var needDestination = decisions.Where(d => d.Coupling is { Skipped: false } && SourceChanged(d)).Select(d => DestinationIdOf(d.Coupling!)).ToList();
            var destinations = needDestination.Count == 0 ? new Dictionary<Guid, SideRow>() : await _destination.GetByIdsAsync(needDestination, cancellationToken).ConfigureAwait(false);

            foreach (var decision in decisions)
            {
                await DecideAsync(decision, destinations, cancellationToken).ConfigureAwait(false);
            }

            await WriteAsync(decisions, cancellationToken).ConfigureAwait(false);
            Commit(decisions, advanceWatermarkTo);
            foreach (var decision in decisions)
            {
                _processed.Add(decision.Source.Id);
            }

            _processedCount += decisions.Count;
            _observer.Progress(_mapping.Name, _pass, _processedCount, Summary());
        }

        private IntegrationCoupling? CouplingOf(Guid sourceId) =>
            ToDataverse ? _store.GetCouplingByBcId(_mapping.Name, sourceId) : _store.GetCouplingByDataverseId(_mapping.Name, sourceId);

        private Guid DestinationIdOf(IntegrationCoupling coupling) => ToDataverse ? coupling.DataverseId : coupling.BcId;

        // Changed = newer modified-on, or (same modified-on, Dataverse stores whole seconds) another row version.
        private bool SourceChanged(Decision d)
        {
            var c = d.Coupling!;
            var stored = ToDataverse ? c.BcLastSynchModifiedOn : c.DataverseLastSynchModifiedOn;
            var version = ToDataverse ? c.BcVersion : c.DataverseVersion;
            var lastResult = ToDataverse ? c.LastSynchCrmResult : c.LastSynchResult;
            return stored is null || d.Source.ModifiedOn > stored || (version is not null && d.Source.ETag is not null && d.Source.ETag != version) || lastResult == SyncResult.Failure;
        }

        private bool DestinationChanged(IntegrationCoupling c, SideRow destination)
        {
            var stored = ToDataverse ? c.DataverseLastSynchModifiedOn : c.BcLastSynchModifiedOn;
            var version = ToDataverse ? c.DataverseVersion : c.BcVersion;
            return stored is null || destination.ModifiedOn > stored || (version is not null && destination.ETag is not null && destination.ETag != version);
        }

        private async Task DecideAsync(Decision d, Dictionary<Guid, SideRow> destinations, CancellationToken cancellationToken)
        {
            var failure = _store.GetFailure(_mapping.Name, _pass, d.Source.Id);
            if (d.Coupling?.Skipped == true || failure?.Skipped == true)
            {
                d.Action = SyncAction.Skip;
                d.Message = "Skipped after the same error twice; Reset-IntegrationCoupling retries it.";
                return;
            }

            if (d.Coupling is { } coupling)
            {
                if (!SourceChanged(d))
                {
                    d.Action = SyncAction.Unchanged;
                    return;
                }

                if (!destinations.TryGetValue(DestinationIdOf(coupling), out var destination))
                {
                    switch (_mapping.DeletionConflictResolution)
                    {
                        case DeletionConflictResolution.RemoveCoupling:
                            d.Action = SyncAction.Uncouple;
                            d.Uncoupled = true;
                            return;
                        case DeletionConflictResolution.RestoreRecords:
                            d.Uncoupled = true;
                            d.Coupling = null;
                            await PlanCreateAsync(d, cancellationToken).ConfigureAwait(false);
                            return;
                        default:
                            Fail(d, $"The {_source.EntityName} record cannot be updated because it is coupled to a deleted {_destination.EntityName} record. Set DeletionConflictResolution to RestoreRecords or RemoveCoupling, or remove the coupling.");
                            return;
                    }
                }

                d.Destination = destination;
                d.DestinationId = destination.Id;
                await PlanUpdateAsync(d, coupling, destination, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (_mapping.SynchOnlyCoupledRecords && !_options.FullSync)
            {
                d.Action = SyncAction.Ignore;
                d.Message = "Not coupled, and the mapping synchronizes only coupled records.";
                return;
            }

            if (await MatchAsync(d, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await PlanCreateAsync(d, cancellationToken).ConfigureAwait(false);
        }

        private async Task PlanUpdateAsync(Decision d, IntegrationCoupling coupling, SideRow destination, CancellationToken cancellationToken)
        {
            var transfer = await _transfer.ComputeAsync(d.Source, destination, cancellationToken).ConfigureAwait(false);
            if (transfer.Failure is not null)
            {
                Fail(d, transfer.Failure);
                return;
            }

            // Field-level conflict: both sides changed and a bidirectional field really differs (§C.6).
            if (_mapping.Direction == SyncDirection.Bidirectional && transfer.BidirectionalDifferences.Count > 0 && DestinationChanged(coupling, destination))
            {
                var field = transfer.BidirectionalDifferences[0];
                var wins = _mapping.UpdateConflictResolution switch
                {
                    UpdateConflictResolution.SendUpdateToIntegration => ToDataverse,
                    UpdateConflictResolution.GetUpdateFromIntegration => !ToDataverse,
                    _ => (bool?)null,
                };
                if (wins is null)
                {
                    Fail(d, $"Cannot update a record in the {_destination.EntityName} table. The mapping between {Name(field, _source)} field on the {_source.EntityName} table and the {Name(field, _destination)} field on the {_destination.EntityName} table is bi-directional, and one or both values have changed since the last synchronization.");
                    return;
                }

                if (wins == false)
                {
                    d.Action = SyncAction.Skip;
                    d.Message = $"Update conflict resolved in favour of {(ToDataverse ? "Dataverse" : "Business Central")}.";
                    return;
                }
            }

            d.ChangedFields = transfer.ChangedFields;
            if (transfer.Changes.Count == 0)
            {
                d.Action = SyncAction.Unchanged;
                d.DestinationModifiedOn = destination.ModifiedOn;
                d.DestinationVersion = destination.ETag;
                return;
            }

            d.Action = SyncAction.Modify;
            d.Write = new SideWrite(destination.Id, Create: false, transfer.Changes, destination.ETag, 0);
        }

        private async Task PlanCreateAsync(Decision d, CancellationToken cancellationToken)
        {
            var transfer = await _transfer.ComputeAsync(d.Source, null, cancellationToken).ConfigureAwait(false);
            if (transfer.Failure is not null)
            {
                Fail(d, transfer.Failure);
                return;
            }

            var values = transfer.Changes;
            foreach (var (field, value) in TemplateValues())
            {
                if (!values.ContainsKey(field))
                {
                    values[field] = value;
                }
            }

            if (_mapping.BcEntitySet == "salespeoplePurchasers" && !ToDataverse && !values.ContainsKey("code"))
            {
                values["code"] = await _lookups.NextSalespersonCodeAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_mapping.DataverseTable == "transactioncurrency" && ToDataverse)
            {
                // BC fills these from its exchange rates, which BC API v2.0 does not expose here (about_CrmSync).
                values["exchangerate"] ??= 1m;
                values["currencyprecision"] ??= 2;
            }

            d.Action = SyncAction.Insert;
            d.ChangedFields = transfer.ChangedFields;
            var id = ToDataverse ? DeterministicIds.ForDataverse(_mapping.Name, d.Source.Id) : (Guid?)null;
            d.DestinationId = id;
            d.Write = new SideWrite(id, Create: true, values, null, 0);
        }

        // A new record must satisfy the destination's inclusion filter, as BC's configuration templates ensure:
        // the filter's "field eq value" conditions become its initial values (e.g. customertypecode = 3).
        private IEnumerable<(string Field, JsonNode? Value)> TemplateValues()
        {
            if (_destination.InclusionFilter is not { } filter)
            {
                yield break;
            }

            var stack = new Stack<FilterNode>();
            stack.Push(FilterExpression.Parse(filter));
            while (stack.Count > 0)
            {
                switch (stack.Pop())
                {
                    case LogicalNode { Operator: "and" } and:
                        stack.Push(and.Left);
                        stack.Push(and.Right);
                        break;
                    case ComparisonNode { Operator: "eq", Left: PropertyNode property, Right: LiteralNode literal } when !property.Path.StartsWith('_'):
                        yield return (property.Path, literal.Value switch
                        {
                            null => null,
                            decimal number when number == Math.Truncate(number) => JsonValue.Create((long)number),
                            decimal number => JsonValue.Create(number),
                            bool b => JsonValue.Create(b),
                            var other => JsonValue.Create(other.ToString()),
                        });
                        break;
                }
            }
        }

        // Match-based coupling on the fields marked for it, priority group by group (§C.9).
        private async Task<bool> MatchAsync(Decision d, CancellationToken cancellationToken)
        {
            var groups = _mapping.FieldMappings.Where(f => f.UseForMatchBasedCoupling && f.Status != FieldMappingStatus.Unavailable && f.BcField is not null && f.DataverseField is not null)
                .GroupBy(f => f.MatchPriority).OrderBy(g => g.Key).ToList();
            foreach (var group in groups)
            {
                var conditions = new List<string>();
                foreach (var field in group)
                {
                    var value = d.Source.Data[_source.ReadName(ToDataverse ? field.BcField! : field.DataverseField!)];
                    if (FieldTransfer.IsEmpty(value))
                    {
                        conditions.Clear();
                        break;
                    }

                    conditions.Add($"{_destination.ReadName(ToDataverse ? field.DataverseField! : field.BcField!)} eq {SyncSideAccess.Literal(value)}");
                }

                if (conditions.Count == 0)
                {
                    continue;
                }

                var matches = (await _destination.FindAsync(string.Join(" and ", conditions), cancellationToken).ConfigureAwait(false))
                    .Where(m => (ToDataverse ? _store.GetCouplingByDataverseId(_mapping.Name, m.Id) : _store.GetCouplingByBcId(_mapping.Name, m.Id)) is null)
                    .ToList();
                if (matches.Count > 1)
                {
                    Fail(d, $"{matches.Count} {_destination.EntityName} records match on {string.Join(", ", group.Select(f => f.BcFieldCaption))}; couple the right one with New-IntegrationCoupling.");
                    return true;
                }

                if (matches.Count == 1)
                {
                    var match = matches[0];
                    d.Coupled = true;
                    d.Destination = match;
                    d.DestinationId = match.Id;
                    d.Coupling = NewCoupling(d.Source.Id, match.Id);
                    var transfer = await _transfer.ComputeAsync(d.Source, match, cancellationToken).ConfigureAwait(false);
                    if (transfer.Failure is not null)
                    {
                        Fail(d, transfer.Failure);
                        return true;
                    }

                    d.ChangedFields = transfer.ChangedFields;
                    d.Action = transfer.Changes.Count == 0 ? SyncAction.Couple : SyncAction.Modify;
                    d.DestinationModifiedOn = match.ModifiedOn;
                    d.DestinationVersion = match.ETag;
                    d.Write = transfer.Changes.Count == 0 ? null : new SideWrite(match.Id, Create: false, transfer.Changes, match.ETag, 0);
                    return true;
                }
            }

            return false;
        }

        private IntegrationCoupling NewCoupling(Guid sourceId, Guid destinationId) => new()
        {
            MappingName = _mapping.Name,
            BcId = ToDataverse ? sourceId : destinationId,
            DataverseId = ToDataverse ? destinationId : sourceId,
            CoupledAt = DateTimeOffset.UtcNow,
        };

        private static string Name(IntegrationFieldMapping field, SyncSideAccess side) =>
            side.Side == SyncSide.BusinessCentral ? field.BcFieldCaption : field.DataverseField ?? field.BcFieldCaption;

        private static void Fail(Decision d, string message)
        {
            d.Action = SyncAction.Fail;
            d.Message = message;
            d.Write = null;
        }

        // ---- Writing and committing ---------------------------------------------------------------

        // -WhatIf: the coupling this decision would make, so the records that depend on it rehearse as they would run.
        // A BC record that would be created has no id yet: a stand-in id serves the rehearsal.
        private void RehearseCoupling(Decision decision)
        {
            if (!_options.WhatIf)
            {
                return;
            }

            var destination = decision.DestinationId ?? Guid.NewGuid();
            var (bcId, dataverseId) = ToDataverse ? (decision.Source.Id, destination) : (destination, decision.Source.Id);
            _lookups.RehearseCoupling(_mapping.Name, bcId, dataverseId, newBcRecord: !ToDataverse && decision.DestinationId is null);
        }

        private async Task WriteAsync(List<Decision> decisions, CancellationToken cancellationToken)
        {
            var writes = new List<(Decision Decision, SideWrite Write)>();
            foreach (var decision in decisions.Where(d => d.Write is not null || d.Action == SyncAction.Couple || d.Action == SyncAction.Uncouple))
            {
                var action = decision.Action switch
                {
                    SyncAction.Insert => $"Create {_destination.EntityName}",
                    SyncAction.Couple => $"Couple to {_destination.EntityName} {decision.DestinationId}",
                    SyncAction.Uncouple => "Remove the coupling to a deleted record",
                    _ => $"Update {_destination.EntityName} {decision.DestinationId}" + (decision.Coupled ? " (coupled by matching fields)" : string.Empty),
                };
                if (decision.ChangedFields.Count > 0)
                {
                    action += ": " + string.Join(", ", decision.ChangedFields);
                }

                if (!_observer.ShouldProcess($"{_mapping.Name} {_source.EntityName} {Key(decision.Source)}", action))
                {
                    if (decision.Action is SyncAction.Insert or SyncAction.Couple || decision.Coupled)
                    {
                        RehearseCoupling(decision);
                    }

                    decision.Action = SyncAction.Ignore;
                    decision.Message = _options.WhatIf ? "What if: not written." : "Not confirmed.";
                    decision.Write = null;
                    decision.Coupled = false;
                    decision.Uncoupled = false;
                    continue;
                }

                if (decision.Write is { } write)
                {
                    writes.Add((decision, write with { Index = writes.Count }));
                }
            }

            if (writes.Count == 0)
            {
                return;
            }

            // A BC create cannot carry our id: announce it first, so a crash between create and commit is reconciled, not repeated.
            if (!ToDataverse)
            {
                _store.InTransaction(() =>
                {
                    foreach (var (decision, write) in writes.Where(w => w.Write.Create))
                    {
                        _store.AddPendingWrite(new PendingWrite
                        {
                            MappingName = _mapping.Name, Side = SyncSide.BusinessCentral, SourceId = decision.Source.Id.ToString(), Operation = "Create",
                            Marker = write.Values.ToJsonString(), CreatedAt = DateTimeOffset.UtcNow,
                        });
                    }
                });
            }

            var results = await _destination.WriteAsync(writes.Select(w => w.Write).ToList(), cancellationToken).ConfigureAwait(false);
            foreach (var result in results)
            {
                var decision = writes[result.Write.Index].Decision;
                if (result.Error is not null)
                {
                    Fail(decision, result.Error is Http.ServiceRequestException service ? service.ServiceMessage : result.Error.Message);
                    continue;
                }

                decision.DestinationId = result.Id;
                decision.DestinationModifiedOn = result.ModifiedOn;
                decision.DestinationVersion = result.ETag;
            }
        }

        private void Commit(List<Decision> decisions, DateTimeOffset? advanceWatermarkTo)
        {
            // BC's counters (§A.4): an uncoupling after a deletion is Deleted; records left alone (Ignore) count nowhere.
            var counters = (Inserted: 0, Modified: 0, Deleted: 0, Unchanged: 0, Skipped: 0, Failed: 0, Coupled: 0, Uncoupled: 0);
            foreach (var d in decisions)
            {
                switch (d.Action)
                {
                    case SyncAction.Insert: counters.Inserted++; break;
                    case SyncAction.Modify: counters.Modified++; break;
                    case SyncAction.Uncouple: counters.Deleted++; break;
                    case SyncAction.Unchanged: counters.Unchanged++; break;
                    case SyncAction.Skip: counters.Skipped++; break;
                    case SyncAction.Fail: counters.Failed++; break;
                }

                if (d.Coupled && d.Action != SyncAction.Fail)
                {
                    counters.Coupled++;
                }

                if (d.Uncoupled && d.Action == SyncAction.Uncouple)
                {
                    counters.Uncoupled++;
                }

                if (d.Action == SyncAction.Fail)
                {
                    _observer.RecordFailed(new SyncRecordResult
                    {
                        MappingName = _mapping.Name, Direction = _pass, SourceId = d.Source.Id, DestinationId = d.DestinationId,
                        SourceKey = Key(d.Source), Action = SyncAction.Fail, Message = d.Message,
                    });
                }
            }

            _job = _job with
            {
                Inserted = _job.Inserted + counters.Inserted,
                Modified = _job.Modified + counters.Modified,
                Deleted = _job.Deleted + counters.Deleted,
                Unchanged = _job.Unchanged + counters.Unchanged,
                Skipped = _job.Skipped + counters.Skipped,
                Failed = _job.Failed + counters.Failed,
                Coupled = _job.Coupled + counters.Coupled,
                Uncoupled = _job.Uncoupled + counters.Uncoupled,
            };

            if (_options.WhatIf)
            {
                return;
            }

            // Everything this batch learnt, in one transaction, after the service acknowledged the writes.
            _store.InTransaction(() =>
            {
                foreach (var d in decisions)
                {
                    CommitRecord(d);
                }

                if (!ToDataverse)
                {
                    foreach (var pending in _store.GetPendingWrites(_mapping.Name).Where(p => decisions.Any(d => d.Source.Id.ToString() == p.SourceId)))
                    {
                        _store.RemovePendingWrite(pending.Id);
                    }
                }

                if (advanceWatermarkTo is { } seen)
                {
                    _store.AdvanceWatermark(_mapping.Name, _source.Side, seen < _jobStart ? seen : _jobStart);
                }

                _store.SaveJob(_job);
            });
        }

        private void CommitRecord(Decision d)
        {
            var now = DateTimeOffset.UtcNow;
            switch (d.Action)
            {
                case SyncAction.Insert or SyncAction.Modify or SyncAction.Couple or SyncAction.Unchanged when d.DestinationId is { } destinationId && (d.Coupling is not null || d.Action == SyncAction.Insert):
                    var coupling = d.Coupling ?? NewCoupling(d.Source.Id, destinationId);
                    if (d.Action == SyncAction.Unchanged && d.Destination is null)
                    {
                        break;
                    }

                    // Store both sides' modified-on after our own write: the echo does not look like a change (§C.4).
                    coupling = ToDataverse
                        ? coupling with
                        {
                            BcLastSynchModifiedOn = Later(coupling.BcLastSynchModifiedOn, d.Source.ModifiedOn), BcVersion = d.Source.ETag ?? coupling.BcVersion,
                            DataverseLastSynchModifiedOn = Later(coupling.DataverseLastSynchModifiedOn, d.DestinationModifiedOn), DataverseVersion = d.DestinationVersion ?? coupling.DataverseVersion,
                            LastSynchCrmResult = SyncResult.Success, LastSynchCrmJobId = _job.Id,
                        }
                        : coupling with
                        {
                            DataverseLastSynchModifiedOn = Later(coupling.DataverseLastSynchModifiedOn, d.Source.ModifiedOn), DataverseVersion = d.Source.ETag ?? coupling.DataverseVersion,
                            BcLastSynchModifiedOn = Later(coupling.BcLastSynchModifiedOn, d.DestinationModifiedOn), BcVersion = d.DestinationVersion ?? coupling.BcVersion,
                            LastSynchResult = SyncResult.Success, LastSynchJobId = _job.Id,
                        };
                    // This direction succeeded: its last error goes; the other direction's stays.
                    coupling = ToDataverse ? coupling with { LastErrorToDataverse = null } : coupling with { LastErrorToBusinessCentral = null };
                    _store.SaveCoupling(coupling with { LastErrorMessage = coupling.LastErrorToDataverse ?? coupling.LastErrorToBusinessCentral });
                    _store.RemoveFailure(_mapping.Name, _pass, d.Source.Id);
                    break;
                case SyncAction.Unchanged when d.Coupling is { } unchanged:
                    var refreshed = ToDataverse
                        ? unchanged with { BcLastSynchModifiedOn = Later(unchanged.BcLastSynchModifiedOn, d.Source.ModifiedOn), BcVersion = d.Source.ETag ?? unchanged.BcVersion }
                        : unchanged with { DataverseLastSynchModifiedOn = Later(unchanged.DataverseLastSynchModifiedOn, d.Source.ModifiedOn), DataverseVersion = d.Source.ETag ?? unchanged.DataverseVersion };
                    if (refreshed != unchanged)
                    {
                        _store.SaveCoupling(refreshed);
                    }

                    break;
                case SyncAction.Uncouple when d.Coupling is { } removed:
                    _store.RemoveCoupling(_mapping.Name, removed.BcId);
                    break;
                case SyncAction.Fail:
                    _store.AddJobError(new IntegrationSyncError
                    {
                        JobId = _job.Id, MappingName = _mapping.Name, Direction = _pass, SourceId = $"{d.Source.Id} ({Key(d.Source)})",
                        DestinationId = d.DestinationId?.ToString(), Message = d.Message ?? "Failed.", Time = now,
                    });
                    RecordFailure(d, d.Message ?? "Failed.", now);
                    break;
            }
        }

        // The same error twice in a row, in the same direction, makes the record Skipped until it is reset (§C.12): BC
        // compares with the last error of that direction's job, so the two directions of a conflict do not reset each other.
        private void RecordFailure(Decision d, string message, DateTimeOffset now)
        {
            if (d.Coupling is { } coupling && !d.Coupled)
            {
                var previous = ToDataverse ? coupling.LastSynchCrmResult : coupling.LastSynchResult;
                var previousMessage = ToDataverse ? coupling.LastErrorToDataverse : coupling.LastErrorToBusinessCentral;
                var skipped = coupling.Skipped || (previous == SyncResult.Failure && string.Equals(previousMessage, message, StringComparison.Ordinal));
                _store.SaveCoupling(ToDataverse
                    ? coupling with { LastSynchCrmResult = SyncResult.Failure, LastSynchCrmJobId = _job.Id, LastErrorMessage = message, LastErrorToDataverse = message, Skipped = skipped }
                    : coupling with { LastSynchResult = SyncResult.Failure, LastSynchJobId = _job.Id, LastErrorMessage = message, LastErrorToBusinessCentral = message, Skipped = skipped });
                return;
            }

            var failure = _store.GetFailure(_mapping.Name, _pass, d.Source.Id);
            var same = failure is not null && string.Equals(failure.Message, message, StringComparison.Ordinal);
            _store.SaveFailure(new UncoupledFailure
            {
                MappingName = _mapping.Name, Direction = _pass, SourceId = d.Source.Id, Message = message,
                FailureCount = (failure?.FailureCount ?? 0) + 1, Skipped = same, LastJobId = _job.Id, FailedAt = now,
            });
        }

        private static DateTimeOffset? Later(DateTimeOffset? stored, DateTimeOffset? value) =>
            value is null ? stored : stored is null || value > stored ? value : stored;

        private string Key(SideRow row)
        {
            if (_source.Side == SyncSide.BusinessCentral)
            {
                var key = row.Data[_mapping.BcKeyField]?.ToString();
                var name = row.Data["displayName"]?.ToString();
                return string.Join(' ', new[] { key, name }.Where(s => !string.IsNullOrEmpty(s)));
            }

            return row.Data[_mapping.DataverseNameColumn]?.ToString() is { Length: > 0 } dvName ? dvName : row.Id.ToString();
        }

        // ---- Crash recovery for BC creates ------------------------------------------------------

        // A create announced but never committed: if BC has the record, couple it; otherwise forget the
        // announcement (the source row is read again, as the watermark did not move past it).
        private async Task ReconcilePendingCreatesAsync(CancellationToken cancellationToken)
        {
            foreach (var pending in _store.GetPendingWrites(_mapping.Name).Where(p => p.Side == SyncSide.BusinessCentral && p.Operation == "Create"))
            {
                var sourceId = Guid.Parse(pending.SourceId);
                if (_store.GetCouplingByDataverseId(_mapping.Name, sourceId) is null && pending.Marker is not null && JsonNode.Parse(pending.Marker) is JsonObject values)
                {
                    var keyField = values.ContainsKey("displayName") ? "displayName" : values.Select(kv => kv.Key).FirstOrDefault(k => values[k] is JsonValue v && v.TryGetValue<string>(out _));
                    if (keyField is not null)
                    {
                        var since = pending.CreatedAt - TimeSpan.FromSeconds(5);
                        var candidates = await _destination.FindAsync($"{keyField} eq {SyncSideAccess.Literal(values[keyField])} and lastModifiedDateTime ge {since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}", cancellationToken).ConfigureAwait(false);
                        var match = candidates.FirstOrDefault(c => _store.GetCouplingByBcId(_mapping.Name, c.Id) is null &&
                            values.Where(kv => kv.Value is JsonValue).All(kv => !c.Data.ContainsKey(kv.Key) || FieldTransfer.SameValue(kv.Value, c.Data[kv.Key])));
                        if (match is not null && !_options.WhatIf)
                        {
                            _store.SaveCoupling(NewCoupling(sourceId, match.Id) with { BcLastSynchModifiedOn = match.ModifiedOn, BcVersion = match.ETag, LastSynchResult = SyncResult.Success, LastSynchJobId = _job.Id });
                            _observer.Verbose($"{_mapping.Name}: coupled {_destination.EntityName} {match.Id}, created by an interrupted run, to Dataverse {sourceId}.");
                        }
                    }
                }

                Save(() => _store.RemovePendingWrite(pending.Id));
            }
        }
    }
}

/// <summary>Keys of connection settings kept in the state store.</summary>
public static class SettingKeys
{
    /// <summary>The Dataverse systemuserid of the integration user (changes it makes are not synchronized back).</summary>
    public const string IntegrationUserId = "IntegrationUserId";
}
