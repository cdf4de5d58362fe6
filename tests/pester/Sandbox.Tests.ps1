#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Start-CrmSyncSandbox / Stop-CrmSyncSandbox from PowerShell (needs dotnet with ASP.NET Core on the PATH).

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $RepoRoot 'CrmSync.psd1') -Force -ErrorAction Stop
}

AfterAll {
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'Start-CrmSyncSandbox and Stop-CrmSyncSandbox' {
    It 'starts a sandbox that answers with the sample company, and stops it' {
        $sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        try {
            $sandbox.ProcessId | Should -BeGreaterThan 0
            $sandbox.DataverseUrl | Should -Match '^http://127\.0\.0\.1:\d+/dataverse$'
            $token = Invoke-RestMethod -Method Post -Uri $sandbox.TokenUrl -Body @{
                grant_type    = 'client_credentials'
                client_id     = "$($sandbox.SetupAppClientId)"
                client_secret = $sandbox.SetupAppClientSecret
                scope         = 'https://api.businesscentral.dynamics.com/.default'
            }
            $companies = Invoke-RestMethod -Uri ($sandbox.BusinessCentralApiUrl + 'companies') -Headers @{ Authorization = "Bearer $($token.access_token)" }
            $companies.value[0].name | Should -Be 'CRONUS USA, Inc.'
        }
        finally {
            $sandbox | Stop-CrmSyncSandbox -Confirm:$false
        }

        { Get-Process -Id $sandbox.ProcessId -ErrorAction Stop } | Should -Throw
    }

    It 'does nothing with -WhatIf' {
        Start-CrmSyncSandbox -WhatIf | Should -BeNullOrEmpty
    }

    It 'refuses to stop a process it did not start' {
        { Stop-CrmSyncSandbox -ProcessId $PID -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,CrmSync.PowerShell.Cmdlets.Sandbox.StopCrmSyncSandboxCommand'
    }
}
