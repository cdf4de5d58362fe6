using System.Management.Automation;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.SandboxControl;

namespace CrmSync.PowerShell.Cmdlets.Sandbox;

/// <summary>Starts the local sandbox (Dataverse, BC API v2.0 and Graph emulators) as a child process.</summary>
[Cmdlet(VerbsLifecycle.Start, "CrmSyncSandbox", SupportsShouldProcess = true)]
[OutputType(typeof(SandboxInstance))]
public sealed class StartCrmSyncSandboxCommand : CrmSyncCmdlet
{
    /// <summary>Port on 127.0.0.1; 0 (default) picks a free one.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int Port { get; set; }

    /// <summary>Realistic: the documented service-protection limits and some latency. Unlimited: neither.</summary>
    [Parameter]
    [ValidateSet("Realistic", "Unlimited", IgnoreCase = true)]
    public string Profile { get; set; } = "Realistic";

    /// <summary>Start empty instead of with the sample tenant, organization and company.</summary>
    [Parameter]
    public SwitchParameter NoSampleData { get; set; }

    /// <summary>Generated BC customers to add to the sample data.</summary>
    [Parameter]
    [ValidateRange(0, 10_000_000)]
    public int Customers { get; set; }

    /// <summary>Generated Dataverse accounts to add to the sample data.</summary>
    [Parameter]
    [ValidateRange(0, 10_000_000)]
    public int Accounts { get; set; }

    /// <summary>
    /// Integration applications the sample tenant has (1 to 16, default 4), each with its own service-protection limits:
    /// connect with several (Connect-CrmSync -IntegrationIdentityCount) to spread synchronization over them.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 16)]
    public int IntegrationApps { get; set; } = 4;

    /// <summary>
    /// Share of requests (0 to 0.5; 0.05 = 5 %) that fail at random on all three services: 5xx, 429 with and without
    /// Retry-After, connection resets before and after the service commits, slow responses. Rehearses unreliable services.
    /// </summary>
    [Parameter]
    [ValidateRange(0.0, 0.5)]
    public double FaultRate { get; set; }

    /// <summary>Seed of the random faults: the same seed gives the same faults in the same order of requests.</summary>
    [Parameter]
    public int? FaultSeed { get; set; }

    /// <summary>
    /// Serve HTTPS with a tenant-shaped sign-in (Entra-style authority, managed identity endpoint, device code,
    /// certificates for the sample applications), to rehearse Connect-CrmSync's production sign-in against the sandbox.
    /// </summary>
    [Parameter]
    public SwitchParameter Https { get; set; }

    /// <summary>Where -Https keeps the TLS certificate (trusted once, reused while valid) and the applications' certificates; default: sandbox-certificates in the state directory.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificateFolder { get; set; }

    /// <summary>Path of CrmSync.Sandbox.dll; default: the module's Sandbox folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SandboxPath { get; set; }

    /// <summary>Seconds to wait until the sandbox answers.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSeconds { get; set; } = 60;

    protected override void EndProcessing()
    {
        if (NoSampleData && (Customers > 0 || Accounts > 0 || MyInvocation.BoundParameters.ContainsKey(nameof(IntegrationApps))))
        {
            ThrowEngineError(new CrmSyncException("SandboxOptionsConflict", CrmSyncErrorKind.InvalidArgument,
                "-Customers, -Accounts and -IntegrationApps add to the sample data, so they cannot be combined with -NoSampleData."));
        }

        var where = Port == 0 ? "127.0.0.1 (a free port)" : $"127.0.0.1:{Port}";
        var faults = FaultRate > 0 ? $", {FaultRate:P1} of requests failing at random" : string.Empty;
        if (!ShouldProcess(where, $"Start the CrmSync sandbox ({Profile} limits{(NoSampleData ? ", no sample data" : string.Empty)}{faults}{(Https ? ", HTTPS with a tenant-shaped sign-in" : string.Empty)})"))
        {
            return;
        }

        var progress = new ProgressRecord(1, "Starting the CrmSync sandbox", "Waiting for it to answer") { PercentComplete = -1 };
        WriteProgress(progress);
        try
        {
            var instance = SandboxProcess.StartAsync(new SandboxStartOptions
            {
                SandboxPath = SandboxPath is null ? null : GetUnresolvedProviderPathFromPSPath(SandboxPath),
                Port = Port,
                Profile = Profile.ToLowerInvariant(),
                SeedSample = !NoSampleData,
                ExtraCustomers = Customers,
                ExtraAccounts = Accounts,
                IntegrationApps = NoSampleData ? null : IntegrationApps,
                StartTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
                FaultRate = FaultRate,
                FaultSeed = FaultSeed,
                Https = Https,
                CertificateFolder = CertificateFolder is null ? null : GetUnresolvedProviderPathFromPSPath(CertificateFolder),
            }).GetAwaiter().GetResult();
            WriteVerbose($"Sandbox process {instance.ProcessId}: Dataverse {instance.DataverseUrl}, Business Central {instance.BusinessCentralApiUrl}, Graph {instance.GraphUrl}.");
            WriteObject(instance);
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex);
        }
        finally
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }
    }
}
