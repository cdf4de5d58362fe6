using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace CrmSync.SandboxControl;

/// <summary>Options for a sandbox started as a child process.</summary>
public sealed record SandboxStartOptions
{
    /// <summary>Path of CrmSync.Sandbox.dll; default: the module's Sandbox folder.</summary>
    public string? SandboxPath { get; init; }

    public int Port { get; init; }

    /// <summary>realistic or unlimited.</summary>
    public string Profile { get; init; } = "realistic";

    public bool SeedSample { get; init; } = true;

    public int ExtraCustomers { get; init; }

    public int ExtraAccounts { get; init; }

    /// <summary>BC salespeople and as many more Dynamics 365 licenses (a sales team to import).</summary>
    public int ExtraSalespeople { get; init; }

    /// <summary>Server time per record read or written on Dataverse and BC (the profile's when null).</summary>
    public TimeSpan? RecordLatency { get; init; }

    /// <summary>Integration applications the sample tenant has (1 to 16; the sandbox's default, 4, when null).</summary>
    public int? IntegrationApps { get; init; }

    /// <summary>How long after a Dynamics 365 license is assigned the user appears in Dataverse (the sandbox's default when null).</summary>
    public TimeSpan? DataverseUserSyncDelay { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Share of requests (0 to 0.5) that fail at random: 5xx, 429 with and without Retry-After, resets, slow responses.</summary>
    public double FaultRate { get; init; }

    /// <summary>Seed of the random faults (the sandbox's default when null).</summary>
    public int? FaultSeed { get; init; }

    /// <summary>Serve HTTPS with the tenant-shaped sign-in; its certificates are kept in <see cref="CertificateFolder"/>.</summary>
    public bool Https { get; init; }

    /// <summary>Where an HTTPS sandbox keeps its TLS certificate (trusted once, reused while valid) and the applications' certificates.</summary>
    public string? CertificateFolder { get; init; }
}

/// <summary>
/// Starts and stops the sandbox as a child process (PowerShell does not ship ASP.NET Core, so the sandbox
/// runs on the machine's dotnet). The child stops by itself when its standard input closes, so a crashed
/// parent never leaves it running.
/// </summary>
public static class SandboxProcess
{
    /// <summary>Environment variable naming CrmSync.Sandbox.dll (overrides the module's copy).</summary>
    public const string PathVariable = "CRMSYNC_SANDBOX_PATH";

    private static readonly ConcurrentDictionary<int, Process> Started = new();

