using CrmSync.Sandbox.Limits;

namespace CrmSync.Sandbox.Hosting;

/// <summary>How a sandbox starts.</summary>
public sealed record SandboxOptions
{
    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }

    public SandboxLimits Limits { get; init; } = SandboxLimits.Unlimited;

    public FaultOptions DataverseFaults { get; init; } = FaultOptions.None;

    public FaultOptions BusinessCentralFaults { get; init; } = FaultOptions.None;

    public FaultOptions GraphFaults { get; init; } = FaultOptions.None;

    /// <summary>The same random faults on all three services (each with its own sequence).</summary>
    public SandboxOptions WithFaults(FaultOptions faults) => this with
    {
        DataverseFaults = faults,
        BusinessCentralFaults = faults with { Seed = faults.Seed + 1 },
        GraphFaults = faults with { Seed = faults.Seed + 2 },
    };

    /// <summary>Load the sample tenant, organization and company (Seed/SampleData).</summary>
    public bool SeedSample { get; init; } = true;

    /// <summary>Extra generated BC customers (benchmarks: 100,000+), modified one every 30 seconds up to now.</summary>
    public int ExtraCustomers { get; init; }

    /// <summary>Extra generated Dataverse accounts, modified one every 30 seconds up to now.</summary>
    public int ExtraAccounts { get; init; }

    /// <summary>Extra BC salespeople (e-mails sales00001@contoso.com …) and as many more Dynamics 365 licenses: a sales team to import.</summary>
    public int ExtraSalespeople { get; init; }

    /// <summary>
    /// Application registrations meant for integration users ("Business Central Integration", "… 2", …): a pool of
    /// application users spreads the load, each with its own service-protection limits. At least 1, at most 16.
    /// </summary>
    public int IntegrationApps { get; init; } = 4;

    /// <summary>How long after a Dynamics 365 license is assigned the user appears in Dataverse.</summary>
    public TimeSpan DataverseUserSyncDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Serve HTTPS with a tenant-shaped sign-in (an Entra-style authority at the host root, managed identity, device code),
    /// so Connect-CrmSync runs the production sign-in code against the sandbox. The TLS certificate and the sample
    /// applications' certificates live in <see cref="CertificateFolder"/>.
    /// </summary>
    public bool Https { get; init; }

    /// <summary>Where the HTTPS sandbox keeps its TLS certificate (reused while valid: trusted once) and the applications' certificates.</summary>
    public string CertificateFolder { get; init; } = Path.Combine(Path.GetTempPath(), "crmsync-sandbox-certificates");

    /// <summary>Environment name in BC URLs.</summary>
    public string EnvironmentName { get; init; } = "sandbox";
}
