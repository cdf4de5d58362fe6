#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Start-CrmSyncSandbox / Stop-CrmSyncSandbox from PowerShell (needs dotnet with ASP.NET Core on the PATH).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
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

    It 'does nothing with -WhatIf: says what it would start, returns nothing and starts no process' {
        # In a fresh pwsh, so its what-if line (written to the host) is read and its child processes are its own.
        $out = Invoke-ChildPwsh -Command "
            Import-Module '$Manifest' -ErrorAction Stop
            `$result = Start-CrmSyncSandbox -Profile Unlimited -WhatIf
            'Output: ' + @(`$result).Count
            'Children: ' + @(Get-Process | Where-Object { `$_.Parent.Id -eq `$PID }).Count" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $out | Should -Contain 'What if: Performing the operation "Start the CrmSync sandbox (Unlimited limits)" on target "127.0.0.1 (a free port)".'
        $out | Should -Contain 'Output: 0'
        $out | Should -Contain 'Children: 0'
    }

    It 'refuses to stop a process it did not start' {
        { Stop-CrmSyncSandbox -ProcessId $PID -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotFound,CrmSync.PowerShell.Cmdlets.Sandbox.StopCrmSyncSandboxCommand'
    }
}

Describe 'Connect-CrmSync to the sandbox' {
    BeforeAll {
        $script:Sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
    }

    AfterAll {
        Disconnect-CrmSync
        $script:Sandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'connects from the pipeline and shows the endpoints and identity without secrets' {
        $Sandbox | Connect-CrmSync -StatePath (Join-Path $TestDrive 'sandbox.db') -WarningAction SilentlyContinue
        $connection = Get-CrmSyncConnection
        $connection.DataverseUrl | Should -Be $Sandbox.DataverseUrl
        $connection.BusinessCentralApiUrl | Should -Be $Sandbox.BusinessCentralApiUrl
        $connection.GraphUrl | Should -Be $Sandbox.GraphUrl
        $connection.CompanyName | Should -Be 'CRONUS USA, Inc.'
        $connection.Identity | Should -Match $Sandbox.SetupAppClientId
        $connection.AuthenticationMethod | Should -Be 'Sandbox'
        $shown = ($connection | Format-List * | Out-String) + ($connection | ConvertTo-Json -Depth 2 -WarningAction SilentlyContinue)
        $shown | Should -Not -Match ([regex]::Escape($Sandbox.SetupAppClientSecret))
    }

    It 'names the service that rejected the identity' {
        $wrong = ConvertTo-SecureString 'not-the-secret' -AsPlainText -Force
        { Connect-CrmSync -Sandbox $Sandbox -ClientSecret $wrong -StatePath (Join-Path $TestDrive 'wrong.db') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidClientSecret,CrmSync.PowerShell.Cmdlets.Connection.ConnectCrmSyncCommand'
    }
}

Describe 'Synchronizing the sandbox' {
    BeforeAll {
        $script:SyncSandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $SyncSandbox | Connect-CrmSync -Name PesterSync -StatePath (Join-Path $TestDrive 'sync.db') -WarningAction SilentlyContinue
        Initialize-SandboxIntegrationUser $SyncSandbox
    }

    AfterAll {
        Disconnect-CrmSync
        $script:SyncSandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'Invoke-FullSync -WhatIf lists what it would create and writes nothing' {
        # "What if:" lines go to the host, so the rehearsal runs in a child pwsh whose console output is read.
        $out = Invoke-ChildPwsh -Command "
            Import-Module '$Manifest'
            Connect-CrmSync -SandboxUrl '$($SyncSandbox.BaseUrl)' -StatePath '$(Join-Path $TestDrive 'whatif.db')'
            Invoke-FullSync -WhatIf -WarningAction SilentlyContinue
            'jobs: ' + @(Get-IntegrationSyncJob).Count + ', couplings: ' + @(Get-IntegrationCoupling).Count" 2>&1
        $text = $out -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $text
        $text | Should -Match 'What if: Performing the operation "Full synchronization: [^"]*" on target "CURRENCY, SALESPEOPLE, VENDOR, CUSTOMER, CONTACT"'
        $text | Should -Match 'What if: Performing the operation "Create transactioncurrency: [^"]*" on target "CURRENCY Currency GBP'
        $text | Should -Match 'What if: Performing the operation "Create account: [^"]*" on target "CUSTOMER Customer C10000'
        # Records that depend on what the run would create first (a customer's currency) are rehearsed, not failed.
        $text | Should -Not -Match 'must be coupled'
        # The rehearsal's own state (read back in the same child) holds no job and no coupling.
        $text | Should -Match 'jobs: 0, couplings: 0'
    }

    It 'runs a full synchronization and streams one job per mapping and direction' {
        $jobs = Invoke-FullSync -KeepCreatingNewRecords $false -Force -WarningAction SilentlyContinue
        $jobs.Count | Should -Be 8
        ($jobs | Where-Object MappingName -eq 'CUSTOMER' | Where-Object Direction -eq 'ToIntegrationTable').Inserted | Should -Be 8
        ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0
        (Get-IntegrationTableMapping CUSTOMER).SynchOnlyCoupledRecords | Should -BeTrue
    }

    It 'synchronizes one mapping from the pipeline' {
        $jobs = Get-IntegrationTableMapping CUSTOMER | Sync-ModifiedRecord
        $jobs.MappingName | Select-Object -Unique | Should -Be 'CUSTOMER'
        $jobs.Direction | Should -Be @('ToIntegrationTable', 'FromIntegrationTable')
        ($jobs | Measure-Object Inserted, Modified, Failed -Sum | Measure-Object Sum -Sum).Sum | Should -Be 0
    }

    It 'lists jobs newest first and couplings per mapping' {
        $newest = Get-IntegrationSyncJob -First 1
        $newest.MappingName | Should -Be 'CUSTOMER'
        (Get-IntegrationCoupling CURRENCY).Count | Should -Be 5
    }
}

Describe 'The sandbox''s request counters' {
    BeforeAll {
        $script:CountedSandbox = Start-ConnectedSandbox -Name Counted -IntegrationUser
    }

    AfterAll {
        Stop-ConnectedSandbox $CountedSandbox
    }

    It 'counts per service and identity, over HTTP and through Get-CrmSyncSandboxStatistic, and starts anew when cleared' {
        $CountedSandbox | Clear-CrmSyncSandboxStatistic -Confirm:$false
        $jobs = Invoke-FullSync CURRENCY -Force -KeepCreatingNewRecords $false
        $statistics = @($CountedSandbox | Get-CrmSyncSandboxStatistic)
        # Each job records what it sent; the services also saw the identity checks made before the run.
        $jobs.DataverseRequests | Should -BeGreaterThan 0
        $jobs.DataverseRequests | Should -BeLessOrEqual (($statistics | Where-Object Service -eq 'Dataverse' | Measure-Object Requests -Sum).Sum)
        $integration = $statistics | Where-Object { $_.Service -eq 'Dataverse' -and $_.Identity -eq 'Business Central Integration' }
        $integration.Requests | Should -BeGreaterThan 0
        ($integration.Endpoints.Values | Measure-Object -Sum).Sum | Should -Be $integration.Requests
        ($integration.Endpoints.Keys -join ', ') | Should -Match 'transactioncurrencies|\$batch'
        ($statistics | Where-Object Service -eq 'BusinessCentral').Requests | Should -BeGreaterThan 0
        @($statistics | Where-Object Service -eq 'Graph').Count | Should -Be 0

        # The same numbers for any HTTP client.
        $raw = Invoke-RestMethod -Uri ($CountedSandbox.BaseUrl.TrimEnd('/') + '/_sandbox/statistics')
        ($raw.services | Where-Object { $_.service -eq 'Dataverse' -and $_.displayName -eq 'Business Central Integration' }).requests | Should -Be $integration.Requests
        { Invoke-RestMethod -Method Post -Uri ($CountedSandbox.BaseUrl.TrimEnd('/') + '/_sandbox/statistics') } | Should -Throw '*405*'

        Clear-CrmSyncSandboxStatistic -Confirm:$false
        Get-CrmSyncSandboxStatistic | Should -BeNullOrEmpty
        Clear-CrmSyncSandboxStatistic -WhatIf
        $null = Get-IntegrationTableMapping
        Get-CrmSyncSandboxStatistic | Should -BeNullOrEmpty -Because 'reading mappings asks no service, and -WhatIf cleared nothing'
    }

    It 'says which sandbox it needs when there is none' {
        Disconnect-CrmSync
        { Get-CrmSyncSandboxStatistic -ErrorAction Stop } |
            Should -Throw -ErrorId 'SandboxNotGiven,CrmSync.PowerShell.Cmdlets.Sandbox.GetCrmSyncSandboxStatisticCommand'
        $CountedSandbox | Connect-CrmSync -Name Counted -StatePath (Join-Path $TestDrive 'Counted.db') -WarningAction SilentlyContinue
    }
}

Describe 'What the sandbox does not emulate' {
    BeforeAll {
        $script:PlainSandbox = Start-CrmSyncSandbox -Profile Unlimited
    }

    AfterAll {
        $PlainSandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'refuses a FetchXML query by name, as a script using Invoke-RestMethod sees it' {
        $fetch = [uri]::EscapeDataString('<fetch count="4"><entity name="contact"><attribute name="fullname"/></entity></fetch>')
        $failure = $null
        try { Invoke-SandboxApi $PlainSandbox Dataverse "contacts?fetchXml=$fetch" } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty -Because 'a 200 would look like an answer to the FetchXML query'
        [int]$failure.Exception.Response.StatusCode | Should -Be 400 -Because 'a refusal is a 4xx, which no client retries'
        ($failure.ErrorDetails.Message | ConvertFrom-Json).error.message | Should -Match 'fetchXml'
    }

    It 'applies $filter on the roles navigation instead of ignoring it' {
        $user = 'c0000000-0000-4000-8000-000000000011'
        $all = @((Invoke-SandboxApi $PlainSandbox Dataverse "systemusers($user)/systemuserroles_association?`$select=name").value)
        $none = @((Invoke-SandboxApi $PlainSandbox Dataverse "systemusers($user)/systemuserroles_association?`$select=name&`$filter=name eq 'No such role'").value)
        $all.Count | Should -BeGreaterThan 0
        $none.Count | Should -Be 0
    }

    It 'spells a blank Business Central option _x0020_ and refuses '' '' in a filter, naming the members' {
        $first = (Invoke-SandboxApi $PlainSandbox BusinessCentral 'customers?$top=1&$select=number,blocked').value[0]
        $first.blocked | Should -Be '_x0020_'
        $failure = $null
        try { Invoke-SandboxApi $PlainSandbox BusinessCentral "customers?`$filter=blocked eq ' '" } catch { $failure = $_ }
        [int]$failure.Exception.Response.StatusCode | Should -Be 400
        ($failure.ErrorDetails.Message | ConvertFrom-Json).error.message | Should -Match "'_x0020_'"
    }

    It 'serves Business Central $metadata and $expand, and refuses a navigation it does not emulate by name' {
        $token = Get-SandboxToken $PlainSandbox BusinessCentral
        [xml]$csdl = (Invoke-WebRequest -Uri ($PlainSandbox.BusinessCentralApiUrl + '$metadata') -Headers @{ Authorization = "Bearer $token" }).Content
        @($csdl.Edmx.DataServices.Schema.EntityType.Name) | Should -Contain 'customer'
        $customers = (Invoke-SandboxApi $PlainSandbox BusinessCentral 'customers?$select=number&$expand=contactsInformation($select=contactNumber),currency($select=code)').value
        $customers.Count | Should -BeGreaterThan 0
        @($customers | Where-Object { @($_.contactsInformation).Count -gt 0 }).Count | Should -BeGreaterThan 0
        @($customers | Where-Object { $_.currency.code -eq 'EUR' }).Count | Should -BeGreaterThan 0
        $failure = $null
        try { Invoke-SandboxApi $PlainSandbox BusinessCentral 'customers?$expand=salesInvoiceLines' } catch { $failure = $_ }
        [int]$failure.Exception.Response.StatusCode | Should -Be 400
        ($failure.ErrorDetails.Message | ConvertFrom-Json).error.message | Should -Match 'salesInvoiceLines'
    }

    It 'finds the users holding a license with assignedLicenses/any, as Get-MgUser -Filter would ask' {
        $users = (Invoke-SandboxApi $PlainSandbox Graph 'users?$top=999&$select=id,assignedLicenses').value
        $sku = @($users.assignedLicenses.skuId | Group-Object | Sort-Object Count)[0].Name
        $holders = @($users | Where-Object { @($_.assignedLicenses.skuId) -contains $sku })
        $filtered = @((Invoke-SandboxApi $PlainSandbox Graph "users?`$top=999&`$select=id&`$filter=assignedLicenses/any(x:x/skuId eq $sku)").value)
        $filtered.Count | Should -Be $holders.Count
        @($filtered.id | Sort-Object) | Should -Be @($holders.id | Sort-Object)
    }

    It 'reads with formatted values as Microsoft''s Web API samples ask, from the program as it ships' {
        # Start-CrmSyncSandbox runs module/Sandbox (invariant globalization): a formatted value once answered 500 there.
        $prefer = @{ Prefer = 'odata.include-annotations="*"' }
        $token = Get-SandboxToken $PlainSandbox Dataverse
        $null = Invoke-WebRequest -Method Post -Uri ($PlainSandbox.DataverseUrl + '/api/data/v9.2/accounts') -ContentType 'application/json' `
            -Body '{"name":"Formatted Ltd","creditlimit":1234567.5}' -Headers @{ Authorization = "Bearer $token" }
        $row = (Invoke-SandboxApi $PlainSandbox Dataverse "accounts?`$select=name,creditlimit,statecode,modifiedon&`$filter=name eq 'Formatted Ltd'" -Headers $prefer).value[0]
        $row.'creditlimit@OData.Community.Display.V1.FormattedValue' | Should -Be '$1,234,567.50'
        $row.'statecode@OData.Community.Display.V1.FormattedValue' | Should -Be 'Active'
        $row.'modifiedon@OData.Community.Display.V1.FormattedValue' | Should -Match '^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d (AM|PM)$'
    }

    It 'sets and clears a lookup through $ref and refuses a collection $ref by name with a 4xx' {
        $account = (Invoke-SandboxApi $PlainSandbox Dataverse 'accounts?$select=accountid&$top=1').value[0].accountid
        $contact = (Invoke-SandboxApi $PlainSandbox Dataverse 'contacts?$select=contactid&$top=1').value[0].contactid
        $reference = @{ '@odata.id' = $PlainSandbox.DataverseUrl + "/api/data/v9.2/contacts($contact)" }
        $null = Invoke-SandboxApi $PlainSandbox Dataverse "accounts($account)/primarycontactid/`$ref" -Method Put -Body $reference
        (Invoke-SandboxApi $PlainSandbox Dataverse "accounts($account)?`$select=_primarycontactid_value")._primarycontactid_value | Should -Be $contact
        $null = Invoke-SandboxApi $PlainSandbox Dataverse "accounts($account)/primarycontactid/`$ref" -Method Delete
        (Invoke-SandboxApi $PlainSandbox Dataverse "accounts($account)?`$select=_primarycontactid_value")._primarycontactid_value | Should -BeNullOrEmpty
        $failure = $null
        try { Invoke-SandboxApi $PlainSandbox Dataverse "accounts($account)/contact_customer_accounts/`$ref" -Method Post -Body $reference } catch { $failure = $_ }
        [int]$failure.Exception.Response.StatusCode | Should -Be 400
        ($failure.ErrorDetails.Message | ConvertFrom-Json).error.message | Should -Match 'contact_customer_accounts'
    }

    It 'returns the Dataverse count annotations and money with four decimals' {
        $prefer = @{ Prefer = 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"' }
        $page = Invoke-SandboxApi $PlainSandbox Dataverse 'accounts?$select=accountid&$count=true' -Headers $prefer
        $page.'@Microsoft.Dynamics.CRM.totalrecordcount' | Should -Be @($page.value).Count
        $page.'@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded' | Should -BeFalse
        $token = Get-SandboxToken $PlainSandbox Dataverse
        $created = Invoke-WebRequest -Method Post -Uri ($PlainSandbox.DataverseUrl + '/api/data/v9.2/accounts?$select=creditlimit') -ContentType 'application/json' `
            -Body '{"name":"Money Scale Ltd","creditlimit":5000000}' -Headers @{ Authorization = "Bearer $token"; Prefer = 'return=representation' }
        $created.Content | Should -Match '"creditlimit":5000000\.0000[,}]'
    }
}
