using System.Management.Automation;
using CrmSync.Accounts;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>Writes the Microsoft 365 "Import multiple users" CSV template that Import-Salesperson reads.</summary>
[Cmdlet(VerbsCommon.New, "SalespersonImportTemplate", SupportsShouldProcess = true)]
[OutputType(typeof(SalespersonTemplate))]
public sealed class NewSalespersonImportTemplateCommand : CrmSyncCmdlet
{
    /// <summary>Where to write the CSV.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Adds the admin center's five sample users.</summary>
    [Parameter]
    public SwitchParameter IncludeExample { get; set; }

    /// <summary>Overwrites an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(path, IncludeExample ? "Write the salesperson import template with the admin center's five sample users" : "Write the salesperson import template"))
        {
            return;
        }

        try
        {
            WriteObject(SalespersonCsv.WriteTemplate(path, IncludeExample, Force));
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex, path);
        }
    }
}
