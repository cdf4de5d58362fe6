using System.Runtime.InteropServices;

namespace CrmSync.Sandbox;

/// <summary>The sandbox as a standalone program (also what Start-CrmSyncSandbox runs as a child process).</summary>
public static class Program
{
    [DllImport("libc", EntryPoint = "setpgid", SetLastError = true)]
    private static extern int SetProcessGroup(int processId, int processGroupId);

    public static async Task<int> Main(string[] args)
    {
        var parsed = SandboxCommandLine.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                Console.Error.WriteLine(error);
            }

            Console.Error.WriteLine("Run with --help for the options.");
            return 2;
        }

        if (parsed.Help)
        {
            return parsed.ShowHelp();
        }

        var options = parsed.Options;
        var ownProcessGroup = parsed.OwnProcessGroup;
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
}

/// <summary>Disposes several registrations together.</summary>
internal sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
{
    private readonly List<IDisposable> _items = items.ToList();

    public void Dispose() => _items.ForEach(item => item.Dispose());
}
