using System.Management.Automation;
using CrmSync.Accounts;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>
/// Makes the admin user hold what the Business Central article asks of the admin account: System Administrator,
/// System Customizer, and at least one non-admin role (Sales Manager by default). Grants only what is missing.
/// </summary>
[Cmdlet(VerbsSecurity.Grant, "IntegrationAdminRole", SupportsShouldProcess = true,
    HelpUri = "https://github.com/crmsync/crmsync/blob/main/docs/en-US/Grant-IntegrationAdminRole.md")]
[OutputType(typeof(AdminRoleResult))]
public sealed class GrantIntegrationAdminRoleCommand : SetupCmdlet
{
    /// <summary>The admin user; default: the user of the connection.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("User")]
    [ValidateNotNullOrEmpty]
    public string? UserPrincipalName { get; set; }

    /// <summary>The non-admin role to give when the user holds only admin roles.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string AdditionalRole { get; set; } = "Sales Manager";

    protected override void ProcessRecord()
    {
        var result = RunSetup((setup, bridge, cancel) => setup.EnsureAdminRolesAsync(UserPrincipalName, AdditionalRole, cancel));
        if (result is not null)
        {
            WriteObject(result);
        }
    }
}
