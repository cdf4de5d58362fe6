using System.Globalization;
using System.Runtime.InteropServices;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Sandbox;

/// <summary>The sandbox as a standalone program (also what Start-CrmSyncSandbox runs as a child process).</summary>
public static class Program
{
    private const string Usage = """
        CrmSync.Sandbox — local emulators of the Dataverse Web API, Business Central API v2.0 and Microsoft Graph.

        Usage: CrmSync.Sandbox [options]

          --port <n>               Port on 127.0.0.1 (default 0: a free port).
          --profile <name>         realistic (documented service-protection limits and latency) or unlimited (default).
          --no-seed                Start empty instead of with the sample tenant, organization and company.
          --customers <n>          Add n generated BC customers (benchmarks).
          --accounts <n>           Add n generated Dataverse accounts (benchmarks).
          --salespeople <n>        Add n BC salespeople (sales00001@contoso.com …) and n more
                                   Dynamics 365 licenses: a sales team to import (benchmarks).
          --record-latency <ms>    Server time per record read or written, Dataverse and Business Central
                                   (realistic: 1): slower services, whose limits bind before this machine does.
          --integration-apps <n>   Integration applications to seed (1 to 16, default 4), each with its own
                                   service-protection limits: a pool of application users to spread load over.
          --user-sync-delay <s>    Seconds before a licensed Entra user appears in Dataverse (default 2).
          --fault-rate <share>     Fail this share of requests at random (0 to 0.5; 0.05 = 5 %), spread over
                                   5xx, 429 with and without Retry-After, connection resets before and after
                                   the service commits, and slow responses: rehearse unreliable services.
          --fault-seed <n>         Seed of the random faults (default 12345): the same seed, the same faults.
          --slow-response <s>      How long a slow response takes (default 5).
          --https                  Serve HTTPS with a tenant-shaped sign-in: an Entra-style authority at the root
                                   (/{tenant}/oauth2/v2.0/token and devicecode, for -AuthorityHost), a managed
                                   identity endpoint (/msi/token) and a certificate for each sample application,
                                   so the production sign-in (Azure.Identity, MSAL) runs against the sandbox.
          --certificate-folder <dir>
                                   Where --https keeps its TLS certificate (sandbox-https.pfx, and .crt to trust;
                                   reused while valid) and the applications' certificates (default: a folder
                                   under the temporary directory).
          --own-process-group      Leave the console's process group first (Linux, macOS): Ctrl+C in the console
                                   that started it stops that console's command, never the sandbox. What
                                   Start-CrmSyncSandbox passes; the sandbox still stops when its standard input
                                   closes.
          --help                   Show this help.

        When ready it prints one JSON line on standard output with the process id, the service URLs, the
        tenant and company ids and the sample identities' sign-in values, then serves until it is stopped
        (Ctrl+C, SIGTERM) or its standard input is closed.
        """;

    [DllImport("libc", EntryPoint = "setpgid", SetLastError = true)]
    private static extern int SetProcessGroup(int processId, int processGroupId);

