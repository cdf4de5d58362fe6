#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Reliability and security as an admin meets them in pwsh: faulty services, a record a service rejects, hostile CSV cells,
# passwords and secrets. Run: ./build.ps1 -Task Test

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
}

Describe 'Rehearsing unreliable services' {
    It 'starts a sandbox that fails a share of requests, and runs that a fault stopped converge when run again' {
        $faulty = Start-CrmSyncSandbox -Profile Unlimited -FaultRate 0.1 -FaultSeed 7 -Confirm:$false
        try {
            # Connecting reads only: what fails is retried.
            $faulty | Connect-CrmSync -Name Faulty -StatePath (Join-Path $TestDrive 'faulty.db') -WarningAction SilentlyContinue
            Initialize-SandboxIntegrationUser $faulty
            $stopped = 0
            for ($run = 1; $run -le 15; $run++) {
                $jobs = @(Invoke-FullSync -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue -ErrorAction SilentlyContinue -ErrorVariable runErrors)
                $failed = @($jobs | Where-Object Failed -gt 0).Count
                if ($runErrors.Count -eq 0 -and $failed -eq 0 -and $jobs.Count -eq 8) { break }
                $stopped++
            }
            $run | Should -BeLessOrEqual 15 -Because 'a full synchronization converges when it is run again'
            # The faults were real: the sandbox injected them, and they stopped or failed runs that were then run again.
            $faults = (Invoke-RestMethod ($faulty.BaseUrl + '_sandbox/statistics')).faults
            ($faults.Dataverse + $faults.BusinessCentral + $faults.Graph) | Should -BeGreaterThan 0
            $stopped | Should -BeGreaterThan 0 -Because 'at a tenth of requests failing, a run is stopped or fails records'

            # Converged: every customer coupled once, and both sides equal on the plainly mapped fields.
            $customers = @(Get-IntegrationCoupling -Name CUSTOMER)
            $customers.Count | Should -BeGreaterThan 8
            @($customers.BcId | Select-Object -Unique).Count | Should -Be $customers.Count
            @($customers.DataverseId | Select-Object -Unique).Count | Should -Be $customers.Count
            # The test reads through the same faults: a read is tried again, at most ten times.
            $read = { param($service, $path) for ($try = 1; ; $try++) { try { return Invoke-SandboxApi $faulty $service $path } catch { if ($try -ge 10) { throw } } } }
            $bc = @{}; (& $read BusinessCentral 'customers').value | ForEach-Object { $bc[$_.id] = $_ }
            $dv = @{}; (& $read Dataverse 'accounts').value | ForEach-Object { $dv[$_.accountid] = $_ }
            $fields = @{ displayName = 'name'; addressLine1 = 'address1_line1'; city = 'address1_city'; postalCode = 'address1_postalcode'; email = 'emailaddress1'; phoneNumber = 'telephone1'; website = 'websiteurl' }
            foreach ($coupling in $customers) {
                $customer = $bc["$($coupling.BcId)"]; $account = $dv["$($coupling.DataverseId)"]
                $customer | Should -Not -BeNullOrEmpty
                $account | Should -Not -BeNullOrEmpty
                foreach ($field in $fields.Keys) {
                    "$($customer.$field)" | Should -Be "$($account.($fields[$field]))" -Because "$($customer.number) $field"
                }
            }
        }
        finally {
            Disconnect-CrmSync
            $faulty | Stop-CrmSyncSandbox -Confirm:$false
        }
    }

    It 'refuses a fault rate outside 0 to 0.5' {
        { Start-CrmSyncSandbox -FaultRate 0.9 -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,CrmSync.PowerShell.Cmdlets.Sandbox.StartCrmSyncSandboxCommand'
    }
}

Describe 'A record the service rejects, bad CSV cells, passwords and secrets' {
    BeforeAll {
        $script:Sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $Sandbox | Connect-CrmSync -Name Reliability -StatePath (Join-Path $TestDrive 'reliability.db') -WarningAction SilentlyContinue
        Initialize-SandboxIntegrationUser $Sandbox
    }

    AfterAll {
        Disconnect-CrmSync
        $script:Sandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'shows a record Business Central rejects in Get-IntegrationSyncError with the service''s message, and syncs the rest' {
        $name = 'Poison Record ' + ('x' * 106)
        $null = Invoke-SandboxApi $Sandbox Dataverse 'accounts' -Method Post -Body @{ name = $name; customertypecode = 3 }
        $jobs = @(Invoke-FullSync -Confirm:$false -ErrorAction SilentlyContinue)

        $toBc = $jobs | Where-Object { $_.MappingName -eq 'CUSTOMER' -and $_.Direction -eq 'FromIntegrationTable' }
        $toBc.Failed | Should -Be 1
        $toBc.Inserted | Should -BeGreaterThan 0
        $error = @(Get-IntegrationSyncError | Where-Object { $_.SourceId -like '*Poison Record*' })
        $error.Count | Should -Be 1
        $error[0].Message | Should -Match 'must be less than or equal to 100 characters'
    }

    It 'refuses a CSV cell that is a spreadsheet formula, naming the row and the column, and creates nothing' {
        $before = Get-SandboxFootprint $Sandbox
        $rows = @([pscustomobject]@{ 'User Name' = 'formula@contoso.com'; 'Display Name' = "=cmd|' /C calc'!A0"; 'Country or Region' = 'United States' })

        $results = @($rows | Import-Salesperson -Confirm:$false -ErrorVariable rowErrors -ErrorAction SilentlyContinue)

        $results.Count | Should -Be 0
        $rowErrors.Count | Should -Be 1
        $rowErrors[0].FullyQualifiedErrorId | Should -Be 'SalespersonRowInvalid,CrmSync.PowerShell.Cmdlets.Accounts.ImportSalespersonCommand'
        $rowErrors[0].Exception.Message | Should -Match "Row 2, column 'Display Name'.*formula"
        (Get-SandboxFootprint $Sandbox | ConvertTo-Json) | Should -Be ($before | ConvertTo-Json)
    }

    It 'shows a generated password only with -ShowPassword' {
        # Both imports must succeed: a failed import would make every "not shown" check below pass for nothing.
        # Two of the sample company's salespeople who have no Entra user yet: created (with a generated password) and coupled.
        $sample = @(Import-Csv -LiteralPath (Join-Path $RepoRoot 'tools/SampleSalespeople.csv'))
        $hidden = $sample[1] | Import-Salesperson -Confirm:$false -ErrorAction Stop
        $shown = $sample[5] | Import-Salesperson -ShowPassword -Confirm:$false -ErrorAction Stop

        $hidden.Succeeded | Should -BeTrue
        $shown.Succeeded | Should -BeTrue
        $hidden.Password | Should -BeNullOrEmpty
        $shown.Password | Should -Not -BeNullOrEmpty
        ($hidden | Format-List * | Out-String) | Should -Not -Match ([regex]::Escape($shown.Password))
        # Every file of the state (the database, its write-ahead log, the owner file), not only the main file; the .lock
        # file holds no data, only the writer's exclusive lock, which keeps it from being read while connected.
        $statePath = (Get-CrmSyncConnection).StatePath
        $files = @(Get-ChildItem -LiteralPath (Split-Path $statePath) -Filter "$(Split-Path $statePath -Leaf)*" | Where-Object Extension -ne '.lock')
        @($files.Name) | Should -Contain "$(Split-Path $statePath -Leaf)-wal"
        $files.Count | Should -BeGreaterThan 0
        foreach ($file in $files) {
            [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($file.FullName)) | Should -Not -Match ([regex]::Escape($shown.Password)) -Because $file.Name
        }
    }

    It 'writes a canary secret to no stream, error record or verbose and debug message' {
        $canary = 'CANARY-5d1e-never-print'
        $secret = ConvertTo-SecureString $canary -AsPlainText -Force
        $script:CanaryFailure = $null
        $output = & {
            try {
                Connect-CrmSync -Sandbox $Sandbox -Name Canary -ClientId $Sandbox.SetupAppClientId -ClientSecret $secret `
                    -StatePath (Join-Path $TestDrive 'canary.db') -Verbose -Debug
            }
            catch { $script:CanaryFailure = $_ }
        } *>&1 | Out-String
        $failure = $script:CanaryFailure
        $failure | Should -Not -BeNullOrEmpty
        $record = ($failure | Format-List * -Force | Out-String) + ($failure.Exception | Format-List * -Force | Out-String)
        $record | Should -Match 'AADSTS7000215'
        $record | Should -Not -Match 'CANARY'
        $output | Should -Not -Match 'CANARY'
        (Get-CrmSyncConnection).Name | Should -Be 'Reliability' -Because 'a failed connect leaves the current connection as it was'
        Get-ChildItem $TestDrive -Filter 'canary.db*' | ForEach-Object { [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($_.FullName)) | Should -Not -Match 'CANARY' }
    }

    It 'creates the state file readable by its owner only' -Skip:$IsWindows {
        $mode = (Get-Item (Get-CrmSyncConnection).StatePath).UnixFileMode
        $mode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
    }
}

Describe 'Bad input to the cmdlets' {
    BeforeAll {
        $script:BadInputSandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $BadInputSandbox | Connect-CrmSync -Name BadInput -StatePath (Join-Path $TestDrive 'bad-input.db') -WarningAction SilentlyContinue
        $script:BadCsv = Join-Path $TestDrive 'bad.csv'
        Set-Content -LiteralPath $BadCsv -Value "User Name,Display Name,Country or Region`n../../etc/passwd,Someone,United States"
    }

    AfterAll {
        Disconnect-CrmSync
        $script:BadInputSandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    # Each: the command, the error id it must fail with, and text the message must hold (the input and the fix).
    It '<Case>: fails with <ErrorId>, names the input and the fix, and changes nothing' -ForEach @(
        @{ Case = 'unclosed quote in a filter'; ErrorId = 'MappingFilterInvalid'; Text = 'position 9.*single quote'
           Command = { Set-IntegrationTableMapping CUSTOMER -TableFilter "name eq 'open" -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'statement-like filter'; ErrorId = 'MappingFilterInvalid'; Text = "';' is not allowed"
           Command = { Set-IntegrationTableMapping CUSTOMER -TableFilter "name eq 'x'; DELETE customers" -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'oversized filter'; ErrorId = 'MappingFilterTooLong'; Text = '20,0\d\d characters.*at most 4,000'
           Command = { Set-IntegrationTableMapping CUSTOMER -TableFilter ("city eq '" + ('x' * 20000) + "'") -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'path-like mapping name'; ErrorId = 'MappingNotFound'; Text = "'\.\./etc/passwd'.*Get-IntegrationTableMapping"
           Command = { Set-IntegrationTableMapping -Name '../etc/passwd' -SynchOnlyCoupledRecords $true -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'quote in a mapping name'; ErrorId = 'MappingNotFound'; Text = "CUSTOMER' or 1 eq 1"
           Command = { Sync-ModifiedRecord -Name "CUSTOMER' or 1 eq 1" -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'path-like user name in a CSV'; ErrorId = 'SalespersonRowInvalid'; Text = "Row 2, column 'User Name'.*name@domain"
           Command = { Import-Salesperson -Path $BadCsv -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'missing CSV'; ErrorId = 'CsvNotFound'; Text = 'missing\.csv.*New-SalespersonImportTemplate'
           Command = { Import-Salesperson -Path (Join-Path $TestDrive '../nope/missing.csv') -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'usage location with a symbol'; ErrorId = 'ParameterArgumentValidationError'; Text = 'UsageLocation'
           Command = { Import-Salesperson -Path $BadCsv -UsageLocation 'U$' -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'a folder as the template file'; ErrorId = 'TemplateNotWritten'; Text = 'cannot be written.*a folder you can write to'
           Command = { New-SalespersonImportTemplate -Path $TestDrive -Force -ErrorAction Stop } }
        @{ Case = 'a quote in the middle of a CSV field'; ErrorId = 'CsvMalformed'; Text = 'Row 2: a quote inside an unquoted field.*double each quote'
           Command = { $p = Join-Path $TestDrive 'quote.csv'; Set-Content -LiteralPath $p -Value "User Name,Display Name`nab`"c@contoso.com,X"; Import-Salesperson -Path $p -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'a file URL as the sandbox'; ErrorId = 'SandboxUrlInvalid'; Text = 'HTTP on 127\.0\.0\.1 only'
           Command = { Get-CrmSyncSandboxStatistic -SandboxUrl 'file:///etc/passwd' -ErrorAction Stop } }
        @{ Case = 'a state file where none can be made'; ErrorId = 'StateStoreUnwritable'; Text = "/proc/crmsync/state\.db.*-StatePath in a folder you can write to"
           Command = { Connect-CrmSync -Sandbox $BadInputSandbox -Name Elsewhere -StatePath '/proc/crmsync/state.db' -ErrorAction Stop } }
        @{ Case = 'an unknown Business Central record to couple'; ErrorId = 'RecordNotFound'; Text = '^There is no Customer with id 0b5e0000-0000-4000-8000-00000000bc01 in Business Central\. Check -BcId: .*\(customers\)'
           Command = { New-IntegrationCoupling -Name CUSTOMER -BcId '0b5e0000-0000-4000-8000-00000000bc01' -DataverseId ([guid]::NewGuid()) -Confirm:$false -ErrorAction Stop } }
        @{ Case = 'an unknown Dataverse record to couple'; ErrorId = 'RecordNotFound'; Text = '^There is no account with id 0b5e0000-0000-4000-8000-00000000d001 in Dataverse\. Check -DataverseId: .*accountid'
           Command = { $bc = (Invoke-SandboxApi $BadInputSandbox BusinessCentral 'customers?$top=1').value[0].id
                New-IntegrationCoupling -Name CUSTOMER -BcId $bc -DataverseId '0b5e0000-0000-4000-8000-00000000d001' -Confirm:$false -ErrorAction Stop } }
    ) {
        $before = Get-SandboxFootprint $BadInputSandbox
        $mappings = Get-IntegrationTableMapping | ConvertTo-Json -Depth 3

        $failure = $null
        try { & $Command } catch { $failure = $_ }

        $failure | Should -Not -BeNullOrEmpty -Because "$Case must fail"
        $failure.FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        $failure.Exception.Message | Should -Match $Text
        (Get-SandboxFootprint $BadInputSandbox | ConvertTo-Json) | Should -Be ($before | ConvertTo-Json)
        (Get-IntegrationTableMapping | ConvertTo-Json -Depth 3) | Should -Be $mappings
        (Get-CrmSyncConnection).Name | Should -Be 'BadInput'
    }
}
