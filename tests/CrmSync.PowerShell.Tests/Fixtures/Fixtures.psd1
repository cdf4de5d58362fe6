@{
    RootModule        = 'CrmSync.PowerShell.Tests.Fixtures.dll'
    ModuleVersion     = '0.0.1'
    # Broken on purpose: Frobnicate-Widget is missing, Get-Phantom does not exist.
    CmdletsToExport   = @(
        'Get-Widget'
        'Get-Gadget'
        'Get-Doohickey'
        'Remove-Widget'
        'Get-Sprocket'
        'Set-Gizmo'
        'Get-Phantom'
    )
}
