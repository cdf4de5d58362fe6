#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The production path, rehearsed: an HTTPS sandbox stands in for the tenant (Start-CrmSyncSandbox -Https) and
# Connect-CrmSync signs in exactly as against Microsoft Entra ID — Azure.Identity and MSAL obtain every token. Each
# session is a child pwsh that trusts the sandbox's certificate as a developer trusts a development certificate
# (SSL_CERT_FILE), never through a switch that skips validation.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop

    # What every sign-in method must carry through: the checklist, the integration user, a full sync and a modified run.
    $script:Rehearsal = '
        $before = @(Test-IntegrationSetup @connection | Where-Object Status -eq Fail).Check
        $user = New-IntegrationUser -ApplicationId $s.IntegrationAppClientId -Confirm:$false @connection
        $full = @(Invoke-FullSync -KeepCreatingNewRecords $false -Force -WarningAction SilentlyContinue @connection)
        $modified = @(Sync-ModifiedRecord -Confirm:$false @connection)
        $c = if ($connection.Connection) { $connection.Connection } else { Get-CrmSyncConnection }
        [pscustomobject]@{
            Method = $c.AuthenticationMethod; Identity = $c.Identity; Sync = $c.SyncIdentity
            NotReadyBefore = ($before -contains "Synchronization writes as the integration identity")
            UserCreated = [bool]$user.Succeeded
            Jobs = $full.Count; Inserted = [int]($full | Measure-Object Inserted -Sum).Sum
            Failed = [int](($full + $modified) | Measure-Object Failed -Sum).Sum
            Errors = (Get-IntegrationSyncError @connection | ForEach-Object Message) -join " | "
            SignIns = Get-SignIns
        } | ConvertTo-Json -Compress -Depth 4'
}

