using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace CrmSync.Sandbox.Tests;

public sealed class TokenAndProgramTests
{
    [Fact]
    public async Task The_token_endpoint_issues_client_credentials_tokens_for_the_requested_service()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var app = sbx.Sample.SetupApp;

        var ok = await Token(sbx, ("grant_type", "client_credentials"), ("client_id", app.ClientId.ToString()!), ("client_secret", app.ClientSecret!), ("scope", "https://contoso.crm.dynamics.com/.default"));
        var wrongSecret = await Token(sbx, ("grant_type", "client_credentials"), ("client_id", app.ClientId.ToString()!), ("client_secret", "nope"), ("scope", "https://contoso.crm.dynamics.com/.default"));
        var password = await Token(sbx, ("grant_type", "password"), ("username", sbx.Sample.OrdinaryUser.UserPrincipalName!), ("password", sbx.Sample.OrdinaryUser.Password!), ("scope", "https://graph.microsoft.com/.default"));

        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal("Bearer", ok.Json.GetProperty("token_type").GetString());
        Assert.InRange(ok.Json.GetProperty("expires_in").GetInt32(), 3500, 3600);
        var token = ok.Json.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await sbx.SendAsync(HttpMethod.Get, sbx.Host.DataverseApiUrl + "WhoAmI", null, null, ("Authorization", "Bearer " + token))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sbx.SendAsync(HttpMethod.Get, sbx.Host.GraphUrl + "/users", null, null, ("Authorization", "Bearer " + token))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.Status);
        Assert.Equal("invalid_client", wrongSecret.Json.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, password.Status);
    }

    [Fact]
    public async Task Expired_tokens_are_rejected()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var token = sbx.Host.Identities.IssueToken(sbx.Sample.SetupApp, lifetime: TimeSpan.FromMilliseconds(1)).AccessToken;
        await Task.Delay(20);

        var reply = await sbx.SendAsync(HttpMethod.Get, sbx.Host.GraphUrl + "/users", null, null, ("Authorization", "Bearer " + token));

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Contains("expired", reply.ErrorMessage);
    }

    private static async Task<Reply> Token(SandboxClient sbx, params (string Key, string Value)[] form)
    {
        using var content = new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
        return await sbx.SendAsync(HttpMethod.Post, sbx.Host.TokenUrl, content, null);
    }

    [Fact]
    public void Options_are_parsed_and_bad_ones_explained()
    {
        var parsed = SandboxCommandLine.Parse(new[] { "--port", "0", "--profile", "realistic", "--customers", "10", "--user-sync-delay", "0", "--fault-rate", "0.05", "--own-process-group" });

        Assert.Empty(parsed.Errors);
        Assert.False(parsed.Help);
        Assert.True(parsed.OwnProcessGroup);
        Assert.Equal(6000, parsed.Options.Limits.Dataverse.RequestsPerWindow);
        Assert.Equal(10, parsed.Options.ExtraCustomers);
        Assert.Equal(TimeSpan.Zero, parsed.Options.DataverseUserSyncDelay);
        Assert.True(parsed.Options.DataverseFaults.SlowResponseRate > 0);

        // Each refusal names the option and the value.
        Assert.Equal("--profile must be realistic or unlimited, not 'fast'.", Assert.Single(SandboxCommandLine.Parse(new[] { "--profile", "fast" }).Errors));
        Assert.Equal("--integration-apps needs 1 to 16 applications, not '17'.", Assert.Single(SandboxCommandLine.Parse(new[] { "--integration-apps", "17" }).Errors));
        Assert.Equal("--fault-rate needs a share of requests from 0 to 0.5 (0.05 = 5 %), not '0.9'.", Assert.Single(SandboxCommandLine.Parse(new[] { "--fault-rate", "0.9" }).Errors));
        Assert.Equal("--customers needs a non-negative whole number, not '-3'.", Assert.Single(SandboxCommandLine.Parse(new[] { "--customers", "-3" }).Errors));
        Assert.Contains("--frob", Assert.Single(SandboxCommandLine.Parse(new[] { "--frob" }).Errors));
        Assert.Contains("--port", string.Join(' ', SandboxCommandLine.Parse(new[] { "--port", "x" }).Errors));
        Assert.Contains("cannot be combined with --no-seed", Assert.Single(SandboxCommandLine.Parse(new[] { "--no-seed", "--customers", "5" }).Errors));
        Assert.True(SandboxCommandLine.Parse(new[] { "--help" }).Help);
        Assert.True(SandboxCommandLine.Parse(new[] { "-h" }).Help);
    }

    [Fact]
    public async Task The_program_shows_its_help_and_refuses_a_bad_option_with_exit_code_2()
    {
        var help = await RunProgramAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--fault-rate <share>", help.Output);
        Assert.Contains("prints one JSON line", help.Output);

        var bad = await RunProgramAsync("--profile", "fast");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--profile must be realistic or unlimited, not 'fast'.", bad.Errors);
        Assert.Contains("Run with --help", bad.Errors);
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunProgramAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await output, await errors);
    }

    [Fact]
    public async Task The_standalone_program_announces_its_urls_serves_and_stops_when_its_input_closes()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "CrmSync.Sandbox.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--user-sync-delay");
        start.ArgumentList.Add("0");
        using var process = Process.Start(start)!;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var info = JsonDocument.Parse(line!).RootElement;
            Assert.Equal(process.Id, info.GetProperty("processId").GetInt32());
            using var http = new HttpClient();
            var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = info.GetProperty("setupApp").GetProperty("clientId").GetString()!,
                ["client_secret"] = info.GetProperty("setupApp").GetProperty("clientSecret").GetString()!,
                ["scope"] = "https://api.businesscentral.dynamics.com/.default",
            });
            var token = JsonDocument.Parse(await (await http.PostAsync(info.GetProperty("tokenUrl").GetString(), form)).Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();
            using var request = new HttpRequestMessage(HttpMethod.Get, info.GetProperty("businessCentralApiUrl").GetString() + "companies");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);

            process.StandardInput.Close();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
