#
# CrmSync module manifest. Import from the repository root after `./build.ps1 -Task Build`:
#   Import-Module ./CrmSync.psd1
# ModuleVersion is stamped from Directory.Build.props by build.ps1 (a test checks they agree).
#
@{
    RootModule           = 'module/CrmSync.PowerShell.dll'
    # Imported before the root module: hooks the resolver that loads the engine into its own
    # AssemblyLoadContext, which Import-Module needs while it reflects over the cmdlet assembly.
    NestedModules        = @('module/CrmSync.PowerShell.Loader.dll')
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '5f0c3c1e-7c4e-4d5e-9a0b-3c1d2e4f6a7b'
    Author               = 'CrmSync'
    CompanyName          = 'CrmSync'
    Copyright            = '(c) CrmSync. All rights reserved.'
    Description          = 'Sets up and runs the Business Central <-> Dataverse / Dynamics 365 Sales integration: integration accounts, table mappings, full and incremental synchronization with couplings and a job log.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('module/CrmSync.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-CrmSync'
        'Disconnect-CrmSync'
        'Get-CrmSyncConnection'
        'Get-IntegrationCoupling'
        'Get-IntegrationFieldMapping'
        'Get-IntegrationSyncError'
        'Get-IntegrationSyncJob'
        'Get-IntegrationTableMapping'
        'Grant-IntegrationAdminRole'
        'Import-Salesperson'
        'Invoke-FullSync'
        'New-IntegrationCoupling'
        'New-IntegrationUser'
        'New-SalespersonImportTemplate'
        'Remove-IntegrationCoupling'
        'Reset-IntegrationCoupling'
        'Reset-IntegrationTableMapping'
        'Set-IntegrationTableMapping'
        'Start-CrmSyncSandbox'
        'Stop-CrmSyncSandbox'
        'Sync-ModifiedRecord'
        'Test-IntegrationSetup'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('BusinessCentral', 'Dataverse', 'Dynamics365', 'Sales', 'CRM', 'Sync', 'Integration', 'PSEdition_Core')
            ProjectUri = 'https://github.com/crmsync/crmsync'
            LicenseUri = 'https://github.com/crmsync/crmsync/blob/main/LICENSE'
        }
    }
    HelpInfoURI          = 'https://github.com/crmsync/crmsync/tree/main/docs/en-US'
}
