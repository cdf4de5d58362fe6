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
        var options = Program.Parse(new[] { "--port", "0", "--profile", "realistic", "--customers", "10", "--user-sync-delay", "0" }, out var help);

        Assert.False(help);
        Assert.Equal(6000, options.Limits.Dataverse.RequestsPerWindow);
        Assert.Equal(10, options.ExtraCustomers);
        Assert.Equal(TimeSpan.Zero, options.DataverseUserSyncDelay);
        Assert.Contains("realistic or unlimited", Assert.Throws<ArgumentException>(() => Program.Parse(new[] { "--profile", "fast" }, out _)).Message);
        Assert.Contains("Unknown option", Assert.Throws<ArgumentException>(() => Program.Parse(new[] { "--frob" }, out _)).Message);
        Program.Parse(new[] { "--help" }, out help);
        Assert.True(help);
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
