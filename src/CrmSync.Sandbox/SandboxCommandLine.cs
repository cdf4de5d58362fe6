using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using CrmSync.Sandbox.Limits;

namespace CrmSync.Sandbox;

/// <summary>
/// The sandbox program's command line (System.CommandLine): the options, their validation with messages that name the
/// option and the value, and the help. What Start-CrmSyncSandbox passes is the same command line.
/// </summary>
public sealed class SandboxCommandLine
{
    private static readonly Option<int> Port = Count("--port", "Port on 127.0.0.1 (default 0: a free port).");

    private static readonly Option<string> Profile = new("--profile")
    {
        Description = "realistic (documented service-protection limits and latency) or unlimited (default).",
        HelpName = "name",
        Validators = { result => Require<string>(result, value => value?.ToLowerInvariant() is "realistic" or "unlimited", "must be realistic or unlimited") },
    };

    private static readonly Option<bool> NoSeed = new("--no-seed") { Description = "Start empty instead of with the sample tenant, organization and company." };

    private static readonly Option<int> Customers = Count("--customers", "Add n generated BC customers (benchmarks).");

    private static readonly Option<int> Accounts = Count("--accounts", "Add n generated Dataverse accounts (benchmarks).");

    private static readonly Option<int> Salespeople = Count("--salespeople",
        "Add n BC salespeople (sales00001@contoso.com …) and n more Dynamics 365 licenses: a sales team to import (benchmarks).");

    private static readonly Option<int?> RecordLatency = OptionalCount("--record-latency", "ms",
        "Server time per record read or written, Dataverse and Business Central, in ms (realistic: 1): slower services, whose limits bind before this machine does.");

    private static readonly Option<int?> IntegrationApps = new("--integration-apps")
    {
        Description = "Integration applications to seed (1 to 16, default 4), each with its own service-protection limits: a pool of application users to spread load over.",
        HelpName = "n",
        Validators = { result => Require<int?>(result, value => value is null or (>= 1 and <= 16), "needs 1 to 16 applications") },
    };

    private static readonly Option<int?> UserSyncDelay = OptionalCount("--user-sync-delay", "s", "Seconds before a licensed Entra user appears in Dataverse (default 2).");

    private static readonly Option<double> FaultRate = new("--fault-rate")
    {
        Description = "Fail this share of requests at random (0 to 0.5; 0.05 = 5 %), spread over 5xx, 429 with and without Retry-After, connection resets before and after the service commits, and slow responses: rehearse unreliable services.",
        HelpName = "share",
        Validators = { result => Require<double>(result, value => value is >= 0 and <= 0.5, "needs a share of requests from 0 to 0.5 (0.05 = 5 %)") },
    };

    private static readonly Option<int> FaultSeed = new("--fault-seed")
    {
        Description = "Seed of the random faults: the same seed, the same faults.",
        HelpName = "n",
        DefaultValueFactory = _ => FaultOptions.None.Seed,
    };

    private static readonly Option<int?> SlowResponse = OptionalCount("--slow-response", "s", "How long a slow response takes, in seconds (default 5).");

    private static readonly Option<bool> Https = new("--https")
    {
        Description = "Serve HTTPS with a tenant-shaped sign-in: an Entra-style authority at the root (/{tenant}/oauth2/v2.0/token and devicecode, for -AuthorityHost), a managed identity endpoint (/msi/token) and a certificate for each sample application, so the production sign-in (Azure.Identity, MSAL) runs against the sandbox.",
    };

    private static readonly Option<string?> CertificateFolder = new("--certificate-folder")
    {
        Description = "Where --https keeps its TLS certificate (sandbox-https.pfx, and .crt to trust; reused while valid) and the applications' certificates (default: a folder under the temporary directory).",
        HelpName = "dir",
    };

    private static readonly Option<bool> OwnProcessGroupOption = new("--own-process-group")
    {
        Description = "Leave the console's process group first (Linux, macOS): Ctrl+C in the console that started it stops that console's command, never the sandbox. What Start-CrmSyncSandbox passes; the sandbox still stops when its standard input closes.",
    };

    private readonly ParseResult _result;

    private SandboxCommandLine(ParseResult result, SandboxOptions options, IReadOnlyList<string> errors)
    {
        _result = result;
        Options = options;
        Errors = errors;
    }

