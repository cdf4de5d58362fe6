using System.Collections;
using System.Management.Automation;
using CrmSync.Accounts;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>
/// Imports salespeople from the Microsoft 365 "Import multiple users" CSV (a file or Import-Csv rows):
/// creates, licenses, gives the Salesperson role and couples each to its BC salesperson.
/// </summary>
[Cmdlet(VerbsData.Import, "Salesperson", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(SalespersonImportResult))]
public sealed class ImportSalespersonCommand : SetupCmdlet
{
    private const string PathSet = "Path";
    private const string InputSet = "InputObject";

    // Import-Csv rows are numbered as the file's lines: the header is line 1.
    private const int FirstDataRow = 2;

    private readonly List<SalespersonRow> _rows = new();
    private readonly Dictionary<int, object> _targets = new();

    /// <summary>The CSV file (the Microsoft 365 template's columns).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Rows from the pipeline, e.g. from Import-Csv: property names are the column names.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject? InputObject { get; set; }

    /// <summary>Two-letter usage location for rows whose 'Country or Region' is empty or unknown.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z]{2}$")]
    public string? UsageLocation { get; set; }

    /// <summary>The license's SKU part number; default the Dynamics 365 Customer Engagement plan.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SkuPartNumber { get; set; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>The column holding the BC salesperson code; rows without one are matched to salespeople by e-mail.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SalespersonCodeColumn { get; set; } = SalespersonCsv.SalespersonCodeColumn;

    /// <summary>How long to wait for new users to appear in Dataverse.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSeconds { get; set; } = 600;

    /// <summary>Puts new users' generated passwords into the output objects (never printed or stored otherwise).</summary>
    [Parameter]
    public SwitchParameter ShowPassword { get; set; }

    protected override void ProcessRecord()
    {
        if (InputObject is null)
        {
            return;
        }

        var rowNumber = FirstDataRow + _rows.Count;
        _rows.Add(SalespersonCsv.FromProperties(rowNumber, Properties(InputObject)));
        _targets[rowNumber] = InputObject;
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == PathSet)
        {
            try
            {
                _rows.AddRange(SalespersonCsv.Read(GetUnresolvedProviderPathFromPSPath(Path)));
            }
            catch (CrmSyncException ex)
            {
                ThrowEngineError(ex, Path);
            }
        }

        var rows = SalespersonCsv.WithCodeColumn(_rows, SalespersonCodeColumn);
        var options = new SalespersonImportOptions
        {
            SkuPartNumber = SkuPartNumber,
            UsageLocation = UsageLocation?.ToUpperInvariant(),
            Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
            ReturnPasswords = ShowPassword,
        };
        var results = RunSetup((observer, bridge, cancel) =>
            SalespersonImport.For(ResolvedConnection, observer).ImportAsync(rows, options, bad => bridge.Post(() => WriteError(RowError(bad))), cancel));
        foreach (var result in results ?? Array.Empty<SalespersonImportResult>())
        {
            WriteObject(result);
            WriteFailedSteps(result.Steps, "SalespersonStepFailed", $"Row {result.RowNumber} ({result.UserPrincipalName})", null, result);
        }
    }

    /// <summary>The row's error, aimed at the row itself (the Import-Csv object, or the parsed row).</summary>
    private ErrorRecord RowError(SalespersonRowException bad)
    {
        var target = _targets.TryGetValue(bad.RowNumber, out var input) ? input : _rows.FirstOrDefault(r => r.RowNumber == bad.RowNumber);
        return new ErrorRecord(bad, bad.ErrorId, ToCategory(bad.Kind), target);
    }

    private static IEnumerable<KeyValuePair<string, string?>> Properties(PSObject row) => row.BaseObject is IDictionary dictionary
        ? dictionary.Keys.Cast<object>().Select(k => new KeyValuePair<string, string?>(k.ToString() ?? string.Empty, dictionary[k]?.ToString()))
        : row.Properties.Select(p => new KeyValuePair<string, string?>(p.Name, p.Value?.ToString()));
}
