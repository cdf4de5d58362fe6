using System.Diagnostics;
using CrmSync.Mapping;
using CrmSync.Sandbox.Hosting;
using CrmSync.State;

namespace CrmSync.Engine.Tests.Reliability;

/// <summary>
/// Where a kill test kills a run: at a request the run is certain to send, held in the sandbox (<see cref="RequestHold"/>)
/// until the process is dead. So every kill lands mid-run by construction, whatever the machine's speed or load — no
/// sleeps, no polling of counters — and the test can assert exactly the planned number of kills.
/// </summary>
internal static class KillPoint
{
    public const string Dataverse = "Dataverse";
    public const string BusinessCentral = "BusinessCentral";
    public const string Graph = "Graph";

    /// <summary>
    /// The k-th write (any request but a GET) to one of <paramref name="services"/>, k at random in 1…min(8,
    /// <paramref name="certainWrites"/>); one time in four, or when no write is certain, the k-th read (GET) of any service,
    /// k in 1…3 (connecting and the first pages: every run reads at least that much).
    /// </summary>
    public static RequestHold Arm(SandboxHost host, Random random, int certainWrites, params string[] services)
    {
        if (certainWrites > 0 && random.Next(4) != 0)
        {
            return host.Hold((service, method, _) => method != "GET" && services.Contains(service), random.Next(1, Math.Min(8, certainWrites) + 1));
        }

        return host.Hold((_, method, _) => method == "GET", random.Next(1, 4));
    }

    /// <summary>The k-th request of any kind to <paramref name="service"/>, k in <paramref name="from"/>…<paramref name="to"/> (the caller knows a run sends more).</summary>
    public static RequestHold ArmAny(SandboxHost host, Random random, string service, int from, int to) =>
        host.Hold((s, _, _) => s == service, random.Next(from, to + 1));

    /// <summary>
    /// Waits until <paramref name="hold"/> is reached (failing, with what the processes printed, if they all ended first:
    /// the hold was armed on a request they did not send), then kills those still running (<see cref="KillAndReleaseAsync"/>).
    /// </summary>
    public static async Task KillWhenReachedAsync(RequestHold hold, IReadOnlyList<Process> processes, Random random)
    {
        var allExited = Task.WhenAll(processes.Select(p => p.WaitForExitAsync()));
        var first = await Task.WhenAny(hold.Reached, allExited).WaitAsync(TimeSpan.FromMinutes(5));
        if (first != hold.Reached)
        {
            var printed = string.Join("\n", processes.Select(p => p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd()));
            Assert.Fail($"The run ended before the request the kill was planned at (matching request number {hold.Seen + 1}; {hold.Seen} were sent): {printed}");
        }

        await KillAndReleaseAsync(hold, processes.Where(p => !p.HasExited).ToList(), random);
    }

    /// <summary>
    /// Kills <paramref name="victims"/> (kill -9 of each whole tree) while <paramref name="hold"/> keeps its requests
    /// waiting, then releases them — each handled (a write that landed without an answer) or dropped, at random.
    /// </summary>
    public static async Task KillAndReleaseAsync(RequestHold hold, IReadOnlyList<Process> victims, Random random)
    {
        foreach (var victim in victims)
        {
            victim.Kill(entireProcessTree: true);
        }

        foreach (var victim in victims)
        {
            await victim.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }

        await hold.ReleaseAsync(handle: random.Next(2) == 0);
    }

    /// <summary>
    /// Write requests a full synchronization of CUSTOMER still certainly sends: each in-scope record not yet coupled is
    /// written (a Dataverse $batch holds at most 1,000, a BC $batch 100), except BC creates announced before a kill, which
    /// the next run may find already made and only couple.
    /// </summary>
    public static int CertainFullSyncWrites(SandboxHost host, StateStore? store, string writtenService)
    {
        var coupled = store?.Couplings.GetAll(StandardMappings.Customer) ?? [];
        if (writtenService == Dataverse)
        {
            var coupledBc = coupled.Select(c => c.BcId).ToHashSet();
            var remaining = CustomerConvergence.Rows(host, BusinessCentral, "customers").Count(c => (string?)c["blocked"] == "_x0020_" && !coupledBc.Contains((Guid)c["id"]!));
            return (remaining + 999) / 1000;
        }

        var coupledDv = coupled.Select(c => c.DataverseId).ToHashSet();
        var uncoupled = CustomerConvergence.Rows(host, Dataverse, "accounts")
            .Count(a => Equals(a["statecode"], 0L) && Equals(a["customertypecode"], 3L) && !coupledDv.Contains((Guid)a["accountid"]!));
        var remainingCreates = Math.Max(0, uncoupled - (store?.PendingWrites.GetAll().Count ?? 0));
        return (remainingCreates + 99) / 100;
    }
}