    public static async Task<int> Main(string[] args)
    {
        SandboxOptions options;
        bool ownProcessGroup;
        try
        {
            ownProcessGroup = args.Contains("--own-process-group");
            options = Parse(args.Where(a => a != "--own-process-group").ToArray(), out var help);
            if (help)
            {
                Console.WriteLine(Usage);
                return 0;
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine("Run with --help for the options.");
            return 2;
        }

        if (ownProcessGroup && !OperatingSystem.IsWindows())
        {
            // A process group of its own: the terminal sends SIGINT to its foreground group only.
            _ = SetProcessGroup(0, 0);
        }

        await using var host = await SandboxHost.StartAsync(options).ConfigureAwait(false);
        Console.WriteLine(JsonSerializer.Serialize(Describe(host)));
        Console.Out.Flush();

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Ctrl+C, SIGTERM (a service manager, docker stop, kill) and SIGQUIT stop it at once and cleanly. The web host
        // registers for these signals too and cancels the default exit, so waiting for ProcessExit would wait forever.
        using var signals = new CompositeDisposable(new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.TrySetResult();
            })));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
        // A parent that goes away closes our standard input: stop with it. Read in fixed blocks, never lines, so input
        // without line breaks cannot grow memory.
        _ = Task.Run(async () =>
        {
            try
            {
                await using var input = Console.OpenStandardInput();
                var buffer = new byte[4096];
                while (await input.ReadAsync(buffer).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (IOException)
            {
            }

            if (Console.IsInputRedirected)
            {
                stop.TrySetResult();
            }
        });

        await stop.Task.ConfigureAwait(false);
        return 0;
    }

    public static object Describe(SandboxHost host) => new
    {
        processId = host.ProcessId,
        baseUrl = host.BaseUrl,
        dataverseUrl = host.DataverseUrl,
        businessCentralApiUrl = host.BusinessCentralApiUrl,
        graphUrl = host.GraphUrl,
        tokenUrl = host.TokenUrl,
        tenantId = host.TenantId,
        environmentName = host.Options.EnvironmentName,
        companyId = host.Sample?.CompanyId,
        authorityHost = host.AuthorityHost,
        tlsCertificatePath = host.TlsCertificatePath,
        managedIdentity = host.ManagedIdentityEndpoint is { } endpoint ? new { endpoint, header = host.ManagedIdentityHeader } : null,
        setupApp = host.Sample is { } s ? new { clientId = s.SetupApp.ClientId, clientSecret = s.SetupApp.ClientSecret, certificatePath = s.SetupApp.CertificatePath } : null,
        integrationApp = host.Sample is { } i ? new { clientId = i.IntegrationApp.ClientId, clientSecret = i.IntegrationApp.ClientSecret, certificatePath = i.IntegrationApp.CertificatePath } : null,
        integrationApps = host.Sample?.IntegrationApps.Select(app => new { clientId = app.ClientId, clientSecret = app.ClientSecret, certificatePath = app.CertificatePath }).ToList(),
        admin = host.Sample is { } a ? new { userName = a.Admin.UserPrincipalName, password = a.Admin.Password } : null,
        ordinaryUser = host.Sample is { } o ? new { userName = o.OrdinaryUser.UserPrincipalName, password = o.OrdinaryUser.Password } : null,
    };

    public static SandboxOptions Parse(string[] args, out bool help)
    {
        help = false;
        var options = new SandboxOptions();
        var faultRate = 0.0;
        var faultSeed = FaultOptions.None.Seed;
        TimeSpan? slowResponse = null;
        var appsGiven = false;
        TimeSpan? recordLatency = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Number()
            {
                var name = args[i];
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{name} needs a non-negative whole number, not '{text}'.");
            }

            switch (args[i])
            {
                case "--help" or "-h" or "-?":
                    help = true;
                    break;
                case "--port":
                    options = options with { Port = Number() };
                    break;
                case "--profile":
                    var profile = Value();
                    options = options with
                    {
                        Limits = profile.ToLowerInvariant() switch
                        {
                            "realistic" => SandboxLimits.Realistic,
                            "unlimited" => SandboxLimits.Unlimited,
                            _ => throw new ArgumentException($"--profile must be realistic or unlimited, not '{profile}'."),
                        },
                    };
                    break;
                case "--no-seed":
                    options = options with { SeedSample = false };
                    break;
                case "--customers":
                    options = options with { ExtraCustomers = Number() };
                    break;
                case "--accounts":
                    options = options with { ExtraAccounts = Number() };
                    break;
                case "--salespeople":
                    options = options with { ExtraSalespeople = Number() };
                    break;
                case "--record-latency":
                    recordLatency = TimeSpan.FromMilliseconds(Number());
                    break;
                case "--integration-apps":
                    var apps = Number();
                    options = apps is >= 1 and <= 16 ? options with { IntegrationApps = apps } : throw new ArgumentException($"--integration-apps needs 1 to 16 applications, not {apps}.");
                    appsGiven = true;
                    break;
                case "--user-sync-delay":
                    options = options with { DataverseUserSyncDelay = TimeSpan.FromSeconds(Number()) };
                    break;
                case "--fault-rate":
                    var rateText = Value();
                    faultRate = double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 0.5
                        ? rate
                        : throw new ArgumentException($"--fault-rate needs a share of requests from 0 to 0.5 (0.05 = 5 %), not '{rateText}'.");
                    break;
                case "--fault-seed":
                    faultSeed = Number();
                    break;
                case "--https":
                    options = options with { Https = true };
                    break;
                case "--certificate-folder":
                    options = options with { CertificateFolder = Path.GetFullPath(Value()) };
                    break;
                case "--slow-response":
                    slowResponse = TimeSpan.FromSeconds(Number());
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        if (recordLatency is { } perRecord)
        {
            options = options with { Limits = options.Limits.WithRecordLatency(perRecord) };
        }

        if (faultRate > 0)
        {
            options = options.WithFaults(FaultOptions.AtRate(faultRate, faultSeed, slowResponse));
        }

        if (!options.SeedSample && (options.ExtraCustomers > 0 || options.ExtraAccounts > 0 || options.ExtraSalespeople > 0 || appsGiven))
        {
            throw new ArgumentException("--customers, --accounts, --salespeople and --integration-apps add to the sample data: they cannot be combined with --no-seed.");
        }

        return options;
    }
}

/// <summary>Disposes several registrations together.</summary>
internal sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
{
    private readonly List<IDisposable> _items = items.ToList();

    public void Dispose() => _items.ForEach(item => item.Dispose());
}
