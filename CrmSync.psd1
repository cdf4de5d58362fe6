#
# CrmSync, imported from the repository root after `./build.ps1 -Task Build`:
#   Import-Module ./CrmSync.psd1
# It loads the built module folder's manifest (module/CrmSync.psd1, written from
# src/CrmSync.PowerShell/CrmSync.psd1), so help, formats and the engine's load context come from module/.
# ModuleVersion is the <ModuleVersion> of Directory.Build.props (a test checks they agree).
#
@{
    RootModule           = 'module/CrmSync.psd1'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '5f0c3c1e-7c4e-4d5e-9a0b-3c1d2e4f6a7b'
    Author               = 'CrmSync'
    CompanyName          = 'CrmSync'
    Copyright            = '(c) CrmSync. All rights reserved.'
    Description          = 'Sets up and runs the Business Central <-> Dataverse / Dynamics 365 Sales integration: integration accounts, table mappings, full and incremental synchronization with couplings and a job log.'
    PowerShellVersion    = '7.4'
    CmdletsToExport      = @(
        'Clear-CrmSyncSandboxStatistic'
        'Connect-CrmSync'
        'Copy-CrmSyncState'
        'Disconnect-CrmSync'
        'Get-CrmSyncConnection'
        'Get-CrmSyncSandboxStatistic'
        'Get-IntegrationCoupling'
        'Get-IntegrationFieldMapping'
        'Get-IntegrationSyncError'
        'Get-IntegrationSyncJob'
        'Get-IntegrationTableMapping'
        'Grant-IntegrationAdminRole'
        'Import-Salesperson'
        'Invoke-FullSync'
        'New-CrmSyncIdentity'
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
        }
    }
}
