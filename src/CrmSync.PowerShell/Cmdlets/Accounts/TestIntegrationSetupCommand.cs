using System.Management.Automation;
using CrmSync.Accounts;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>Checks every prerequisite of the integration and says the fix for each that is not met.</summary>
[Cmdlet(VerbsDiagnostic.Test, "IntegrationSetup")]
[OutputType(typeof(SetupCheck))]
public sealed class TestIntegrationSetupCommand : SetupCmdlet
{
    /// <summary>The admin user to check; default: the user of the connection.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? AdminUserPrincipalName { get; set; }

    protected override void EndProcessing()
    {
        var checks = RunSetup((observer, bridge, cancel) => new ReadinessCheck(ResolvedConnection).RunAsync(AdminUserPrincipalName, cancel));
        if (checks is null)
        {
            return;
        }

        foreach (var check in checks)
        {
            WriteObject(check);
        }
    }
}
