using System.Management.Automation;
using CrmSync.Accounts;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>
/// Makes the admin user hold what the Business Central article asks of the admin account: System Administrator,
/// System Customizer, and at least one non-admin role (Sales Manager by default). Grants only what is missing.
/// </summary>
[Cmdlet(VerbsSecurity.Grant, "IntegrationAdminRole", SupportsShouldProcess = true)]
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

    /// <summary>When the user is not in Dataverse yet: assign the Sales license through Graph and wait until the environment adds the user.</summary>
    [Parameter]
    public SwitchParameter AssignLicense { get; set; }

    /// <summary>The license's SKU part number for -AssignLicense; default the Dynamics 365 Customer Engagement plan.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SkuPartNumber { get; set; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Two-letter country code for -AssignLicense when the user has none; default: the tenant's country.</summary>
    [Parameter]
    [ValidatePattern("^[A-Za-z]{2}$")]
    public string? UsageLocation { get; set; }

    /// <summary>How long -AssignLicense waits for the user to appear in Dataverse.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSeconds { get; set; } = 600;

    protected override void ProcessRecord()
    {
        if (AssignLicense && UserPrincipalName is null)
        {
            ThrowEngineError(new CrmSyncException("AssignLicenseNeedsUser", CrmSyncErrorKind.InvalidArgument,
                "-AssignLicense licenses a user: give -UserPrincipalName. The connected identity is an application, which needs no license."));
        }

        var license = AssignLicense
            ? new AdminLicenseOptions { SkuPartNumber = SkuPartNumber, UsageLocation = UsageLocation?.ToUpperInvariant(), Timeout = TimeSpan.FromSeconds(TimeoutSeconds), PollInterval = TimeSpan.FromSeconds(Math.Clamp(TimeoutSeconds / 60, 1, 5)) }
            : null;
        var result = RunSetup((observer, bridge, cancel) => AdminRoleSetup.For(ResolvedConnection, observer).EnsureAsync(UserPrincipalName, AdditionalRole, license, cancel));
        if (result is not null)
        {
            WriteObject(result);
            WriteFailedSteps(result.Steps, "AdminRoleStepFailed", result.User, "Run Grant-IntegrationAdminRole again to finish the remaining steps.", result);
        }
    }
}
