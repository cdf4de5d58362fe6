using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CrmSync.Engine.Tests.State;

/// <summary>
/// A throwaway PostgreSQL 15 cluster for the tests: initdb and pg_ctl into a temporary folder, listening on 127.0.0.1
/// at a free port, stopped and deleted afterwards. initdb refuses to run as root, so as root (CI) the server runs as the
/// postgres system user. Nothing is skipped: when PostgreSQL cannot start, the tests that need it fail with its output.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    private const string Superuser = "crmsync";
    private readonly string _folder;
    private readonly string _data;
    private readonly bool _asPostgresUser;

    public PostgresCluster()
    {
        _folder = Directory.CreateTempSubdirectory("crmsync-pg-").FullName;
        _data = Path.Combine(_folder, "data");
        _asPostgresUser = Environment.UserName == "root";
        if (_asPostgresUser)
        {
            Run("chown", "-R", "postgres", _folder);
        }

        Port = FreePort();
        Server("initdb", "-D", _data, "-A", "trust", "-U", Superuser, "--no-locale", "-E", "UTF8");
        Server("pg_ctl", "-D", _data, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60", "start",
            "-o", $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200");
    }

    public int Port { get; }

    /// <summary>A new, empty database on the cluster, as a connection string.</summary>
    public string NewDatabase(string name)
    {
        var database = $"{name.ToLowerInvariant().Replace('-', '_')}_{Guid.NewGuid():N}"[..Math.Min(63, name.Length + 33)];
        using (var admin = new NpgsqlConnection(ConnectionString("postgres")))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", admin);
            create.ExecuteNonQuery();
        }

        return ConnectionString(database);
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = Superuser, Database = database, Pooling = false }.ConnectionString;

    public void Dispose()
    {
        try
        {
            Server("pg_ctl", "-D", _data, "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private void Server(string tool, params string[] arguments)
    {
        var path = Tool(tool);
        if (_asPostgresUser)
        {
            Run("runuser", new[] { "-u", "postgres", "--", path }.Concat(arguments).ToArray());
        }
        else
        {
            Run(path, arguments);
        }
    }

    // Debian puts the server tools in /usr/lib/postgresql/<version>/bin; a PATH that has them wins.
    private static string Tool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(v => Path.Combine(v, "bin")) : Array.Empty<string>())
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql); the PostgreSQL state store tests need it.");

    private static void Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed (exit {(process.HasExited ? process.ExitCode : -1)}): {output.Result}{error.Result}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
