#
# The manifest of the built module: `./build.ps1 -Task Build` writes it into module/ as module/CrmSync.psd1,
# with {{ModuleVersion}} replaced by the <ModuleVersion> of Directory.Build.props, and packages it from there.
# Paths are relative to the module folder (module/ in the repository, CrmSync/<version>/ installed).
# The repository root's CrmSync.psd1 imports this one; a test keeps their export lists equal.
#
@{
    RootModule           = 'CrmSync.PowerShell.dll'
    # Imported before the root module: hooks the resolver that loads the engine into its own
    # AssemblyLoadContext, which Import-Module needs while it reflects over the cmdlet assembly.
    NestedModules        = @('CrmSync.PowerShell.Loader.dll')
    ModuleVersion        = '{{ModuleVersion}}'
    CompatiblePSEditions = @('Core')
    GUID                 = '5f0c3c1e-7c4e-4d5e-9a0b-3c1d2e4f6a7b'
    Author               = 'CrmSync'
    CompanyName          = 'CrmSync'
    Copyright            = '(c) CrmSync. All rights reserved.'
    Description          = 'Sets up and runs the Business Central <-> Dataverse / Dynamics 365 Sales integration: integration accounts, table mappings, full and incremental synchronization with couplings and a job log.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('CrmSync.Format.ps1xml')
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
