using System.Reflection;
using System.Text;
using CrmSync.Auth;

namespace CrmSync.Engine.Tests.Services;

// A canary secret must appear nowhere: state file, log messages, errors, objects shown to the user.
public sealed class SecretHygieneTests
{
    private const string Canary = "CANARY-7f3a9c1e-do-not-print";

    [Fact]
    public async Task A_canary_secret_appears_in_no_state_file_message_error_or_object()
    {
        await using var sandbox = await SandboxConnection.StartAsync(connect: false);
        var app = sandbox.AddApplication("Canary App", Canary, dataverseRole: "System Administrator");
        var messages = new List<string>();
        var texts = new List<string>();

        using (var connection = await sandbox.ConnectAsAsync(app, Canary, messages))
        {
            await connection.Dataverse.WhoAmIAsync();
            await connection.BusinessCentral.GetCompaniesAsync();
            texts.Add(connection.ToString());
            texts.AddRange(PublicValues(connection));
            texts.AddRange(connection.Checks.Select(c => c.ToString()));
        }

        var wrong = Canary + "-wrong";
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => sandbox.ConnectAsAsync(app, wrong, messages));
        texts.Add(failure.ToString());
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            texts.Add(e.Message);
        }

        var settings = sandbox.Instance.ToConnectionSettings("x", null, app.ClientId, Canary);
        texts.Add(settings.ToString());
        texts.Add(settings.Credential!.ToString());
        texts.Add(new ClientSecretCredentialSpec(new SecretText(Canary)) { TenantId = "t", ClientId = "c" }.ToString());

        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.DoesNotContain("CANARY", m));
        Assert.All(texts, t => Assert.DoesNotContain("CANARY", t));
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(sandbox.StatePath)!))
        {
            Assert.DoesNotContain("CANARY", Encoding.Latin1.GetString(File.ReadAllBytes(file)));
        }
    }

    [Fact]
    public async Task Passwords_the_import_generates_are_shown_only_when_asked_and_never_stored()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        using var listening = sandbox.Listen();
        CrmSync.Accounts.SalespersonRow Row(string upn) => Accounts.SalespersonTestRows.Row(2, upn, "Secret Keeper");
        var options = new CrmSync.Accounts.SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(10) };
        var setup = CrmSync.Accounts.SalespersonImport.For(sandbox.Connection, new Accounts.AcceptAllSetupObserver());

        var hidden = await setup.ImportAsync(new[] { Row("keeper1@contoso.com") }, options, _ => { }, CancellationToken.None);
        var shown = await setup.ImportAsync(new[] { Row("keeper2@contoso.com") }, options with { ReturnPasswords = true }, _ => { }, CancellationToken.None);

        Assert.Null(Assert.Single(hidden).Password);
        var password = Assert.Single(shown).Password;
        Assert.False(string.IsNullOrEmpty(password));
        Assert.DoesNotContain(password!, hidden[0].ToString() + string.Join(";", hidden[0].Steps) + string.Join(";", shown[0].Steps));
        sandbox.Connection.Dispose();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(sandbox.StatePath)!))
        {
            Assert.DoesNotContain(password!, Encoding.Latin1.GetString(File.ReadAllBytes(file)));
        }

        Assert.All(sandbox.Messages, m => Assert.DoesNotContain(password!, m));
    }

    private static IEnumerable<string> PublicValues(object target) =>
        target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.PropertyType.Namespace is "System" or "CrmSync.Connections")
            .Select(p =>
            {
                try
                {
                    return p.GetValue(target)?.ToString() ?? string.Empty;
                }
                catch (TargetInvocationException)
                {
                    return string.Empty;
                }
            });
}
