#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Several application users as an admin sets them up: describe them (New-CrmSyncIdentity), connect with the pool, give
# each its Dataverse user, check them all, and synchronize with the load spread over them.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
    $script:PoolSandbox = Start-CrmSyncSandbox -Profile Unlimited -IntegrationApps 3 -Confirm:$false
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    $PoolSandbox | Stop-CrmSyncSandbox -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'New-CrmSyncIdentity' {
    It 'describes an application without ever showing its secret' {
        $secret = ConvertTo-SecureString 'canary-secret-77f1' -AsPlainText -Force
        $identity = New-CrmSyncIdentity -ClientId 11111111-2222-4333-8444-555555555555 -ClientSecret $secret
        $identity.Method | Should -Be 'ClientSecret'
        $identity.ClientId | Should -Be '11111111-2222-4333-8444-555555555555'
        ($identity | Out-String) + ($identity | Format-List * | Out-String) + ($identity | ConvertTo-Json -Depth 4) | Should -Not -Match 'canary-secret-77f1'
        (New-CrmSyncIdentity -ManagedIdentity).Identity | Should -Be 'system-assigned managed identity'
    }

    It 'reports a client id that is not one, names it, and the other identities of a loop still come out' {
        $rows = @(
            [pscustomobject]@{ ClientId = '11111111-2222-4333-8444-555555555555'; Secret = 'a' }
            [pscustomobject]@{ ClientId = 'not-a-guid'; Secret = 'b' }
            [pscustomobject]@{ ClientId = '66666666-2222-4333-8444-555555555555'; Secret = 'c' }
        )
        $identities = @($rows | ForEach-Object { New-CrmSyncIdentity $_.ClientId (ConvertTo-SecureString $_.Secret -AsPlainText -Force) -ErrorVariable +bad -ErrorAction SilentlyContinue })
        $identities.ClientId | Should -Be @('11111111-2222-4333-8444-555555555555', '66666666-2222-4333-8444-555555555555')
        $bad.Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'ClientIdInvalid,*'
        $bad[0].TargetObject | Should -Be 'not-a-guid'
        $bad[0].Exception.Message | Should -Match 'Overview page'
        New-CrmSyncIdentity -ManagedIdentity -WhatIf | Should -BeNullOrEmpty
    }

    It 'refuses a certificate file that does not exist, naming the application and the file' {
        $missing = Join-Path $TestDrive 'missing.pfx'
        New-CrmSyncIdentity -ClientId 11111111-2222-4333-8444-555555555555 -CertificatePath $missing -ErrorVariable bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'CertificateNotFound,*'
        $bad[0].Exception.Message | Should -Match '11111111-2222-4333-8444-555555555555'
    }
}

Describe 'Connect-CrmSync with a pool of integration identities' {
    AfterEach { Disconnect-CrmSync -ErrorAction SilentlyContinue }

    It 'checks every identity, names the one without its Dataverse user, and synchronizes over all of them once each has one' {
        $PoolSandbox | Connect-CrmSync -Name Pool -StatePath (Join-Path $TestDrive 'pool.db') -IntegrationIdentityCount 3 -WarningVariable warnings -WarningAction SilentlyContinue
        $connection = Get-CrmSyncConnection
        @($connection.SyncIdentities).Count | Should -Be 3
        # None of the three has its application user yet: Connect-CrmSync says so for each, with the fix.
        @($warnings | Where-Object { "$_" -match 'New-IntegrationUser -ApplicationId' }).Count | Should -Be 3

        $null = $PoolSandbox.IntegrationApps[0] | New-IntegrationUser -Confirm:$false -ErrorAction Stop
        $checks = @(Test-IntegrationSetup | Where-Object Check -eq 'Synchronization writes as the integration identity')
        $checks.Status | Should -Be @('Pass', 'Fail', 'Fail')
        $checks[1].Target | Should -Match ([regex]::Escape("$($PoolSandbox.IntegrationApps[1].ClientId)"))
        $checks[1].Fix | Should -Be "New-IntegrationUser -ApplicationId $($PoolSandbox.IntegrationApps[1].ClientId)"
        { Invoke-FullSync CURRENCY -Force -ErrorAction Stop } | Should -Throw -ErrorId 'SyncIdentityNotReady,*'

        # The pool's identities piped straight into New-IntegrationUser.
        $null = $connection.SyncIdentities | Select-Object -Skip 1 | New-IntegrationUser -Confirm:$false -ErrorAction Stop
        (Test-IntegrationSetup | Where-Object Check -eq 'Synchronization writes as the integration identity').Status | Should -Be @('Pass', 'Pass', 'Pass')
        Clear-CrmSyncSandboxStatistic -Confirm:$false
        $jobs = Invoke-FullSync -Force -WarningAction SilentlyContinue
        ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0
        ($jobs | Measure-Object Inserted -Sum).Sum | Should -BeGreaterThan 0
        $byApp = Get-CrmSyncSandboxStatistic -Service Dataverse | Where-Object Identity -like 'Business Central Integration*'
        @($byApp | Where-Object Requests -gt 0).Count | Should -Be 3 -Because 'requests go round robin over the pool'
        # What the pool wrote is the integration's own: nothing comes back.
        $again = Sync-ModifiedRecord -Confirm:$false
        ($again | Measure-Object Modified -Sum).Sum + ($again | Measure-Object Inserted -Sum).Sum | Should -Be 0
    }

    It 'takes identities from New-CrmSyncIdentity, and refuses mixing them with the single-identity parameters or asking for more than the sandbox has' {
        $pool = $PoolSandbox.IntegrationApps | Select-Object -First 2 | ForEach-Object {
            New-CrmSyncIdentity -ClientId $_.ClientId -ClientSecret (ConvertTo-SecureString $_.ClientSecret -AsPlainText -Force)
        }
        $PoolSandbox | Connect-CrmSync -Name Given -StatePath (Join-Path $TestDrive 'given.db') -IntegrationIdentity $pool -WarningAction SilentlyContinue
        (Get-CrmSyncConnection).SyncIdentities.ClientId | Should -Be @($pool.ClientId)
        Disconnect-CrmSync

        { $PoolSandbox | Connect-CrmSync -Name Mixed -StatePath (Join-Path $TestDrive 'mixed.db') -IntegrationIdentity $pool -IntegrationClientId $pool[0].ClientId -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntegrationIdentityConflict,*'
        { $PoolSandbox | Connect-CrmSync -Name Twice -StatePath (Join-Path $TestDrive 'twice.db') -IntegrationIdentity $pool[0], $pool[0] -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntegrationIdentityDuplicate,*'
        $failure = $null
        try { $PoolSandbox | Connect-CrmSync -Name TooMany -StatePath (Join-Path $TestDrive 'toomany.db') -IntegrationIdentityCount 5 -ErrorAction Stop } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'SandboxIntegrationAppsTooFew,*'
        $failure.Exception.Message | Should -Match '-IntegrationApps'
        $managed = New-CrmSyncIdentity -ManagedIdentity
        { $PoolSandbox | Connect-CrmSync -Name Managed -StatePath (Join-Path $TestDrive 'managed.db') -IntegrationIdentity $managed -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntegrationCredentialNotForSandbox,*'
    }
}
