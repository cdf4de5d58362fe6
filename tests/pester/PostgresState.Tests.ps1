#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The state in PostgreSQL as an admin uses it: connect on a database, synchronize, move a state file into one.
# A throwaway PostgreSQL cluster is started for this file (Start-TestPostgres) and stopped after it.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
    $script:Postgres = Start-TestPostgres
    $script:PgSandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
    # The integration identity's Dataverse user, which synchronization needs, is the sandbox's: made once for every test.
    $PgSandbox | Connect-CrmSync -Name Setup -StatePath (Join-Path $TestDrive 'setup.db') -WarningAction SilentlyContinue
    Initialize-SandboxIntegrationUser $PgSandbox
    Disconnect-CrmSync
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    $PgSandbox | Stop-CrmSyncSandbox -Confirm:$false -ErrorAction SilentlyContinue
    Stop-TestPostgres $Postgres
}

Describe 'Connect-CrmSync -StateConnectionString' {
    It 'synchronizes on a PostgreSQL state; a second worker shares it, and a mapping another worker holds is skipped with a warning' {
        $database = New-TestPostgresDatabase $Postgres 'connect'
        $PgSandbox | Connect-CrmSync -Name Pg -StateConnectionString $database -WarningAction SilentlyContinue
        try {
            $connection = Get-CrmSyncConnection
            $connection.StateKind | Should -Be 'PostgreSQL'
            $connection.StatePath | Should -Match '^postgresql://127\.0\.0\.1:\d+/connect_'
            $jobs = Invoke-FullSync CURRENCY -Force -KeepCreatingNewRecords $false -Worker runbook-1 -WarningAction SilentlyContinue
            ($jobs | Measure-Object Inserted -Sum).Sum | Should -BeGreaterThan 0
            $jobs.Worker | Should -Be 'runbook-1'
            @(Get-IntegrationCoupling CURRENCY).Count | Should -Be 5

            # Another worker holds CURRENCY's lease (taken straight in the database, as a worker on another machine would).
            $db = $database -replace '.*Database=', ''
            & $Postgres.Psql -h 127.0.0.1 -p $Postgres.Port -U crmsync -d $db -c "INSERT INTO sync_lease VALUES ('CURRENCY', 'runbook-2', '2026-01-01T00:00:00.0000000Z', '2999-01-01T00:00:00.0000000Z')" | Out-Null
            $skipped = Sync-ModifiedRecord CURRENCY -Worker runbook-1 -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
            $skipped | Should -BeNullOrEmpty
            ($warnings -join ' ') | Should -Match 'runbook-2.*-LeaseWaitSeconds'

            $out = Invoke-ChildPwsh -Command "
                Import-Module '$Manifest'
                Connect-CrmSync -Name Other -StateConnectionString '$database' -ErrorAction Stop
                (Get-IntegrationSyncJob | Select-Object -First 1).Worker" 2>&1
            ($out | Select-Object -Last 1) | Should -Be 'runbook-1'
        }
        finally {
            Disconnect-CrmSync
        }
    }

    It 'refuses -StatePath and -StateConnectionString together, and a connection string that is not one, naming the fix' {
        { Connect-CrmSync -Name Both -StatePath (Join-Path $TestDrive 'x.db') -StateConnectionString 'Host=h;Database=d' -ErrorAction Stop } |
            Should -Throw -ErrorId 'StateLocationConflict,CrmSync.PowerShell.Cmdlets.Connection.ConnectCrmSyncCommand'
        $failure = $null
        try { Connect-CrmSync -Name Bad -StateConnectionString 'Database=crmsync;Password=canary-1d9c' -ErrorAction Stop } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'StateConnectionStringInvalid,*'
        $failure.Exception.Message | Should -Match 'Host='
        ($failure | Out-String) | Should -Not -Match 'canary-1d9c'
    }
}

