namespace CrmSync.State;

/// <summary>One forward schema migration of the state store.</summary>
internal sealed record StateMigration(int Version, string Description, string Sql);

/// <summary>
/// The state store's schema history. Migrations only move forward and each runs in its own transaction,
/// so an interrupted upgrade leaves the previous version intact. Never edit a released migration: add one.
/// Tables follow BC's integration tables (docs/reference/integration.md §A.1–A.4).
/// </summary>
internal static class StateMigrations
{
    public static IReadOnlyList<StateMigration> All { get; } = new[]
    {
        new StateMigration(1, "Mappings, field mappings, couplings, watermarks, jobs and job errors", """
            CREATE TABLE integration_table_mapping (
                name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                bc_table TEXT NOT NULL,
                bc_table_id INTEGER NOT NULL,
                bc_entity_set TEXT NOT NULL,
                bc_key_field TEXT NOT NULL,
                dataverse_table TEXT NOT NULL,
                dataverse_entity_set TEXT NOT NULL,
                dataverse_id_column TEXT NOT NULL,
                dataverse_name_column TEXT NOT NULL,
                direction INTEGER NOT NULL,
                table_filter TEXT NULL,
                integration_table_filter TEXT NULL,
                synch_only_coupled_records INTEGER NOT NULL,
                update_conflict_resolution INTEGER NOT NULL,
                deletion_conflict_resolution INTEGER NOT NULL,
                dependency_filter TEXT NOT NULL,
                create_new_in_case_of_no_match INTEGER NOT NULL
            );
            CREATE TABLE integration_field_mapping (
                mapping_name TEXT NOT NULL COLLATE NOCASE REFERENCES integration_table_mapping(name) ON DELETE CASCADE,
                no INTEGER NOT NULL,
                bc_field_caption TEXT NOT NULL,
                bc_field TEXT NULL,
                dataverse_field TEXT NULL,
                direction INTEGER NOT NULL,
                status INTEGER NOT NULL,
                constant_value TEXT NULL,
                clear_value_on_failed_sync INTEGER NOT NULL,
                not_null INTEGER NOT NULL,
                use_for_match_based_coupling INTEGER NOT NULL,
                match_priority INTEGER NOT NULL,
                case_sensitive_matching INTEGER NOT NULL,
                lookup_mapping TEXT NULL,
                note TEXT NULL,
                PRIMARY KEY (mapping_name, no)
            );
            CREATE TABLE watermark (
                mapping_name TEXT NOT NULL COLLATE NOCASE REFERENCES integration_table_mapping(name) ON DELETE CASCADE,
                side INTEGER NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (mapping_name, side)
            );
            CREATE TABLE coupling (
                mapping_name TEXT NOT NULL COLLATE NOCASE,
                bc_id TEXT NOT NULL,
                dataverse_id TEXT NOT NULL,
                bc_last_synch_modified_on TEXT NULL,
                dataverse_last_synch_modified_on TEXT NULL,
                last_synch_result INTEGER NOT NULL,
                last_synch_job_id TEXT NULL,
                last_synch_crm_result INTEGER NOT NULL,
                last_synch_crm_job_id TEXT NULL,
                last_error_message TEXT NULL,
                skipped INTEGER NOT NULL,
                coupled_at TEXT NOT NULL,
                PRIMARY KEY (mapping_name, bc_id)
            );
            CREATE UNIQUE INDEX ix_coupling_dataverse ON coupling (mapping_name, dataverse_id);
            CREATE TABLE sync_job (
                id TEXT NOT NULL PRIMARY KEY,
                mapping_name TEXT NOT NULL COLLATE NOCASE,
                direction INTEGER NOT NULL,
                type INTEGER NOT NULL,
                start_time TEXT NOT NULL,
                finish_time TEXT NULL,
                message TEXT NULL,
                inserted INTEGER NOT NULL,
                modified INTEGER NOT NULL,
                deleted INTEGER NOT NULL,
                unchanged INTEGER NOT NULL,
                skipped INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                coupled INTEGER NOT NULL,
                uncoupled INTEGER NOT NULL
            );
            CREATE INDEX ix_sync_job_start ON sync_job (start_time);
            CREATE TABLE sync_job_error (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL REFERENCES sync_job(id) ON DELETE CASCADE,
                mapping_name TEXT NOT NULL COLLATE NOCASE,
                direction INTEGER NOT NULL,
                source_id TEXT NULL,
                destination_id TEXT NULL,
                message TEXT NOT NULL,
                detail TEXT NULL,
                time TEXT NOT NULL
            );
            CREATE INDEX ix_sync_job_error_job ON sync_job_error (job_id);
            """),
        new StateMigration(2, "Pending writes (crash-safe creates) and connection settings", """
            CREATE TABLE pending_write (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                mapping_name TEXT NOT NULL COLLATE NOCASE,
                side INTEGER NOT NULL,
                source_id TEXT NOT NULL,
                operation TEXT NOT NULL,
                marker TEXT NULL,
                created_at TEXT NOT NULL
            );
            CREATE UNIQUE INDEX ix_pending_write_source ON pending_write (mapping_name, side, source_id, operation);
            CREATE TABLE setting (
                key TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                value TEXT NULL
            );
            """),
        new StateMigration(3, "Failures of records that are not coupled (retried next run, skipped after the same error twice)", """
            CREATE TABLE sync_failure (
                mapping_name TEXT NOT NULL COLLATE NOCASE,
                direction INTEGER NOT NULL,
                source_id TEXT NOT NULL,
                message TEXT NOT NULL,
                failure_count INTEGER NOT NULL,
                skipped INTEGER NOT NULL,
                last_job_id TEXT NULL,
                failed_at TEXT NOT NULL,
                PRIMARY KEY (mapping_name, direction, source_id)
            );
            """),
        new StateMigration(4, "Row versions (etags) of both sides in couplings: changes within the same second are seen", """
            ALTER TABLE coupling ADD COLUMN bc_version TEXT NULL;
            ALTER TABLE coupling ADD COLUMN dataverse_version TEXT NULL;
            """),
        new StateMigration(5, "The last error per direction: the same error twice in a row is counted per record and direction", """
            ALTER TABLE coupling ADD COLUMN last_error_to_dataverse TEXT NULL;
            ALTER TABLE coupling ADD COLUMN last_error_to_bc TEXT NULL;
            """),
        new StateMigration(6, "What each job cost: the requests it sent per service", """
            ALTER TABLE sync_job ADD COLUMN dataverse_requests INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE sync_job ADD COLUMN business_central_requests INTEGER NOT NULL DEFAULT 0;
            """),
        new StateMigration(7, "Failed couplings found through an index: a run retries them without scanning every coupling", """
            CREATE INDEX ix_coupling_failed_to_dataverse ON coupling (mapping_name) WHERE skipped = 0 AND last_synch_crm_result = 2;
            CREATE INDEX ix_coupling_failed_to_bc ON coupling (mapping_name) WHERE skipped = 0 AND last_synch_result = 2;
            """),
        new StateMigration(8, "Blank BC options in saved filters spelled as BC API v2.0 spells them ('_x0020_', not ' ')", """
            UPDATE integration_table_mapping
            SET table_filter = REPLACE(table_filter, 'blocked eq '' ''', 'blocked eq ''_x0020_''')
            WHERE table_filter LIKE '%blocked eq '' ''%';
            """),
        new StateMigration(9, "Leases: one worker synchronizes a mapping at a time; each job records its worker", """
            CREATE TABLE sync_lease (
                mapping_name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                holder TEXT NOT NULL,
                acquired_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            );
            ALTER TABLE sync_job ADD COLUMN worker TEXT NULL;
            """),
    };

    public static int LatestVersion => All[^1].Version;
}