AfterAll {
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'Every sign-in method, end to end through Azure.Identity and MSAL' {
    BeforeEach {
        $script:Tenant = Start-CrmSyncSandbox -Https -Profile Unlimited -Confirm:$false
    }

    AfterEach {
        $Tenant | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'a client secret' {
        $result = Invoke-TrustingPwsh $Tenant "
            Connect-CrmSync -Name Secret $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -ClientSecret `$Secret ``
                -IntegrationClientId `$s.IntegrationAppClientId -IntegrationClientSecret (ConvertTo-SecureString `$s.IntegrationAppClientSecret -AsPlainText -Force) -WarningAction SilentlyContinue
            `$connection = @{}
            $Rehearsal"
        $result.Method | Should -Be 'ClientSecret'
        $result.NotReadyBefore | Should -BeTrue
        $result.UserCreated | Should -BeTrue
        $result.Jobs | Should -Be 8
        $result.Inserted | Should -BeGreaterThan 0
        $result.Failed | Should -Be 0 -Because $result.Errors
        # The setup identity's tokens for the three services and the integration identity's for Dataverse and BC.
        $result.SignIns.client_secret | Should -BeGreaterOrEqual 5 -Because 'both identities obtained their tokens from the authority'
    }

    It 'a certificate file' {
        $integration = $Tenant.IntegrationApps[0]
        $result = Invoke-TrustingPwsh $Tenant "
            Connect-CrmSync -Name CertificateFile $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -CertificatePath `$s.SetupAppCertificatePath ``
                -IntegrationClientId `$s.IntegrationAppClientId -IntegrationCertificatePath '$($integration.CertificatePath)' -WarningAction SilentlyContinue
            `$connection = @{}
            $Rehearsal"
        $result.Method | Should -Be 'Certificate'
        $result.Failed | Should -Be 0 -Because $result.Errors
        $result.Jobs | Should -Be 8
        $result.SignIns.client_assertion | Should -BeGreaterOrEqual 5
        $result.SignIns.client_secret | Should -BeNullOrEmpty
    }

    It 'a certificate by thumbprint from the user''s certificate store' {
        $result = Invoke-TrustingPwsh $Tenant "
            # As an admin installs it: into the CurrentUser 'My' store, then named by its thumbprint.
            `$certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new(`$s.SetupAppCertificatePath, [string]`$null, 'PersistKeySet')
            `$store = [System.Security.Cryptography.X509Certificates.X509Store]::new('My', 'CurrentUser'); `$store.Open('ReadWrite'); `$store.Add(`$certificate)
            try {
                Connect-CrmSync -Name Thumbprint $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -CertificateThumbprint `$certificate.Thumbprint ``
                    -IntegrationClientId `$s.IntegrationAppClientId -IntegrationClientSecret (ConvertTo-SecureString `$s.IntegrationAppClientSecret -AsPlainText -Force) -WarningAction SilentlyContinue
                `$connection = @{}
                $Rehearsal
            }
            finally { `$store.Remove(`$certificate); `$store.Close() }"
        $result.Method | Should -Be 'Certificate'
        $result.Failed | Should -Be 0 -Because $result.Errors
        $result.SignIns.client_assertion | Should -BeGreaterOrEqual 3
    }

    It 'a managed identity, as Azure Automation exposes it (IDENTITY_ENDPOINT and IDENTITY_HEADER)' {
        $result = Invoke-TrustingPwsh $Tenant -Environment @{ IDENTITY_ENDPOINT = $Tenant.ManagedIdentityEndpoint; IDENTITY_HEADER = $Tenant.ManagedIdentityHeader } -Script "
            # The setup identity is a user-assigned identity (the sandbox's setup application), the integration identity the
            # system-assigned one (the sandbox's first integration application).
            Connect-CrmSync -Name Managed $TenantEndpoints -ManagedIdentity -ClientId `$s.SetupAppClientId -IntegrationManagedIdentity -WarningAction SilentlyContinue
            `$connection = @{}
            $Rehearsal"
        $result.Method | Should -Be 'ManagedIdentity'
        $result.Sync | Should -Match 'managed identity'
        $result.Failed | Should -Be 0 -Because $result.Errors
        $result.SignIns.managed_identity | Should -BeGreaterOrEqual 5
    }

    It 'a device code, approved by the admin on the sandbox''s sign-in page; the admin account is then that person' {
        $result = Invoke-TrustingPwsh $Tenant "
            `$job = Start-ThreadJob -ArgumentList '$Manifest', `$s -ScriptBlock {
                param(`$manifest, `$s)
                Import-Module `$manifest
                Connect-CrmSync -Name Device -TenantId `$s.TenantId -Environment `$s.EnvironmentName -DataverseUrl `$s.DataverseUrl -BusinessCentralUrl `$s.BusinessCentralUrl ``
                    -GraphUrl `$s.GraphUrl -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -DeviceCode ``
                    -IntegrationClientId `$s.IntegrationAppClientId -IntegrationClientSecret (ConvertTo-SecureString `$s.IntegrationAppClientSecret -AsPlainText -Force) -PassThru -WarningAction Continue
            }
            # The message with the code arrives as a warning (bounded wait: the sign-in waits for the person, not for time).
            `$code = `$null
            for (`$i = 0; `$i -lt 600 -and -not `$code -and `$job.State -in 'NotStarted', 'Running'; `$i++) {
                `$code = @(`$job.Warning | ForEach-Object { if (""`$_"" -match 'enter the code (\w+)') { `$Matches[1] } }) | Select-Object -First 1
                if (-not `$code) { Start-Sleep -Milliseconds 100 }
            }
            if (-not `$code) { throw ""No device code was shown: `$(`$job.Warning) `$(`$job.Error)"" }
            `$page = Invoke-WebRequest -Method Post -Uri (`$s.BaseUrl + 'devicelogin') -Body @{ user_code = `$code; username = `$s.AdminUserName; password = `$s.AdminPassword }
            `$connection = @{ Connection = (Receive-Job `$job -Wait -AutoRemoveJob -ErrorAction Stop | Select-Object -Last 1) }
            `$admin = Grant-IntegrationAdminRole -Confirm:`$false @connection
            `$rehearsal = & { $Rehearsal } | ConvertFrom-Json
            `$rehearsal | Add-Member Admin `$admin.User
            `$rehearsal | Add-Member Page (`$page.Content -match 'you have signed in')
            `$rehearsal | ConvertTo-Json -Compress -Depth 4"
        $result.Page | Should -BeTrue
        $result.Method | Should -Be 'DeviceCode'
        $result.Admin | Should -Be $Tenant.AdminUserName -Because 'signed in as a person, that person is the admin account'
        $result.Failed | Should -Be 0 -Because $result.Errors
        $result.SignIns.device_code | Should -Be 1 -Because 'the person approves one code; the other services sign in silently'
        $result.SignIns.refresh_token | Should -BeGreaterOrEqual 2
    }

    It 'a pool of two integration identities signing in with certificates' {
        $one, $two = $Tenant.IntegrationApps[0], $Tenant.IntegrationApps[1]
        $result = Invoke-TrustingPwsh $Tenant "
            `$pool = (New-CrmSyncIdentity -ClientId '$($one.ClientId)' -CertificatePath '$($one.CertificatePath)' -Confirm:`$false),
                     (New-CrmSyncIdentity -ClientId '$($two.ClientId)' -CertificatePath '$($two.CertificatePath)' -Confirm:`$false)
            Connect-CrmSync -Name Pool $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -ClientSecret `$Secret -IntegrationIdentity `$pool -WarningAction SilentlyContinue
            `$users = @((Get-CrmSyncConnection).SyncIdentities | New-IntegrationUser -Confirm:`$false)
            Connect-CrmSync -Name Pool $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -ClientSecret `$Secret -IntegrationIdentity `$pool -WarningAction SilentlyContinue
            `$full = @(Invoke-FullSync -KeepCreatingNewRecords `$false -Force -WarningAction SilentlyContinue)
            `$dataverse = (Invoke-RestMethod (`$s.BaseUrl + '_sandbox/statistics')).services | Where-Object { `$_.service -eq 'Dataverse' -and `$_.requests -gt 0 }
            [pscustomobject]@{
                Users = @(`$users | Where-Object Succeeded).Count; Identities = @((Get-CrmSyncConnection).SyncIdentities).Count
                Failed = [int](`$full | Measure-Object Failed -Sum).Sum; Writers = @(`$dataverse.identity).Count; SignIns = Get-SignIns
            } | ConvertTo-Json -Compress -Depth 4"
        $result.Users | Should -Be 2
        $result.Identities | Should -Be 2
        $result.Failed | Should -Be 0
        $result.Writers | Should -BeGreaterOrEqual 3 -Because 'the setup identity and both identities of the pool sent requests'
        $result.SignIns.client_assertion | Should -BeGreaterOrEqual 4
    }
}

Describe 'The runbook example signed in with a managed identity' {
    BeforeAll {
        $script:Postgres = Start-TestPostgres
        $script:RunbookTenant = Start-CrmSyncSandbox -Https -Profile Unlimited -Confirm:$false
    }

    AfterAll {
        $RunbookTenant | Stop-CrmSyncSandbox -Confirm:$false
        Stop-TestPostgres $Postgres
    }

    It 'synchronizes as the Automation account''s identity and prints its summary' {
        $state = New-TestPostgresDatabase $Postgres 'runbook_mi'
        $runbook = Join-Path $RepoRoot 'docs/examples/Invoke-CrmSyncRunbook.ps1'
        # The runbook imports CrmSync by name, as in an Automation account: the built module, as a folder named CrmSync, on PSModulePath.
        $modules = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'modules') -Force
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'CrmSync') -Target (Split-Path $Manifest) -Force
        $result = Invoke-TrustingPwsh $RunbookTenant -Environment @{ IDENTITY_ENDPOINT = $RunbookTenant.ManagedIdentityEndpoint; IDENTITY_HEADER = $RunbookTenant.ManagedIdentityHeader } -Script "
            # Set-up, once, by the admin: the managed identity's application user.
            Connect-CrmSync -Name Setup $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -ClientSecret `$Secret -StatePath (Join-Path '$TestDrive' 'setup.db') -WarningAction SilentlyContinue
            `$null = New-IntegrationUser -ApplicationId `$s.IntegrationAppClientId -Confirm:`$false
            Disconnect-CrmSync
            `$env:PSModulePath = '$modules' + [IO.Path]::PathSeparator + `$env:PSModulePath
            `$lines = & '$runbook' -StateConnectionString '$state' -TenantId `$s.TenantId -Environment `$s.EnvironmentName -DataverseUrl `$s.DataverseUrl ``
                -BusinessCentralUrl `$s.BusinessCentralUrl -GraphUrl `$s.GraphUrl
            [pscustomobject]@{ Summary = (`$lines | Where-Object { ""`$_"" -like 'CRMSYNC jobs=*' }) -join ''; Method = (Get-CrmSyncConnection).AuthenticationMethod; SignIns = Get-SignIns } | ConvertTo-Json -Compress -Depth 4"
        $result.Summary | Should -Match '^CRMSYNC jobs=\d+ .* failed=0 '
        $result.SignIns.managed_identity | Should -BeGreaterOrEqual 3
    }
}

Describe 'Connects that fail in seconds, naming the cause' {
    BeforeAll {
        $script:Broken = Start-CrmSyncSandbox -Https -Profile Unlimited -Confirm:$false
    }

    AfterAll {
        $Broken | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'reports each misconfiguration with its own error id and fix in under 10 s, and shows no secret' {
        $canary = 'canary-' + [guid]::NewGuid().ToString('N')
        $result = Invoke-TrustingPwsh $Broken "
            `$wrongCertificate = `$s.IntegrationApps[1].CertificatePath
            `$unlisted = `$s.IntegrationApps[1]
            `$base = @{ TenantId = `$s.TenantId; Environment = `$s.EnvironmentName; DataverseUrl = `$s.DataverseUrl; BusinessCentralUrl = `$s.BusinessCentralUrl
                       GraphUrl = `$s.GraphUrl; AuthorityHost = `$s.AuthorityHost; ClientId = `$s.SetupAppClientId; ClientSecret = `$Secret }
            `$cases = [ordered]@{
                'unresolvable host'        = @{ GraphUrl = 'https://graph.no-such-host.invalid/v1.0' }
                'refused port'             = @{ BusinessCentralUrl = 'https://127.0.0.1:9' }
                'wrong secret'             = @{ ClientSecret = (ConvertTo-SecureString '$canary' -AsPlainText -Force) }
                'unknown application'      = @{ ClientId = [guid]::NewGuid().ToString() }
                'unknown tenant'           = @{ TenantId = 'nosuch.onmicrosoft.com' }
                'wrong certificate'        = @{ ClientSecret = `$null; CertificatePath = `$wrongCertificate }
                'missing application user' = @{ ClientId = `$unlisted.ClientId.ToString(); ClientSecret = (ConvertTo-SecureString `$unlisted.ClientSecret -AsPlainText -Force) }
            }
            `$rows = foreach (`$name in `$cases.Keys) {
                `$parameters = `$base.Clone()
                foreach (`$key in `$cases[`$name].Keys) { if (`$null -eq `$cases[`$name][`$key]) { `$parameters.Remove(`$key) } else { `$parameters[`$key] = `$cases[`$name][`$key] } }
                `$clock = [Diagnostics.Stopwatch]::StartNew()
                try { Connect-CrmSync -Name Broken -StatePath (Join-Path '$TestDrive' 'broken.db') @parameters -ErrorAction Stop; `$id = 'connected'; `$message = '' }
                catch { `$id = `$_.FullyQualifiedErrorId.Split(',')[0]; `$message = `$_.Exception.Message + ' ' + (`$_ | Out-String) }
                [pscustomobject]@{ Case = `$name; Seconds = [math]::Round(`$clock.Elapsed.TotalSeconds, 2); ErrorId = `$id; Message = `$message }
            }
            @(`$rows) | ConvertTo-Json -Compress -Depth 3"
        $expected = [ordered]@{
            'unresolvable host' = 'HostNotFound', '-GraphUrl|URL given'; 'refused port' = 'ConnectionRefused', 'port'; 'wrong secret' = 'InvalidClientSecret', 'create a new one'
            'unknown application' = 'ApplicationNotFound', '-ClientId'; 'unknown tenant' = 'TenantNotFound', '-TenantId'
            'wrong certificate' = 'InvalidCertificate', 'Upload the certificate'; 'missing application user' = 'ApplicationUserMissing', 'Application users'
        }
        $table = ($result | ForEach-Object { "{0,-26} {1,6:N2} s  {2}" -f $_.Case, $_.Seconds, $_.ErrorId }) -join "`n"
        Write-Host $table
        foreach ($row in $result) {
            $row.ErrorId | Should -Be $expected[$row.Case][0] -Because "$($row.Case): $($row.Message)"
            $row.Message | Should -Match $expected[$row.Case][1]
            $row.Seconds | Should -BeLessThan 10 -Because "$($row.Case) must not wait for retries"
            $row.Message | Should -Not -Match $canary
        }
        @($result).Count | Should -Be 7
    }
}
