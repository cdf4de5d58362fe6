namespace CrmSync.Mapping;

/// <summary>
/// An integration table mapping: one BC API v2.0 entity set ⇄ one Dataverse table, modelled on BC's
/// table 5335 "Integration Table Mapping" (docs/reference/integration.md §A.1).
/// </summary>
public sealed record IntegrationTableMapping
{
    /// <summary>Mapping name, e.g. CUSTOMER (BC field 1, Code[20]).</summary>
    public required string Name { get; init; }

    /// <summary>BC table caption, e.g. Customer.</summary>
    public required string BcTable { get; init; }

    /// <summary>BC table number, e.g. 18.</summary>
    public int BcTableId { get; init; }

    /// <summary>BC API v2.0 entity set under a company, e.g. customers.</summary>
    public required string BcEntitySet { get; init; }

    /// <summary>BC API field that identifies a record to people (number, code).</summary>
    public required string BcKeyField { get; init; }

    /// <summary>Dataverse table logical name, e.g. account.</summary>
    public required string DataverseTable { get; init; }

    /// <summary>Dataverse Web API entity set, e.g. accounts.</summary>
    public required string DataverseEntitySet { get; init; }

    /// <summary>Dataverse primary key column, e.g. accountid.</summary>
    public required string DataverseIdColumn { get; init; }

    /// <summary>Dataverse primary name column, e.g. name.</summary>
    public required string DataverseNameColumn { get; init; }

    public SyncDirection Direction { get; init; }

    /// <summary>BC-side inclusion filter, as a BC API v2.0 OData $filter ("Table Filter").</summary>
    public string? TableFilter { get; init; }

    /// <summary>Dataverse-side inclusion filter, as a Web API OData $filter ("Integration Table Filter").</summary>
    public string? IntegrationTableFilter { get; init; }

    /// <summary>When set, uncoupled source records are skipped instead of created (BC default: true).</summary>
    public bool SynchOnlyCoupledRecords { get; init; } = true;

    public UpdateConflictResolution UpdateConflictResolution { get; init; }

    public DeletionConflictResolution DeletionConflictResolution { get; init; }

    /// <summary>Mappings that must be synchronized first ("Dependency Filter").</summary>
    public IReadOnlyList<string> Dependencies { get; init; } = Array.Empty<string>();

    /// <summary>Match-based coupling creates a Dataverse row when no unique match is found.</summary>
    public bool CreateNewInCaseOfNoMatch { get; init; }

    /// <summary>BC-side watermark: records with lastModifiedDateTime after it are candidates (BC's "Synch. Int. Tbl. Mod. On Fltr.").</summary>
    public DateTimeOffset? BcWatermark { get; init; }

    /// <summary>Dataverse-side watermark: rows with modifiedon after it are candidates (BC's "Synch. Modified On Filter").</summary>
    public DateTimeOffset? DataverseWatermark { get; init; }

    public IReadOnlyList<IntegrationFieldMapping> FieldMappings { get; init; } = Array.Empty<IntegrationFieldMapping>();

    /// <summary>True for the mappings CrmSync ships (CURRENCY, SALESPEOPLE, VENDOR, CUSTOMER, CONTACT).</summary>
    public bool IsStandard => StandardMappings.Names.Contains(Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Field mappings that take part in a pass in the given direction (BC's BuildTempIntegrationFieldMapping).</summary>
    public IEnumerable<IntegrationFieldMapping> FieldMappingsFor(SyncDirection passDirection) =>
        FieldMappings.Where(f => f.Status == FieldMappingStatus.Enabled &&
                                 (f.Direction == passDirection || f.Direction == SyncDirection.Bidirectional));

    /// <summary>True when this mapping's configuration (not its watermarks) equals <paramref name="other"/>.</summary>
    public bool HasSameSettingsAs(IntegrationTableMapping other) =>
        this with { BcWatermark = null, DataverseWatermark = null, Dependencies = Array.Empty<string>(), FieldMappings = Array.Empty<IntegrationFieldMapping>() }
        == other with { BcWatermark = null, DataverseWatermark = null, Dependencies = Array.Empty<string>(), FieldMappings = Array.Empty<IntegrationFieldMapping>() }
        && Dependencies.SequenceEqual(other.Dependencies, StringComparer.OrdinalIgnoreCase)
        && FieldMappings.SequenceEqual(other.FieldMappings);

    public override string ToString() => Name;
}

/// <summary>
/// One field mapping of a table mapping, modelled on BC's table 5336 "Integration Field Mapping"
/// (docs/reference/integration.md §A.2).
/// </summary>
public sealed record IntegrationFieldMapping
{
    /// <summary>The table mapping this field mapping belongs to.</summary>
    public required string MappingName { get; init; }

    /// <summary>Position within the table mapping (BC's "No.").</summary>
    public int No { get; init; }

    /// <summary>BC field name as admins know it, e.g. "Phone No.".</summary>
    public required string BcFieldCaption { get; init; }

    /// <summary>BC API v2.0 JSON property, or null when the API has no such field.</summary>
    public string? BcField { get; init; }

    /// <summary>Dataverse column logical name, or null for a constant written only into BC.</summary>
    public string? DataverseField { get; init; }

    public SyncDirection Direction { get; init; }

    public FieldMappingStatus Status { get; init; }

    /// <summary>Value written when there is no source field.</summary>
    public string? ConstantValue { get; init; }

    /// <summary>Clear the destination when the value cannot be set.</summary>
    public bool ClearValueOnFailedSync { get; init; }

    /// <summary>Never write an empty value (protects ownerid).</summary>
    public bool NotNull { get; init; }

    public bool UseForMatchBasedCoupling { get; init; }

    /// <summary>Match groups are tried in ascending priority (0 first).</summary>
    public int MatchPriority { get; init; }

    public bool CaseSensitiveMatching { get; init; }

    /// <summary>Mapping(s), separated by '|', whose couplings translate this lookup value (e.g. CURRENCY).</summary>
    public string? LookupMapping { get; init; }

    /// <summary>Why a mapping is unavailable or differs from BC's default.</summary>
    public string? Note { get; init; }

    public override string ToString() => $"{MappingName}: {BcFieldCaption} -> {DataverseField}";
}
