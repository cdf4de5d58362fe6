using System.Management.Automation;
using System.Security;
using CrmSync.Accounts;
using CrmSync.Auth;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Accounts;

/// <summary>Creates (or completes) the dedicated integration identity: a licensed non-interactive user or an application user.</summary>
[Cmdlet(VerbsCommon.New, "IntegrationUser", SupportsShouldProcess = true, DefaultParameterSetName = UserSet)]
[OutputType(typeof(IntegrationUserResult))]
public sealed class NewIntegrationUserCommand : SetupCmdlet
{
    private const string UserSet = "User";
    private const string ApplicationSet = "Application";

    /// <summary>The integration user's sign-in name, e.g. bcintegration@contoso.onmicrosoft.com.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = UserSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string UserPrincipalName { get; set; } = string.Empty;

    /// <summary>The display name; default "Business Central Integration".</summary>
    [Parameter(ParameterSetName = UserSet)]
    [ValidateNotNullOrEmpty]
    public string? DisplayName { get; set; }

    /// <summary>Two-letter country code Graph needs before a license can be assigned; default: the tenant's country.</summary>
    [Parameter(ParameterSetName = UserSet)]
    [ValidatePattern("^[A-Za-z]{2}$")]
    public string? UsageLocation { get; set; }

    /// <summary>The initial password; default: a generated one, which is shown only with -ShowPassword.</summary>
    [Parameter(ParameterSetName = UserSet)]
    [ValidateNotNull]
    public SecureString? Password { get; set; }

    /// <summary>The license's SKU part number; default the Dynamics 365 Customer Engagement plan.</summary>
    [Parameter(ParameterSetName = UserSet)]
    [ValidateNotNullOrEmpty]
    public string SkuPartNumber { get; set; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Puts the generated password into the output object (it is never printed or stored otherwise).</summary>
    [Parameter(ParameterSetName = UserSet)]
    public SwitchParameter ShowPassword { get; set; }

    /// <summary>The Entra application (client) id: creates an application user, as Business Central online does.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ApplicationSet, ValueFromPipelineByPropertyName = true)]
    [Alias("ClientId", "IntegrationAppClientId")]
    public Guid ApplicationId { get; set; }

    /// <summary>Security roles to give the integration user; default: Business Central Dataverse Integration.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Role { get; set; } = { SecurityRoles.IntegrationRole };

    /// <summary>How long to wait for a new user to appear in Dataverse.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSeconds { get; set; } = 600;

    protected override void ProcessRecord()
    {
        var request = new IntegrationUserRequest
        {
            UserPrincipalName = ParameterSetName == UserSet ? UserPrincipalName : null,
            DisplayName = DisplayName,
            UsageLocation = UsageLocation?.ToUpperInvariant(),
            Password = Password is null ? null : new SecretText(PlainText(Password)),
            SkuPartNumber = SkuPartNumber,
            ApplicationId = ParameterSetName == ApplicationSet ? ApplicationId : null,
            Roles = Role,
            Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
            ReturnPassword = ShowPassword,
        };
        var result = RunSetup((observer, bridge, cancel) => IntegrationUserSetup.For(ResolvedConnection, observer).EnsureAsync(request, cancel));
        if (result is null)
        {
            return;
        }

        WriteObject(result);
        WriteFailedSteps(result.Steps, "IntegrationUserStepFailed", result.UserPrincipalName ?? result.ApplicationId?.ToString() ?? string.Empty, "Run New-IntegrationUser again to finish the remaining steps.", result);
    }
}
