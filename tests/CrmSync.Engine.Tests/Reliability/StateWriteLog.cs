using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// Every committed write to a shared PostgreSQL state's leases and synchronized data, in the order the server made them,
/// with the process that made it — recorded by triggers the test adds to its own database. The engine names each of its
/// sessions "CrmSync on &lt;machine&gt;, process &lt;id&gt;" (application_name), so a write is traced to a worker process
/// whether that process finished or was killed: what the job log (written at a job's end) cannot show.
/// </summary>
internal sealed partial class StateWriteLog(string connectionString)
{
    // The tables whose rows are a mapping's synchronized data; each is written only under the mapping's lease.
    private static readonly string[] DataTables = ["coupling", "watermark", "sync_failure", "pending_write"];

    /// <summary>Adds the log table and its triggers (after the engine created the state's tables).</summary>
    public static StateWriteLog Install(string connectionString)
    {
        var data = string.Join("\n", DataTables.Append("sync_job").Select(table =>
            $"CREATE TRIGGER test_log_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION test_log_data();"));
        Execute(connectionString, $$"""
            CREATE TABLE test_write_log (
                seq BIGSERIAL PRIMARY KEY,
                table_name TEXT NOT NULL,
                op TEXT NOT NULL,
                mapping_name TEXT NOT NULL,
                holder TEXT NULL,
                old_holder TEXT NULL,
                old_expires_at TEXT NULL,
                acquired_at TEXT NULL,
                finished BOOLEAN NOT NULL,
                application TEXT NOT NULL
            );
            CREATE FUNCTION test_log_lease() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    INSERT INTO test_write_log (table_name, op, mapping_name, holder, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, OLD.mapping_name, OLD.holder, false, current_setting('application_name'));
                ELSIF TG_OP = 'UPDATE' THEN
                    INSERT INTO test_write_log (table_name, op, mapping_name, holder, old_holder, old_expires_at, acquired_at, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, NEW.mapping_name, NEW.holder, OLD.holder, OLD.expires_at, NEW.acquired_at, false, current_setting('application_name'));
                ELSE
                    INSERT INTO test_write_log (table_name, op, mapping_name, holder, acquired_at, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, NEW.mapping_name, NEW.holder, NEW.acquired_at, false, current_setting('application_name'));
                END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql;
            CREATE FUNCTION test_log_data() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    INSERT INTO test_write_log (table_name, op, mapping_name, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, OLD.mapping_name, false, current_setting('application_name'));
                ELSIF TG_TABLE_NAME = 'sync_job' THEN
                    INSERT INTO test_write_log (table_name, op, mapping_name, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, NEW.mapping_name, NEW.finish_time IS NOT NULL, current_setting('application_name'));
                ELSE
                    INSERT INTO test_write_log (table_name, op, mapping_name, finished, application)
                    VALUES (TG_TABLE_NAME, TG_OP, NEW.mapping_name, false, current_setting('application_name'));
                END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_log_sync_lease AFTER INSERT OR UPDATE OR DELETE ON sync_lease FOR EACH ROW EXECUTE FUNCTION test_log_lease();
            {{data}}
            """);
        return new StateWriteLog(connectionString);
    }

    /// <summary>
    /// The processes among <paramref name="processIds"/> that have committed synchronized work: a coupling, a watermark,
    /// a failure or a pending write, or a finished job.
    /// </summary>
    public IReadOnlySet<int> ProcessesThatCommitted(IEnumerable<int> processIds)
    {
        var committed = Read().Where(w => w.Table != "sync_lease" && (w.Table != "sync_job" || w.Finished)).Select(w => w.ProcessId).ToHashSet();
        return processIds.Where(committed.Contains).ToHashSet();
    }

    /// <summary>
    /// How the log breaks "one worker at a time on a mapping": a lease taken from another holder before it expired, or
    /// a mapping's data written by a process that did not hold the mapping's lease at that moment (by the server's order
    /// of writes: a commit renews the lease first and holds its row until it commits, so nobody's lease write falls between).
    /// </summary>
    public IReadOnlyList<string> SharedMappings()
    {
        var problems = new List<string>();
        var holders = new Dictionary<string, (int ProcessId, string Holder)?>(StringComparer.OrdinalIgnoreCase);
        foreach (var write in Read())
        {
            if (write.Table == "sync_lease")
            {
                if (write.Operation == "UPDATE" && write.OldHolder != write.Holder && Time(write.OldExpiresAt!) > Time(write.AcquiredAt!))
                {
                    problems.Add($"#{write.Sequence} {write.Mapping}: {write.Holder} (process {write.ProcessId}) took the lease of {write.OldHolder} at {write.AcquiredAt}, before it expired at {write.OldExpiresAt}");
                }

                holders[write.Mapping] = write.Operation == "DELETE" ? null : (write.ProcessId, write.Holder!);
            }
            else if (DataTables.Contains(write.Table))
            {
                var holder = holders.GetValueOrDefault(write.Mapping);
                if (holder?.ProcessId != write.ProcessId)
                {
                    problems.Add($"#{write.Sequence} {write.Mapping}: process {write.ProcessId} wrote {write.Table} ({write.Operation}) while " +
                        (holder is { } h ? $"{h.Holder} (process {h.ProcessId}) held the lease" : "nobody held the lease"));
                }
            }
        }

        return problems;
    }

    private sealed record Write(long Sequence, string Table, string Operation, string Mapping, string? Holder, string? OldHolder, string? OldExpiresAt, string? AcquiredAt, bool Finished, int ProcessId);

    private List<Write> Read()
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT seq, table_name, op, mapping_name, holder, old_holder, old_expires_at, acquired_at, finished, application FROM test_write_log ORDER BY seq", connection);
        using var reader = command.ExecuteReader();
        var writes = new List<Write>();
        while (reader.Read())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            var application = reader.GetString(9);
            var process = ProcessName().Match(application);
            Assert.True(process.Success, $"A write to the state from a session that is not the engine's: '{application}'.");
            writes.Add(new Write(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), Text(4), Text(5), Text(6), Text(7), reader.GetBoolean(8),
                int.Parse(process.Groups[1].Value, CultureInfo.InvariantCulture)));
        }

        return writes;
    }

    private static DateTimeOffset Time(string stored) => DateTimeOffset.Parse(stored, CultureInfo.InvariantCulture);

    private static void Execute(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    [GeneratedRegex(@"^CrmSync on .*, process (\d+)$")]
    private static partial Regex ProcessName();
}
