using CrmSync.Accounts;
using CrmSync.Auth;
using CrmSync.Engine.Tests.Services;
using CrmSync.Engine.Tests.Sync;
using CrmSync.Mapping;
using CrmSync.Sandbox.Graph;
using CrmSync.Sandbox.Hosting;
using CrmSync.Sandbox.Limits;
using CrmSync.Sandbox.Seed;
using CrmSync.Sync;

namespace CrmSync.Engine.Tests.Accounts;

public sealed class AccountSetupScenarioTests
{
    private sealed class Observer(bool answer = true) : ISetupObserver
    {
        public List<string> Asked { get; } = new();

        public bool ShouldProcess(string target, string action)
        {
            Asked.Add($"{target}: {action}");
            return answer;
        }

        public void Progress(string activity, string status, int percent)
        {
        }

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }
    }

    private static IntegrationUserSetup IntegrationUser(SandboxConnection sandbox, bool answer = true) => IntegrationUserSetup.For(sandbox.Connection, new Observer(answer));

    private static SalespersonImport Salespeople(SandboxConnection sandbox, bool answer = true) => SalespersonImport.For(sandbox.Connection, new Observer(answer));

    [Fact]
    public void The_template_has_exactly_the_Microsoft_365_headers_in_order()
    {
        var headersOnly = SalespersonCsv.Parse(SalespersonCsv.Template(includeExample: false));
        var withExample = SalespersonCsv.Parse(SalespersonCsv.Template(includeExample: true));

        Assert.Equal(new[]
        {
            "User Name", "First Name", "Last Name", "Display Name", "Job Title", "Department", "Office Number", "Office Phone", "Mobile Phone", "Fax",
            "Alternate email address", "Address", "City", "State or Province", "ZIP or Postal Code", "Country or Region",
        }, Assert.Single(headersOnly));
        Assert.Equal(6, withExample.Count);
        Assert.All(withExample.Skip(1), row => Assert.Equal(16, row.Length));
        Assert.All(withExample.Skip(1), row => Assert.Equal("United States", row[15]));
    }

    [Theory]
    [InlineData("Username,First name,Last name,Display name,Job title,Department,Office number,Office phone,Mobile phone,Fax,Alternate email address,Address,City,State or province,ZIP or postal code,Country or region")]
    [InlineData("USER NAME,FIRST NAME,LAST NAME,DISPLAY NAME")]
    [InlineData("\uFEFFuser name , display name")]
    public void Headers_are_matched_in_any_of_the_admin_centers_spellings(string header)
    {
        using var temp = new TempDirectory();
        var path = temp.File("spelling.csv");
        File.WriteAllText(path, header + "\r\nana@contoso.com," + (header.Contains("FIRST", StringComparison.OrdinalIgnoreCase) ? "Ana,Lopez,Ana Lopez" : "Ana Lopez") + "\r\n");

        var row = Assert.Single(SalespersonCsv.Read(path));

        Assert.Equal("ana@contoso.com", row[SalespersonCsv.UserName]);
        Assert.Equal("Ana Lopez", row[SalespersonCsv.DisplayName]);
    }

    [Fact]
    public void A_file_that_is_not_the_template_is_refused_with_the_headers_expected()
    {
        using var temp = new TempDirectory();
        var path = temp.File("wrong.csv");
        File.WriteAllText(path, "Email,Name\r\nana@contoso.com,Ana\r\n");

        var error = Assert.Throws<CrmSyncException>(() => SalespersonCsv.Read(path));

        Assert.Equal("CsvHeaderInvalid", error.ErrorId);
        Assert.Contains("Its header is: Email, Name", error.Message);
        Assert.Contains(string.Join(", ", SalespersonCsv.Headers), error.Message);
    }

    [Fact]
    public void The_template_file_is_written_once_and_read_back_and_an_existing_file_needs_overwrite()
    {
        using var temp = new TempDirectory();
        var path = temp.File("salespeople.csv");

        var written = SalespersonCsv.WriteTemplate(path, includeExample: true, overwrite: false);
        var exists = Assert.Throws<CrmSyncException>(() => SalespersonCsv.WriteTemplate(path, includeExample: false, overwrite: false));
        var rows = SalespersonCsv.Read(path);

        Assert.Equal(path, written.Path);
        Assert.Equal(16, written.Columns.Count);
        Assert.Equal(5, written.ExampleRows);
        Assert.Equal("TemplateFileExists", exists.ErrorId);
        Assert.Contains("-Force", exists.Message);
        // The admin center's sample users, in its order.
        Assert.Equal(new[] { "chris@contoso.com", "ben@contoso.com", "david@contoso.com", "cynthia@contoso.com", "melissa@contoso.com" }, rows.Select(r => r[SalespersonCsv.UserName]));
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, rows.Select(r => r.RowNumber));
        Assert.All(rows, r => Assert.Equal("United States", r[SalespersonCsv.Country]));
        Assert.Equal("Melissa MacBeth", rows[^1][SalespersonCsv.DisplayName]);
        SalespersonCsv.WriteTemplate(path, includeExample: false, overwrite: true);
        Assert.Empty(SalespersonCsv.Read(path));
    }

    [Fact]
    public void Pipeline_rows_keep_their_numbers_and_a_named_code_column_becomes_the_salesperson_code()
    {
        var rows = new[]
        {
            SalespersonCsv.FromProperties(2, new Dictionary<string, string?> { [" User Name "] = "ann@contoso.com", ["BC Code"] = "AH" }),
            SalespersonCsv.FromProperties(3, new Dictionary<string, string?> { ["user name"] = "bob@contoso.com", ["BC Code"] = "  " }),
        };

        var mapped = SalespersonCsv.WithCodeColumn(rows, "BC Code");

        Assert.Equal("ann@contoso.com", mapped[0][SalespersonCsv.UserName]);
        Assert.Equal("AH", mapped[0][SalespersonCsv.SalespersonCodeColumn]);
        Assert.Null(mapped[1][SalespersonCsv.SalespersonCodeColumn]);
        Assert.Equal(new[] { 2, 3 }, mapped.Select(r => r.RowNumber));
        Assert.Same(rows, SalespersonCsv.WithCodeColumn(rows, "salesperson code"));
    }

    [Fact]
    public async Task Without_a_usage_location_the_integration_user_gets_the_tenants_country()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var result = await IntegrationUser(sandbox).EnsureAsync(new IntegrationUserRequest { UserPrincipalName = "bcsync@contoso.com", PollInterval = TimeSpan.FromMilliseconds(50) }, CancellationToken.None);

        Assert.Equal(StepOutcome.Done, result.Steps.Single(s => s.Name == "Assign the license").Outcome);
        Assert.True(result.Succeeded, string.Join("; ", result.Steps));
        Assert.Equal("US", (await sandbox.Connection.Directory.FindUserAsync("bcsync@contoso.com"))!.UsageLocation);
    }

    [Fact]
    public async Task Importing_25_rows_with_3_bad_ones_creates_licenses_roles_and_couples_22_and_a_second_import_creates_nothing()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        using var temp = new TempDirectory();
        var lines = new List<string> { string.Join(',', SalespersonCsv.Headers) };
        for (var i = 1; i <= 22; i++)
        {
            var upn = $"rep{i:D2}@contoso.com";
            Assert.Equal(201, sandbox.Host.Invoke("BusinessCentral", sandbox.Host.Sample!.Admin, "POST", $"companies({sandbox.Host.Sample.CompanyId})/salespeoplePurchasers",
                new { code = $"R{i:D2}", displayName = $"Rep {i}", email = upn }).Status);
            lines.Add($"{upn},Rep,{i},Rep {i},Sales Rep,Sales,,,,,,,Seattle,WA,98101,United States");
        }

        lines.Insert(5, ",No,Name,No Name,,,,,,,,,,,,United States");                   // row 6: missing User Name
        lines.Insert(10, "x@fabrikam.com,Fab,Rikam,Fab Rikam,,,,,,,,,,,,United States"); // row 11: unverified domain
        lines.Add("rep03@contoso.com,Dup,Licate,Dup Licate,,,,,,,,,,,,United States");   // row 26: duplicate of rep03
        var path = temp.File("salespeople.csv");
        File.WriteAllLines(path, lines);
        var errors = new List<SalespersonRowException>();
        var options = new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) };

        var results = await Salespeople(sandbox).ImportAsync(SalespersonCsv.Read(path), options, errors.Add, CancellationToken.None);

        Assert.Equal(22, results.Count);
        Assert.All(results, r => Assert.True(r.Succeeded, string.Join("; ", r.Steps)));
        Assert.Equal(new[] { (6, "User Name"), (11, "User Name"), (26, "User Name") }, errors.Select(e => (e.RowNumber, e.Column)).OrderBy(e => e.RowNumber));
        Assert.Contains("verified", errors.Single(e => e.RowNumber == 11).Message);
        Assert.Contains("already in row", errors.Single(e => e.RowNumber == 26).Message);
        var graphUsers = sandbox.Rows("Graph", "users");
        foreach (var result in results)
        {
            var user = await sandbox.Connection.Directory.FindUserAsync(result.UserPrincipalName);
            Assert.Contains(SampleData.Dynamics365Plan1SkuId, user!.LicenseSkuIds);
            var roles = await sandbox.Connection.Dataverse.GetRolesAsync(sandbox.Host.Sample!.RootBusinessUnitId, "Salesperson");
            Assert.Contains("Salesperson", await sandbox.Connection.Dataverse.GetUserRoleNamesAsync(result.SystemUserId!.Value));
            var coupling = sandbox.Connection.Store.Couplings.GetByDataverseId(StandardMappings.Salespeople, result.SystemUserId!.Value);
            Assert.NotNull(coupling);
            Assert.Equal(result.SalespersonCode, $"R{result.UserPrincipalName[3..5]}");
        }

        var again = await Salespeople(sandbox).ImportAsync(SalespersonCsv.Read(path), options, _ => { }, CancellationToken.None);
        Assert.All(again, r => Assert.All(r.Steps, s => Assert.Equal(StepOutcome.AlreadyDone, s.Outcome)));
    }

    [Fact]
    public async Task The_demo_salespeople_file_has_the_template_header_and_couples_the_six_sample_salespeople()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var path = Path.Combine(AppContext.BaseDirectory, "SampleSalespeople.csv");
        var options = new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) };
        var errors = new List<SalespersonRowException>();

        var results = await Salespeople(sandbox).ImportAsync(SalespersonCsv.Read(path), options, errors.Add, CancellationToken.None);

        Assert.Equal(SalespersonCsv.Parse(SalespersonCsv.Template(includeExample: false))[0], SalespersonCsv.Parse(File.ReadAllText(path))[0]);
        Assert.Empty(errors);
        Assert.All(results, r => Assert.True(r.Succeeded, string.Join("; ", r.Steps)));
        Assert.Equal(new[] { "AH", "DC", "JO", "LT", "MH", "PS" }, results.Select(r => r.SalespersonCode).Order());
        Assert.Equal(3, results.Count(r => r.Steps[0].Outcome == StepOutcome.Done));
    }

    [Fact]
    public async Task What_if_import_reports_each_rows_steps_and_creates_licenses_and_couples_nothing()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var rows = SalespersonCsv.Read(Path.Combine(AppContext.BaseDirectory, "SampleSalespeople.csv"));
        var (versions, state) = (sandbox.DataVersions(), sandbox.StateContent());
        var options = new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) };

        var results = await Salespeople(sandbox, answer: false).ImportAsync(rows, options, _ => { }, CancellationToken.None);

        Assert.Equal(new[] { 2, 3, 4, 5, 6, 7 }, results.Select(r => r.RowNumber));
        var debra = results.Single(r => r.UserPrincipalName == "debra.core@contoso.com");
        Assert.All(debra.Steps, s => Assert.Equal(StepOutcome.WouldDo, s.Outcome));
        var annette = results.Single(r => r.UserPrincipalName == "annette.hill@contoso.com");
        Assert.Equal(StepOutcome.AlreadyDone, annette.Steps[0].Outcome);
        Assert.Equal(StepOutcome.WouldDo, annette.Steps.Single(s => s.Name == "Couple to the BC salesperson").Outcome);
        // Nothing written anywhere: no user, license, role, Dataverse or BC row, and no coupling or setting in the state.
        Assert.Equal(versions, sandbox.DataVersions());
        Assert.Equal(state, sandbox.StateContent());
        Assert.Empty(sandbox.Connection.Store.Couplings.GetAll(StandardMappings.Salespeople));
    }

    [Fact]
    public async Task Not_enough_seats_is_said_before_any_user_is_created()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var sku = sandbox.Host.Graph.Skus.Single(s => s.SkuPartNumber == "DYN365_ENTERPRISE_PLAN1");
        sku.Enabled = sku.Consumed + 1;
        var rows = new[]
        {
            Row(2, "one@contoso.com", "One"), Row(3, "two@contoso.com", "Two"),
        };

        var error = await Assert.ThrowsAsync<CrmSyncException>(() => Salespeople(sandbox).ImportAsync(rows, new SalespersonImportOptions(), _ => { }, CancellationToken.None));

        Assert.Equal("NotEnoughLicenses", error.ErrorId);
        Assert.Contains("2 users need a DYN365_ENTERPRISE_PLAN1 license, but only 1", error.Message);
        Assert.Null(await sandbox.Connection.Directory.FindUserAsync("one@contoso.com"));
    }

    private static SalespersonRow Row(int number, string upn, string name) =>
        new(number, new Dictionary<string, string?> { ["User Name"] = upn, ["Display Name"] = name, ["Country or Region"] = "United States" });

    [Fact]
    public async Task The_admin_is_refused_as_integration_user()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var byUpn = await Assert.ThrowsAsync<CrmSyncException>(() => IntegrationUser(sandbox).EnsureAsync(new IntegrationUserRequest { UserPrincipalName = "admin@contoso.onmicrosoft.com" }, CancellationToken.None));
        var byApp = await Assert.ThrowsAsync<CrmSyncException>(() => IntegrationUser(sandbox).EnsureAsync(new IntegrationUserRequest { ApplicationId = sandbox.Host.Sample!.SetupApp.ClientId }, CancellationToken.None));

        Assert.Equal("IntegrationUserIsAdministrator", byUpn.ErrorId);
        Assert.Contains("System Administrator", byUpn.Message);
        Assert.Contains("changes made by the integration user are never synchronized", byUpn.Message);
        Assert.Equal("IntegrationUserIsAdministrator", byApp.ErrorId);
    }

    [Fact]
    public async Task A_half_done_integration_user_is_completed_by_running_again_and_its_changes_are_not_synced_back()
    {
        await using var sandbox = await SandboxConnection.StartAsync(new SandboxOptions { DataverseUserSyncDelay = TimeSpan.FromSeconds(2) });
        var request = new IntegrationUserRequest
        {
            UserPrincipalName = "bcintegration@contoso.com", DisplayName = "BC Integration", UsageLocation = "US", Password = new SecretText("Integration-Pw-1!"),
            Timeout = TimeSpan.FromMilliseconds(200), PollInterval = TimeSpan.FromMilliseconds(50),
        };

        var first = await IntegrationUser(sandbox).EnsureAsync(request, CancellationToken.None);
        Assert.False(first.Succeeded);
        Assert.Equal(StepOutcome.Failed, first.Steps.Single(s => s.Name == "Wait for the user in Dataverse").Outcome);
        await Task.Delay(2500);
        var second = await IntegrationUser(sandbox).EnsureAsync(request with { Timeout = TimeSpan.FromSeconds(10) }, CancellationToken.None);

        Assert.True(second.Succeeded, string.Join("; ", second.Steps));
        Assert.Equal(StepOutcome.AlreadyDone, second.Steps.Single(s => s.Name == "Create the Entra user").Outcome);
        Assert.Equal(StepOutcome.AlreadyDone, second.Steps.Single(s => s.Name == "Assign the license").Outcome);
        var user = await sandbox.Connection.Dataverse.FindUserAsync($"systemuserid eq {second.SystemUserId}");
        Assert.Equal(4, user!.AccessMode);
        Assert.Contains(SecurityRoles.IntegrationRole, await sandbox.Connection.Dataverse.GetUserRoleNamesAsync(user.SystemUserId));
        var third = await IntegrationUser(sandbox).EnsureAsync(request, CancellationToken.None);
        Assert.All(third.Steps.Skip(1), s => Assert.Equal(StepOutcome.AlreadyDone, s.Outcome));

        // Changes made by the integration user are not synchronized back.
        await sandbox.SyncAsync(full: true);
        var customer = sandbox.Bc("customers", "number", "C10010").Id();
        var account = sandbox.Connection.Store.Couplings.GetByBcId("CUSTOMER", customer)!.DataverseId;
        var integrationIdentity = sandbox.Host.Identities.FindByUserPrincipalName("bcintegration@contoso.com")!;
        sandbox.ChangeDv(integrationIdentity, "accounts", account, new { websiteurl = "www.by-the-integration-user.example" });
        var (jobs, _) = await sandbox.SyncAsync(names: "CUSTOMER");

        Assert.Equal(0, jobs.Job("CUSTOMER", SyncDirection.FromIntegrationTable).Modified);
        Assert.NotEqual("www.by-the-integration-user.example", sandbox.Bc("customers", "number", "C10010").Value(sandbox, "BusinessCentral", "customers", "website"));
    }

    [Fact]
    public async Task An_application_user_is_created_as_BC_does()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var app = sandbox.Host.Sample!.IntegrationApp.ClientId!.Value;

        var result = await IntegrationUser(sandbox).EnsureAsync(new IntegrationUserRequest { ApplicationId = app }, CancellationToken.None);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps));
        var user = await sandbox.Connection.Dataverse.FindUserAsync($"applicationid eq {app}");
        Assert.Equal("Business Central Integration", user!.FullName);
        Assert.True(user.IsIntegrationUser);
        Assert.Equal(4, user.AccessMode);
        Assert.Equal(user.SystemUserId.ToString(), sandbox.Connection.Store.Settings.Get(SettingKeys.IntegrationUserId));
        using var asIntegration = await sandbox.ConnectAsAsync(sandbox.Host.Sample.IntegrationApp, sandbox.Host.Sample.IntegrationApp.ClientSecret!);
        Assert.Equal(user.SystemUserId, asIntegration.DataverseUserId);
    }

    [Fact]
    public async Task What_if_lists_the_steps_and_changes_nothing()
    {
        await using var sandbox = await SandboxConnection.StartAsync();

        var result = await IntegrationUser(sandbox, answer: false).EnsureAsync(new IntegrationUserRequest { UserPrincipalName = "planned@contoso.com", UsageLocation = "US" }, CancellationToken.None);

        Assert.All(result.Steps.Skip(1), s => Assert.Equal(StepOutcome.WouldDo, s.Outcome));
        Assert.Null(await sandbox.Connection.Directory.FindUserAsync("planned@contoso.com"));
    }

    [Fact]
    public async Task The_readiness_check_fails_on_a_fresh_org_with_the_fixes_and_passes_after_running_them()
    {
        await using var sandbox = await SandboxConnection.StartAsync(integrationIdentity: true);

        var before = await new ReadinessCheck(sandbox.Connection).RunAsync(null, CancellationToken.None);
        var failed = before.Where(c => c.Status == CheckStatus.Fail).ToList();
        // Connected as the setup application: the admin account is a person, and none is named yet.
        Assert.Contains(failed, c => c.Area == "Admin" && c.Check == "Is named" && c.Fix == "Grant-IntegrationAdminRole -UserPrincipalName <the admin's sign-in name>");
        Assert.Contains(failed, c => c.Area == "Integration user" && c.Fix!.StartsWith("New-IntegrationUser", StringComparison.Ordinal));
        Assert.Contains(failed, c => c.Check == "Synchronization writes as the integration identity" && c.Fix!.StartsWith("New-IntegrationUser -ApplicationId", StringComparison.Ordinal));
        Assert.Equal(new[] { "Is named" }, failed.Where(c => c.Area == "Admin").Select(c => c.Check));
        var adminUser = sandbox.Host.Sample!.Admin.UserPrincipalName!;
        var named = await new ReadinessCheck(sandbox.Connection).RunAsync(adminUser, CancellationToken.None);
        Assert.Equal(new[] { "Holds System Customizer", "Holds a non-admin role (e.g. Sales Manager)" }, named.Where(c => c.Area == "Admin" && c.Status == CheckStatus.Fail).Select(c => c.Check));
        Assert.Contains(before, c => c.Area == "Salespeople" && c.Status == CheckStatus.Warning);
        Assert.All(before.Where(c => c.Area == "Connection"), c => Assert.Equal(CheckStatus.Pass, c.Status));

        var unnamed = await Assert.ThrowsAsync<CrmSyncException>(() => AdminRoleSetup.For(sandbox.Connection, new Observer(true)).EnsureAsync(null, "Sales Manager", null, CancellationToken.None));
        Assert.Equal("AdminUserRequired", unnamed.ErrorId);
        Assert.Contains("-UserPrincipalName", unnamed.Message, StringComparison.Ordinal);
        var admin = await AdminRoleSetup.For(sandbox.Connection, new Observer(true)).EnsureAsync(adminUser, "Sales Manager", null, CancellationToken.None);
        await IntegrationUser(sandbox).EnsureAsync(new IntegrationUserRequest { ApplicationId = sandbox.Host.Sample!.IntegrationApp.ClientId }, CancellationToken.None);
        await CouplingService.For(sandbox.Connection).CoupleByMatchAsync("SALESPEOPLE", null, (_, _) => true, CancellationToken.None);
        var after = await new ReadinessCheck(sandbox.Connection).RunAsync(null, CancellationToken.None);

        Assert.Contains("Sales Manager", admin.Roles);
        // The admin Grant-IntegrationAdminRole set up is the one checked from now on, without naming it again.
        Assert.Contains(after, c => c.Area == "Admin" && c.Check == "Holds System Customizer" && c.Target == adminUser && c.Status == CheckStatus.Pass);
        Assert.DoesNotContain(after, c => c.Status == CheckStatus.Fail);
        Assert.Contains(after, c => c.Area == "Salespeople" && c.Status == CheckStatus.Pass && c.Target.StartsWith("AH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_readiness_check_asks_the_services_now_and_reports_one_that_stopped_answering_instead_of_failing()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        sandbox.Host.Faults(GraphService.ServiceName).Enqueue(FaultKind.ServerError, count: 50, match: (method, path) => method == "GET" && path.Contains("organization", StringComparison.Ordinal));

        var checks = await new ReadinessCheck(sandbox.Connection).RunAsync(null, CancellationToken.None);

        var graph = Assert.Single(checks, c => c.Area == "Connection" && c.Check.StartsWith("Graph", StringComparison.Ordinal));
        Assert.Equal(CheckStatus.Fail, graph.Status);
        Assert.StartsWith("Connect-CrmSync", graph.Fix, StringComparison.Ordinal);
        Assert.Contains(checks, c => c.Check == "Accounts checked" && c.Status == CheckStatus.Fail);
        Assert.DoesNotContain(checks, c => c.Area is "Admin" or "Integration user" or "Salespeople");
    }
}
