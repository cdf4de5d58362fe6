namespace CrmSync.Mapping;

/// <summary>BC's "Direction" option on table and field mappings (table 5335 field 10, table 5336 field 6).</summary>
public enum SyncDirection
{
    /// <summary>Both ways: Business Central to Dataverse first, then Dataverse to Business Central.</summary>
    Bidirectional = 0,
    /// <summary>Business Central to Dataverse.</summary>
    ToIntegrationTable = 1,
    /// <summary>Dataverse to Business Central.</summary>
    FromIntegrationTable = 2,
}

/// <summary>BC enum 5338 "Integration Update Conflict Resolution" ("Resolve Update Conflicts").</summary>
public enum UpdateConflictResolution
{
    /// <summary>Fail the record and log the conflict.</summary>
    None = 0,
    /// <summary>Business Central wins: its values are sent to Dataverse.</summary>
    SendUpdateToIntegration = 1,
    /// <summary>Dataverse wins: its values are written into Business Central.</summary>
    GetUpdateFromIntegration = 2,
}

/// <summary>BC enum 5337 "Integration Deletion Conflict Resolution" ("Resolve Deletion Conflicts").</summary>
public enum DeletionConflictResolution
{
    /// <summary>Fail the record: it is coupled to a deleted record.</summary>
    None = 0,
    /// <summary>Re-create the deleted record and couple it again.</summary>
    RestoreRecords = 1,
    /// <summary>Remove the coupling; change no data.</summary>
    RemoveCoupling = 2,
}

/// <summary>Status of a field mapping (BC table 5336 field 11, plus what BC API v2.0 cannot carry).</summary>
public enum FieldMappingStatus
{
    Enabled = 0,
    Disabled = 1,
    /// <summary>BC defines this mapping but BC API v2.0 (or CrmSync's mapping set) cannot carry it; see the field mapping's Note.</summary>
    Unavailable = 2,
}

/// <summary>Which side of a mapping a value belongs to.</summary>
public enum SyncSide
{
    BusinessCentral = 0,
    Dataverse = 1,
}
