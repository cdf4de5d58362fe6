using CrmSync.Accounts;
using CrmSync.Engine.Tests.Services;
using CrmSync.Engine.Tests.Sync;

namespace CrmSync.Engine.Tests.Accounts;

/// <summary>
/// Bad and hostile CSV cells (docs/reliability.md, "Bad input"): each gets an error naming the row, the column and the fix,
/// and nothing is written for that row; values that only look dangerous (an apostrophe, OData syntax) are kept as text
/// and escaped where they are used. Cells CrmSync writes never start a spreadsheet formula.
/// </summary>
public sealed class SalespersonBadInputTests
{
    public static TheoryData<string, string, string> BadCells => new()
    {
        { SalespersonCsv.DisplayName, "=cmd|' /C calc'!A0", "formula" },
        { SalespersonCsv.JobTitle, "@SUM(A1:A2)", "formula" },
        { SalespersonCsv.Department, "Sales\tNorth", "control character" },
        { SalespersonCsv.DisplayName, new string('x', 300), "allows 256" },
        { SalespersonCsv.FirstName, new string('y', 65), "allows 64" },
        { SalespersonCsv.UserName, "../../etc/passwd", "not a user principal name" },
        { SalespersonCsv.UserName, "x' or 1 eq 1 or userPrincipalName eq 'y@contoso.com", "not a user principal name" },
    };

    [Theory]
    [MemberData(nameof(BadCells))]
    public async Task A_bad_cell_is_refused_naming_the_row_and_column_and_nothing_is_written(string column, string value, string problem)
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        var (versions, state) = (sandbox.DataVersions(), sandbox.StateContent());
        var values = SalespersonTestRows.Values("bad.input@contoso.com", "Bad Input");
        values[column] = value;
        var errors = new List<SalespersonRowException>();

        var results = await SalespersonImport.For(sandbox.Connection, new AcceptAllSetupObserver()).ImportAsync(new[] { new SalespersonRow(2, values) },
            new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(10) }, errors.Add, CancellationToken.None);

        Assert.Empty(results);
        var error = Assert.Single(errors);
        Assert.Equal((2, column), (error.RowNumber, error.Column));
        Assert.Contains(problem, error.Message);
        // Nothing written anywhere: no user, license, role, Dataverse or BC row, and no coupling or setting in the state.
        Assert.Equal(versions, sandbox.DataVersions());
        Assert.Equal(state, sandbox.StateContent());
    }

    [Fact]
    public async Task Values_that_only_look_dangerous_are_imported_as_text()
    {
        await using var sandbox = await SandboxConnection.StartAsync();
        // The BC salesperson is found by e-mail: the apostrophe reaches an OData filter, escaped.
        Assert.Equal(201, sandbox.Host.Invoke("BusinessCentral", sandbox.Host.Sample!.Admin, "POST", $"companies({sandbox.Host.Sample.CompanyId})/salespeoplePurchasers",
            new { code = "PO", displayName = "Pat O'Neil", email = "pat.o'neil@contoso.com" }).Status);
        var values = SalespersonTestRows.Values("pat.o'neil@contoso.com", "Pat O'Neil");
        values[SalespersonCsv.Department] = "x' or 1 eq 1 or department eq '";
        values[SalespersonCsv.OfficePhone] = "+47 22 00 00 00";
        var errors = new List<SalespersonRowException>();

        var results = await SalespersonImport.For(sandbox.Connection, new AcceptAllSetupObserver()).ImportAsync(new[] { new SalespersonRow(2, values) },
            new SalespersonImportOptions { PollInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(10) }, errors.Add, CancellationToken.None);

        Assert.Empty(errors);
        Assert.True(Assert.Single(results).Succeeded, string.Join("; ", results[0].Steps));
        var user = await sandbox.Connection.Directory.FindUserAsync("pat.o'neil@contoso.com");
        Assert.Equal("Pat O'Neil", user!.DisplayName);
        Assert.Equal("PO", results[0].SalespersonCode);
    }

    [Theory]
    [InlineData("=1+2", "\"'=1+2\"")]
    [InlineData("+47 22 00 00 00", "\"'+47 22 00 00 00\"")]
    [InlineData("-5", "\"'-5\"")]
    [InlineData("@A1", "\"'@A1\"")]
    [InlineData("=HYPERLINK(\"x\",\"y\")", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"")]
    [InlineData("Chris Green", "Chris Green")]
    public void A_cell_CrmSync_writes_never_starts_a_formula(string value, string written)
    {
        Assert.Equal(written, SalespersonCsv.Cell(value));
        var template = SalespersonCsv.Template(includeExample: true);
        Assert.DoesNotContain(SalespersonCsv.Parse(template).SelectMany(row => row), cell => cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@');
    }

    [Theory]
    [InlineData(",")]
    [InlineData(";")]
    public void Excel_files_saved_with_either_list_separator_and_a_BOM_read_the_same(string separator)
    {
        using var folder = new TempDirectory();
        var path = folder.File("people.csv");
        File.WriteAllText(path, string.Join("\r\n", new[]
        {
            string.Join(separator, "User Name", "Display Name", "Office Number"),
            string.Join(separator, "pat@contoso.com", "\"O'Neil, Pat\"", "\"Building 4\nFloor 2\""),
            string.Empty,
            string.Join(separator, "lee@contoso.com", "\"Lee \"\"the closer\"\"\"", string.Empty),
        }), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var rows = SalespersonCsv.Read(path);

        Assert.Equal(new[] { 2, 4 }, rows.Select(r => r.RowNumber));
        Assert.Equal(new[] { "O'Neil, Pat", "Lee \"the closer\"" }, rows.Select(r => r[SalespersonCsv.DisplayName]));
        Assert.Equal("Building 4\nFloor 2", rows[0][SalespersonCsv.OfficeNumber]);
        Assert.Null(rows[1][SalespersonCsv.OfficeNumber]);
    }
}
