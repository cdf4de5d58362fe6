#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# A state belongs to the one environment it was made for (tenant, Dataverse organization, Business Central environment
# and company): another is refused, naming both, until the admin picks another state or re-points this one.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop

    # Every file of a state (the database and its write-ahead log), by content.
    function Get-StateFingerprint([string] $Path) {
        @(Get-ChildItem -LiteralPath (Split-Path $Path) -Filter "$(Split-Path $Path -Leaf)*" |
            Where-Object { $_.Name -notmatch '\.(lock|owner)$' } | Sort-Object Name |
            ForEach-Object { "$($_.Name)=$((Get-FileHash -LiteralPath $_.FullName).Hash)" }) -join ';'
    }
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'A state bound to its environment' {
    It 'refuses a second sandbox on the first one''s state, naming both, and changes nothing in it' {
        $first = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $state = Join-Path $TestDrive 'first.db'
        $first | Connect-CrmSync -StatePath $state -WarningAction SilentlyContinue
        $null = New-IntegrationCoupling CURRENCY -MatchBased -MatchOn Code -Confirm:$false
        $coupled = @(Get-IntegrationCoupling CURRENCY).Count
        $coupled | Should -BeGreaterThan 0
        Disconnect-CrmSync
        $before = Get-StateFingerprint $state

        $second = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $failure = $null
        try { $second | Connect-CrmSync -StatePath $state -ErrorAction Stop -WarningAction SilentlyContinue } catch { $failure = $_ }

        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -Be 'StateBelongsToAnotherEnvironment,CrmSync.PowerShell.Cmdlets.Connection.ConnectCrmSyncCommand'
        $failure.Exception.Message | Should -Match ([regex]::Escape($first.TenantId.ToString()))
        $failure.Exception.Message | Should -Match ([regex]::Escape($second.TenantId.ToString()))
        $failure.Exception.Message | Should -Match '-RepointState'
        Get-StateFingerprint $state | Should -Be $before

        # Re-pointed on purpose: the old environment's couplings are forgotten, the mappings stay.
        $second | Connect-CrmSync -StatePath $state -RepointState -Force -WarningAction SilentlyContinue
        Get-IntegrationCoupling | Should -BeNullOrEmpty
        @(Get-IntegrationTableMapping).Count | Should -Be 5
        Disconnect-CrmSync
        $first, $second | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'gives each sandbox its own state: the README''s session runs twice in a row without a failed record' -ForEach 1, 2 {
        $sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        try {
            $sandbox | Connect-CrmSync -WarningAction SilentlyContinue
            (Get-CrmSyncConnection).StatePath | Should -Match ([regex]::Escape($sandbox.TenantId.ToString('N')))
            $null = Grant-IntegrationAdminRole $sandbox.AdminUserName -Confirm:$false
            $null = New-IntegrationUser -ApplicationId $sandbox.IntegrationAppClientId -Confirm:$false
            $imported = @(Import-Csv -LiteralPath (Join-Path $RepoRoot 'tools/SampleSalespeople.csv') | Import-Salesperson -Confirm:$false)
            @($imported | Where-Object { -not $_.Succeeded }).UserPrincipalName | Should -BeNullOrEmpty
            @(Test-IntegrationSetup | Where-Object Status -eq 'Fail').Check | Should -BeNullOrEmpty
            $null = New-IntegrationCoupling CUSTOMER -MatchBased -MatchOn Name -Confirm:$false
            $jobs = @(Invoke-FullSync -KeepCreatingNewRecords $false -Force -WarningAction SilentlyContinue)
            $jobs.Count | Should -Be 8
            ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0 -Because (Get-IntegrationSyncError | Out-String)
            $modified = @(Sync-ModifiedRecord -Confirm:$false)
            ($modified | Measure-Object Failed -Sum).Sum | Should -Be 0
        }
        finally {
            Disconnect-CrmSync -ErrorAction SilentlyContinue
            $sandbox | Stop-CrmSyncSandbox -Confirm:$false
        }
    }
}
