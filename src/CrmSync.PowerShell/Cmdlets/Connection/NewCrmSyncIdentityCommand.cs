using System.Management.Automation;
using System.Security;
using CrmSync.Auth;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Connection;

/// <summary>
/// Describes one identity to synchronize as — an application with its secret or certificate, or a managed identity —
/// for a pool given to Connect-CrmSync -IntegrationIdentity. Creates nothing in Entra or Dataverse (New-IntegrationUser
/// makes the application user); the object shows who the identity is, never its secret.
/// </summary>
[Cmdlet(VerbsCommon.New, "CrmSyncIdentity", DefaultParameterSetName = ClientSecretSet, SupportsShouldProcess = true)]
[OutputType(typeof(CrmSyncIdentity))]
public sealed class NewCrmSyncIdentityCommand : CrmSyncCmdlet
{
    private const string ClientSecretSet = "ClientSecret";
    private const string CertificateFileSet = "CertificateFile";
    private const string CertificateThumbprintSet = "CertificateThumbprint";
    private const string ManagedIdentitySet = "ManagedIdentity";

    /// <summary>Application (client) id of the app registration (or of a user-assigned managed identity).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ClientSecretSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CertificateFileSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CertificateThumbprintSet)]
    [Parameter(ParameterSetName = ManagedIdentitySet)]
    [ValidateNotNullOrEmpty]
    public string? ClientId { get; set; }

    /// <summary>Client secret of the app registration.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ClientSecretSet)]
    [ValidateNotNull]
    public SecureString? ClientSecret { get; set; }

    /// <summary>PFX file with the app registration's certificate and private key.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CertificateFileSet)]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file.</summary>
    [Parameter(ParameterSetName = CertificateFileSet)]
    [ValidateNotNull]
    public SecureString? CertificatePassword { get; set; }

    /// <summary>Thumbprint of a certificate in the CurrentUser or LocalMachine "My" store (Windows).</summary>
    [Parameter(Mandatory = true, ParameterSetName = CertificateThumbprintSet)]
    [ValidateNotNullOrEmpty]
    public string? CertificateThumbprint { get; set; }

    /// <summary>A managed identity of the Azure resource running the session: system-assigned, or user-assigned with -ClientId.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
    public SwitchParameter ManagedIdentity { get; set; }

    protected override void ProcessRecord()
    {
        if (ClientId is not null)
        {
            try
            {
                _ = ParseClientId(ClientId, nameof(ClientId));
            }
            catch (CrmSyncException ex)
            {
                WriteEngineError(ex);
                return;
            }
        }

        if (CertificatePath is not null && !File.Exists(GetUnresolvedProviderPathFromPSPath(CertificatePath)))
        {
            WriteEngineError(new CrmSyncException("CertificateNotFound", CrmSyncErrorKind.ObjectNotFound,
                $"The certificate file '{CertificatePath}' for application {ClientId} does not exist. Give the path of the PFX (or PEM) file with its private key.", CertificatePath));
            return;
        }

        var credential = ApplicationCredential(ManagedIdentity, ClientSecret, CertificatePath, CertificatePassword, CertificateThumbprint) with { ClientId = ClientId };
        // Nothing outside this session changes; -WhatIf still only says what would be described.
        if (ShouldProcess(credential.IdentityDisplay, "Describe an integration identity for Connect-CrmSync -IntegrationIdentity"))
        {
            WriteObject(new CrmSyncIdentity(credential));
        }
    }
}