    /// <summary>The sandbox to start (default options when the command line has errors).</summary>
    public SandboxOptions Options { get; }

    /// <summary>What is wrong with the command line, each naming the option and the value; empty when nothing is.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>--help (-h, -?) was given.</summary>
    public bool Help => _result.Action is HelpAction;

    public bool OwnProcessGroup => _result.GetValue(OwnProcessGroupOption);

    /// <summary>Writes the help to standard output; returns the exit code.</summary>
    public int ShowHelp() => _result.Invoke();

    public static SandboxCommandLine Parse(string[] args)
    {
        var result = Command().Parse(args);
        var errors = result.Errors.Select(e => e.Message).ToList();
        if (errors.Count > 0 || result.Action is HelpAction)
        {
            return new SandboxCommandLine(result, new SandboxOptions(), errors);
        }

        var options = new SandboxOptions
        {
            Port = result.GetValue(Port),
            SeedSample = !result.GetValue(NoSeed),
            ExtraCustomers = result.GetValue(Customers),
            ExtraAccounts = result.GetValue(Accounts),
            ExtraSalespeople = result.GetValue(Salespeople),
            Https = result.GetValue(Https),
        };
        options = result.GetValue(Profile)?.ToLowerInvariant() switch
        {
            "realistic" => options with { Limits = SandboxLimits.Realistic },
            "unlimited" => options with { Limits = SandboxLimits.Unlimited },
            _ => options,
        };

        if (result.GetValue(IntegrationApps) is { } apps)
        {
            options = options with { IntegrationApps = apps };
        }

        if (result.GetValue(UserSyncDelay) is { } delay)
        {
            options = options with { DataverseUserSyncDelay = TimeSpan.FromSeconds(delay) };
        }

        if (result.GetValue(CertificateFolder) is { } folder)
        {
            options = options with { CertificateFolder = Path.GetFullPath(folder) };
        }

        if (result.GetValue(RecordLatency) is { } perRecord)
        {
            options = options with { Limits = options.Limits.WithRecordLatency(TimeSpan.FromMilliseconds(perRecord)) };
        }

        if (result.GetValue(FaultRate) is > 0 and var rate)
        {
            var slow = result.GetValue(SlowResponse) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            options = options.WithFaults(FaultOptions.AtRate(rate, result.GetValue(FaultSeed), slow));
        }

        if (!options.SeedSample && (options.ExtraCustomers > 0 || options.ExtraAccounts > 0 || options.ExtraSalespeople > 0 || result.GetResult(IntegrationApps) is not null))
        {
            errors.Add("--customers, --accounts, --salespeople and --integration-apps add to the sample data: they cannot be combined with --no-seed.");
        }

        return new SandboxCommandLine(result, options, errors);
    }

    private static RootCommand Command()
    {
        var command = new RootCommand("""
            CrmSync.Sandbox: local emulators of the Dataverse Web API, Business Central API v2.0 and Microsoft Graph.

            When ready it prints one JSON line on standard output with the process id, the service URLs, the tenant and
            company ids and the sample identities' sign-in values, then serves until it is stopped (Ctrl+C, SIGTERM) or
            its standard input is closed.
            """);
        foreach (var option in new Option[]
                 {
                     Port, Profile, NoSeed, Customers, Accounts, Salespeople, RecordLatency, IntegrationApps, UserSyncDelay, FaultRate, FaultSeed,
                     SlowResponse, Https, CertificateFolder, OwnProcessGroupOption,
                 })
        {
            command.Options.Add(option);
        }

        return command;
    }

    // A whole number of at least 0 that the sandbox has its own default for when it is not given.
    private static Option<int?> OptionalCount(string name, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Validators = { result => Require<int?>(result, value => value is null or >= 0, "needs a non-negative whole number") },
    };

    private static Option<int> Count(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "n",
        Validators = { result => Require<int>(result, value => value >= 0, "needs a non-negative whole number") },
    };

    // A message that names the option and the value given, as every refusal of the sandbox does. A value that is not
    // even of the option's type was already refused by the parser, with its own message.
    private static void Require<T>(OptionResult result, Func<T, bool> valid, string requirement)
    {
        T value;
        try
        {
            value = result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return;
        }

        if (!valid(value))
        {
            var given = string.Join(' ', result.Tokens.Select(t => t.Value));
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{result.Option.Name} {requirement}, not '{given}'."));
        }
    }
}