    public static async Task<SandboxInstance> StartAsync(SandboxStartOptions options, CancellationToken cancellationToken = default)
    {
        var sandbox = ResolveSandboxPath(options.SandboxPath);
        var dotnet = FindDotnet();
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        start.ArgumentList.Add(sandbox);
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add(options.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add("--profile");
        start.ArgumentList.Add(options.Profile);
        if (!options.SeedSample)
        {
            start.ArgumentList.Add("--no-seed");
        }

        if (options.ExtraCustomers > 0)
        {
            start.ArgumentList.Add("--customers");
            start.ArgumentList.Add(options.ExtraCustomers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.ExtraAccounts > 0)
        {
            start.ArgumentList.Add("--accounts");
            start.ArgumentList.Add(options.ExtraAccounts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.ExtraSalespeople > 0)
        {
            start.ArgumentList.Add("--salespeople");
            start.ArgumentList.Add(options.ExtraSalespeople.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.RecordLatency is { } perRecord)
        {
            start.ArgumentList.Add("--record-latency");
            start.ArgumentList.Add(((int)perRecord.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.IntegrationApps is { } apps)
        {
            start.ArgumentList.Add("--integration-apps");
            start.ArgumentList.Add(apps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.FaultRate > 0)
        {
            start.ArgumentList.Add("--fault-rate");
            start.ArgumentList.Add(options.FaultRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.FaultSeed is { } seed)
        {
            start.ArgumentList.Add("--fault-seed");
            start.ArgumentList.Add(seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // Ctrl+C in the admin's console stops their command, not the sandbox behind it.
        start.ArgumentList.Add("--own-process-group");
        if (options.Https)
        {
            start.ArgumentList.Add("--https");
            start.ArgumentList.Add("--certificate-folder");
            start.ArgumentList.Add(options.CertificateFolder ?? Path.Combine(Connections.CrmSyncPaths.DefaultStateDirectory, "sandbox-certificates"));
        }

        if (options.DataverseUserSyncDelay is { } delay)
        {
            start.ArgumentList.Add("--user-sync-delay");
            start.ArgumentList.Add(((int)delay.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null.");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new CrmSyncException("SandboxStartFailed", CrmSyncErrorKind.ResourceUnavailable,
                $"The sandbox could not be started with '{dotnet}': {ex.Message} Install the .NET 8 (or later) runtime with ASP.NET Core and put dotnet on the PATH.", sandbox, ex);
        }

        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (line is null)
            {
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                string stderr;
                lock (errors)
                {
                    stderr = errors.ToString().Trim();
                }

                throw new CrmSyncException("SandboxStartFailed", CrmSyncErrorKind.ResourceUnavailable,
                    $"The sandbox exited with code {process.ExitCode} before it was ready: {stderr}", sandbox);
            }

            var instance = Parse(line);
            Started[instance.ProcessId] = process;
            return instance;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill(process);
            throw new CrmSyncException("SandboxStartTimeout", CrmSyncErrorKind.ResourceUnavailable,
                $"The sandbox did not answer within {options.StartTimeout.TotalSeconds:0} seconds; it was stopped.", sandbox);
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    /// <summary>Stops a sandbox: closes its standard input (it shuts down cleanly), and kills it if it does not exit.</summary>
    public static async Task<bool> StopAsync(int processId, TimeSpan? grace = null)
    {
        if (Started.TryRemove(processId, out var process))
        {
            try
            {
                process.StandardInput.Close();
                using var wait = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
            }
            finally
            {
                process.Dispose();
            }

            return true;
        }

        throw new CrmSyncException("SandboxNotFound", CrmSyncErrorKind.ObjectNotFound,
            $"No sandbox with process id {processId} was started from this session. Stop other processes with Stop-Process.", processId);
    }

    /// <summary>A URL under a sandbox's base URL: HTTP on this machine only (a file: URL is "loopback" too, and is refused).</summary>
    internal static Uri SandboxUri(string baseUrl, string path)
    {
        if (!Uri.TryCreate(baseUrl.TrimEnd('/') + "/" + path, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !uri.IsLoopback)
        {
            throw new CrmSyncException("SandboxUrlInvalid", CrmSyncErrorKind.InvalidArgument,
                $"'{baseUrl}' is not a sandbox URL: the sandbox answers over HTTP on 127.0.0.1 only, e.g. http://127.0.0.1:5000.", baseUrl);
        }

        return uri;
    }

    /// <summary>Asks a running sandbox (started anywhere) to describe itself.</summary>
    public static async Task<SandboxInstance> DescribeAsync(string baseUrl, CancellationToken cancellationToken = default)
    {
        var uri = SandboxUri(baseUrl, "_sandbox/info");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            return Parse(await http.GetStringAsync(uri, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            throw new CrmSyncException("SandboxUnreachable", CrmSyncErrorKind.ConnectionError, $"No CrmSync sandbox answered at {baseUrl}: {ex.Message} Start one with Start-CrmSyncSandbox.", baseUrl, ex);
        }
    }

    /// <summary>Sandboxes started from this process that are still running.</summary>
    public static IReadOnlyList<int> Running => Started.Where(kv => !kv.Value.HasExited).Select(kv => kv.Key).ToList();

    internal static SandboxInstance Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        string S(string name) => root.GetProperty(name).GetString() ?? throw new FormatException(name);
        Guid? G(string obj, string name) => root.TryGetProperty(obj, out var o) && o.ValueKind == JsonValueKind.Object ? o.GetProperty(name).GetGuid() : null;
        string? T(string obj, string name) => root.TryGetProperty(obj, out var o) && o.ValueKind == JsonValueKind.Object ? o.GetProperty(name).GetString() : null;
        return new SandboxInstance
        {
            ProcessId = root.GetProperty("processId").GetInt32(),
            BaseUrl = S("baseUrl"),
            DataverseUrl = S("dataverseUrl"),
            BusinessCentralApiUrl = S("businessCentralApiUrl"),
            GraphUrl = S("graphUrl"),
            TokenUrl = S("tokenUrl"),
            TenantId = root.GetProperty("tenantId").GetGuid(),
            EnvironmentName = S("environmentName"),
            CompanyId = root.TryGetProperty("companyId", out var c) && c.ValueKind == JsonValueKind.String ? c.GetGuid() : null,
            SetupAppClientId = G("setupApp", "clientId"),
            SetupAppClientSecret = T("setupApp", "clientSecret"),
            AdminUserName = T("admin", "userName"),
            AdminPassword = T("admin", "password"),
            AuthorityHost = root.TryGetProperty("authorityHost", out var authority) && authority.ValueKind == JsonValueKind.String ? authority.GetString() : null,
            TlsCertificatePath = root.TryGetProperty("tlsCertificatePath", out var tls) && tls.ValueKind == JsonValueKind.String ? tls.GetString() : null,
            ManagedIdentityEndpoint = T("managedIdentity", "endpoint"),
            ManagedIdentityHeader = T("managedIdentity", "header"),
            SetupAppCertificatePath = T("setupApp", "certificatePath"),
            IntegrationAppClientId = G("integrationApp", "clientId"),
            IntegrationAppClientSecret = T("integrationApp", "clientSecret"),
            IntegrationApps = root.TryGetProperty("integrationApps", out var apps) && apps.ValueKind == JsonValueKind.Array
                ? apps.EnumerateArray().Select(app => new SandboxApplication(app.GetProperty("clientId").GetGuid(), app.GetProperty("clientSecret").GetString()!,
                    app.TryGetProperty("certificatePath", out var certificate) && certificate.ValueKind == JsonValueKind.String ? certificate.GetString() : null)).ToList()
                : Array.Empty<SandboxApplication>(),
            StartedAt = DateTimeOffset.Now,
        };
    }

    private static string ResolveSandboxPath(string? given)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return File.Exists(given) ? Path.GetFullPath(given)
                : throw new CrmSyncException("SandboxNotInstalled", CrmSyncErrorKind.ObjectNotFound, $"The sandbox path '{given}' does not exist. Pass the path of CrmSync.Sandbox.dll.", given);
        }

        var candidates = new[]
        {
            Environment.GetEnvironmentVariable(PathVariable),
            // module/Dependencies/CrmSync.Engine.dll → module/Sandbox/CrmSync.Sandbox.dll
            Path.Combine(Path.GetDirectoryName(typeof(SandboxProcess).Assembly.Location) ?? ".", "..", "Sandbox", "CrmSync.Sandbox.dll"),
            Path.Combine(Path.GetDirectoryName(typeof(SandboxProcess).Assembly.Location) ?? ".", "CrmSync.Sandbox.dll"),
        };
        foreach (var candidate in candidates.Where(c => !string.IsNullOrWhiteSpace(c)))
        {
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate!);
            }
        }

        throw new CrmSyncException("SandboxNotInstalled", CrmSyncErrorKind.ObjectNotFound,
            $"CrmSync.Sandbox.dll was not found (looked in: {string.Join("; ", candidates.Where(c => !string.IsNullOrWhiteSpace(c)))}). Run ./build.ps1 -Task Build, or pass -SandboxPath.", given);
    }

    private static string FindDotnet()
    {
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, name)))
        {
            return Path.Combine(root, name);
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new CrmSyncException("DotnetNotFound", CrmSyncErrorKind.ResourceUnavailable,
            "The sandbox needs the dotnet host with the ASP.NET Core 8 (or later) runtime, and dotnet was not found on the PATH or under DOTNET_ROOT. Install .NET and try again.", null);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