Describe 'Copy-CrmSyncState' {
    It 'moves a state file into PostgreSQL in one go, and synchronization carries on from it' {
        $file = Join-Path $TestDrive 'to-move.db'
        $PgSandbox | Connect-CrmSync -Name Move -StatePath $file -WarningAction SilentlyContinue
        $null = Invoke-FullSync CURRENCY, SALESPEOPLE -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        $couplings = @(Get-IntegrationCoupling).Count
        $jobs = @(Get-IntegrationSyncJob).Count
        Disconnect-CrmSync
        $database = New-TestPostgresDatabase $Postgres 'moved'

        Copy-CrmSyncState -Path $file -DestinationConnectionString $database -WhatIf
        $result = Copy-CrmSyncState -Path $file -DestinationConnectionString $database -Confirm:$false

        $result.Couplings | Should -Be $couplings
        $result.Jobs | Should -Be $jobs
        $result.Destination | Should -Match '^postgresql://'
        $PgSandbox | Connect-CrmSync -Name Moved -StateConnectionString $database -WarningAction SilentlyContinue
        try {
            @(Get-IntegrationCoupling).Count | Should -Be $couplings
            @(Get-IntegrationSyncJob).Count | Should -Be $jobs
            $again = Sync-ModifiedRecord CURRENCY -Confirm:$false
            ($again | Measure-Object Inserted -Sum).Sum | Should -Be 0
        }
        finally {
            Disconnect-CrmSync
        }
        { Copy-CrmSyncState -Path $file -DestinationConnectionString $database -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'StateStoreNotEmpty,CrmSync.PowerShell.Cmdlets.Connection.CopyCrmSyncStateCommand'
    }

    It 'with -WhatIf copies nothing' {
        $file = Join-Path $TestDrive 'whatif.db'
        $PgSandbox | Connect-CrmSync -Name WhatIf -StatePath $file -WarningAction SilentlyContinue
        Disconnect-CrmSync
        $database = New-TestPostgresDatabase $Postgres 'whatif'

        $result = Copy-CrmSyncState -Path $file -DestinationConnectionString $database -WhatIf

        $result | Should -BeNullOrEmpty
        $tables = & $Postgres.Psql -h 127.0.0.1 -p $Postgres.Port -U crmsync -d ($database -replace '.*Database=', '') -tAc "SELECT count(*) FROM information_schema.tables WHERE table_name = 'coupling'"
        "$tables".Trim() | Should -Be '0'
    }
}

Describe 'The example runbook (docs/examples/Invoke-CrmSyncRunbook.ps1)' {
    BeforeAll {
        $script:Runbook = Join-Path $RepoRoot 'docs/examples/Invoke-CrmSyncRunbook.ps1'
        # The runbook imports CrmSync by name, as in an Automation account: the built module, as a folder named CrmSync, on PSModulePath.
        $modules = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'modules') -Force
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'CrmSync') -Target (Split-Path $Manifest)
        $script:ModulePath = "$modules$([IO.Path]::PathSeparator)$env:PSModulePath"
        $script:RunbookDatabase = New-TestPostgresDatabase $Postgres 'runbook'
        $PgSandbox | Connect-CrmSync -Name RunbookSetup -StateConnectionString $RunbookDatabase -WarningAction SilentlyContinue
        $null = Invoke-FullSync -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        Disconnect-CrmSync
    }

    It 'synchronizes what changed, prints its summary line and names its worker in the job log' {
        $trey = (Invoke-SandboxApi $PgSandbox Dataverse "accounts?`$select=accountid&`$filter=name eq 'Trey Research'").value[0].accountid
        $null = Invoke-SandboxApi $PgSandbox Dataverse "accounts($trey)" -Method Patch -Body @{ telephone1 = '+1 555 0199' }

        $out = Invoke-ChildPwsh -Command "
            `$env:PSModulePath = '$ModulePath'
            & '$Runbook' -SandboxUrl '$($PgSandbox.BaseUrl)' -StateConnectionString '$RunbookDatabase' -Worker runbook-test" 2>&1

        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        ($out | Where-Object { "$_" -like 'CRMSYNC jobs=*' }) | Should -Match 'modified=1 .*failed=0 .*worker=runbook-test'
        $PgSandbox | Connect-CrmSync -Name RunbookCheck -StateConnectionString $RunbookDatabase -WarningAction SilentlyContinue
        try { (Get-IntegrationSyncJob | Select-Object -First 1).Worker | Should -Be 'runbook-test' }
        finally { Disconnect-CrmSync }
    }

    It 'synchronizes as a pool of application users when given several' {
        # The sandbox's second integration application gets its Dataverse user, as an admin does once per identity.
        $PgSandbox | Connect-CrmSync -Name PoolSetup -StatePath (Join-Path $TestDrive 'pool-setup.db') -WarningAction SilentlyContinue
        try { $null = $PgSandbox.IntegrationApps[1] | New-IntegrationUser -Confirm:$false -ErrorAction Stop }
        finally { Disconnect-CrmSync }
        $trey = (Invoke-SandboxApi $PgSandbox Dataverse "accounts?`$select=accountid&`$filter=name eq 'Trey Research'").value[0].accountid
        $null = Invoke-SandboxApi $PgSandbox Dataverse "accounts($trey)" -Method Patch -Body @{ telephone1 = '+1 555 0142' }

        $out = Invoke-ChildPwsh -Command "
            `$env:PSModulePath = '$ModulePath'
            & '$Runbook' -SandboxUrl '$($PgSandbox.BaseUrl)' -StateConnectionString '$RunbookDatabase' -Worker runbook-pool -SandboxIntegrationIdentityCount 2" 2>&1

        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        ($out | Where-Object { "$_" -like 'CRMSYNC jobs=*' }) | Should -Match 'modified=1 .*failed=0 .*worker=runbook-pool identities=2'
    }

    It 'fails the job, naming the failed record, when more records fail than allowed' {
        # Business Central refuses a name over 100 characters: this coupled account fails on its way to BC.
        $trey = (Invoke-SandboxApi $PgSandbox Dataverse "accounts?`$select=accountid&`$filter=name eq 'Trey Research'").value[0].accountid
        $null = Invoke-SandboxApi $PgSandbox Dataverse "accounts($trey)" -Method Patch -Body @{ name = 'Poison Record ' + ('x' * 106) }

        $out = Invoke-ChildPwsh -Command "
            `$env:PSModulePath = '$ModulePath'
            & '$Runbook' -SandboxUrl '$($PgSandbox.BaseUrl)' -StateConnectionString '$RunbookDatabase' -Worker runbook-test" 2>&1
        $text = $out -join "`n"

        $LASTEXITCODE | Should -Not -Be 0 -Because $text
        $text | Should -Match 'CRMSYNC jobs=.* failed=1 '
        $text | Should -Match 'CRMSYNC record: .*Poison Record.*100 characters'
        $text | Should -Match '1 records failed in this run \(allowed: 0\)'
    }
}
