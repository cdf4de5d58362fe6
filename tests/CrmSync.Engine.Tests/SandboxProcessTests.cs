using System.Diagnostics;
using CrmSync.SandboxControl;

namespace CrmSync.Engine.Tests;

// The engine side of Start-CrmSyncSandbox / Stop-CrmSyncSandbox.
public sealed class SandboxProcessTests
{
    [Fact]
    public async Task Starts_the_sandbox_as_a_child_process_and_stops_it()
    {
        var instance = await SandboxProcess.StartAsync(new SandboxStartOptions
        {
            SandboxPath = Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll"),
            Profile = "unlimited",
        });

        try
        {
            Assert.Contains(instance.ProcessId, SandboxProcess.Running);
            Assert.StartsWith("http://127.0.0.1:", instance.DataverseUrl);
            Assert.EndsWith("/api/v2.0/", instance.BusinessCentralApiUrl);
            Assert.NotNull(instance.CompanyId);
            Assert.Equal("sandbox-setup-secret", instance.SetupAppClientSecret);
            using var http = new HttpClient();
            var reply = await http.GetAsync(instance.BaseUrl + "v1.0/users");
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, reply.StatusCode);
        }
        finally
        {
            Assert.True(await SandboxProcess.StopAsync(instance.ProcessId));
        }

        Assert.DoesNotContain(instance.ProcessId, SandboxProcess.Running);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(instance.ProcessId));
        Assert.Equal("SandboxNotFound", (await Assert.ThrowsAsync<CrmSyncException>(() => SandboxProcess.StopAsync(instance.ProcessId))).ErrorId);
    }

    // A service manager, docker stop or kill sends SIGTERM: the program stops at once, not after a 10 s grace period.
    [UnixFact]
    public async Task SIGTERM_stops_the_sandbox_program_at_once()
    {
        var instance = await SandboxProcess.StartAsync(new SandboxStartOptions { SandboxPath = Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll"), Profile = "unlimited" });
        using var process = Process.GetProcessById(instance.ProcessId);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Kill(instance.ProcessId, 15));
        var exited = await Task.Run(() => process.WaitForExit(TimeSpan.FromSeconds(8)));
        if (!exited)
        {
            await SandboxProcess.StopAsync(instance.ProcessId);
        }

        Assert.True(exited, $"still running {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task A_missing_sandbox_or_bad_options_are_clear_errors()
    {
        var missing = await Assert.ThrowsAsync<CrmSyncException>(() => SandboxProcess.StartAsync(new SandboxStartOptions { SandboxPath = "/nowhere/CrmSync.Sandbox.dll" }));
        var badProfile = await Assert.ThrowsAsync<CrmSyncException>(() => SandboxProcess.StartAsync(new SandboxStartOptions
        {
            SandboxPath = Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll"),
            Profile = "warp-speed",
        }));

        Assert.Equal("SandboxNotInstalled", missing.ErrorId);
        Assert.Equal("SandboxStartFailed", badProfile.ErrorId);
        Assert.Contains("realistic or unlimited", badProfile.Message);
    }
}
