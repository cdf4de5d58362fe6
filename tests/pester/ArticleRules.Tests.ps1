#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The rules of the two Business Central articles CrmSync follows ("Setting up user accounts for integrating with
# Dynamics 365 Sales" and "Synchronize table mappings manually"), as an admin following them meets them in pwsh
# against the sandbox. Each Describe is one rule; about_CrmSync quotes them.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop

    function Get-AdminCheck { Test-IntegrationSetup @args | Where-Object Area -eq 'Admin' }

    # A Dataverse user's business unit role, by name, as the role ids differ per business unit.
    function Add-SandboxRole($Sandbox, [string] $UserPrincipalName, [string] $RoleName) {
        $user = (Invoke-SandboxApi $Sandbox Dataverse "systemusers?`$select=systemuserid,_businessunitid_value&`$filter=domainname eq '$UserPrincipalName'").value[0]
        $role = (Invoke-SandboxApi $Sandbox Dataverse "roles?`$select=roleid&`$filter=name eq '$RoleName' and _businessunitid_value eq $($user._businessunitid_value)").value[0]
        $null = Invoke-SandboxApi $Sandbox Dataverse "systemusers($($user.systemuserid))/systemuserroles_association/`$ref" -Method Post -Body @{
            '@odata.id' = $Sandbox.DataverseUrl + "/api/data/v9.2/roles($($role.roleid))"
        }
    }
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'Rule 1: the admin is administrator, System Customizer and holds a non-admin role' {
    BeforeAll {
        $script:Rule1 = Start-ConnectedSandbox -Name Rule1
    }

    AfterAll {
        Stop-ConnectedSandbox $Rule1
    }

    It 'signed in as an application, asks for the admin person by -UserPrincipalName and changes nobody''s roles' {
        # The connection signs in as the sandbox's setup application: its own application user is never the admin account.
        $setupUser = (Invoke-SandboxApi $Rule1 Dataverse 'WhoAmI').UserId
        $rolesBefore = @((Invoke-SandboxApi $Rule1 Dataverse "systemusers($setupUser)/systemuserroles_association?`$select=name").value.name | Sort-Object)
        $check = Get-AdminCheck
        ($check | ForEach-Object { "$($_.Check)=$($_.Status)" }) -join '; ' | Should -Be 'Is named=Fail'
        $check.Fix | Should -Be 'Grant-IntegrationAdminRole -UserPrincipalName <the admin''s sign-in name>'

        { Grant-IntegrationAdminRole -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AdminUserRequired,CrmSync.PowerShell.Cmdlets.Accounts.GrantIntegrationAdminRoleCommand' -ExpectedMessage '*-UserPrincipalName*'
        @((Invoke-SandboxApi $Rule1 Dataverse "systemusers($setupUser)/systemuserroles_association?`$select=name").value.name | Sort-Object) | Should -Be $rolesBefore
    }

    It 'checks each of the three separately, and Grant-IntegrationAdminRole adds only what is missing' {
        # The sandbox's administrator (a person) holds System Administrator only.
        $before = Get-AdminCheck -AdminUserPrincipalName $Rule1.AdminUserName
        ($before | Where-Object Check -eq 'Is administrator (System Administrator)').Status | Should -Be 'Pass'
        ($before | Where-Object Check -eq 'Holds System Customizer').Status | Should -Be 'Fail'
        ($before | Where-Object Check -eq 'Holds a non-admin role (e.g. Sales Manager)').Status | Should -Be 'Fail'

        $granted = Grant-IntegrationAdminRole $Rule1.AdminUserName -Confirm:$false
        ($granted.Roles | Sort-Object) -join ', ' | Should -Be 'Sales Manager, System Administrator, System Customizer'
        # The checklist now checks that person without being told again.
        $after = Get-AdminCheck
        @($after.Target | Select-Object -Unique) | Should -Be @($Rule1.AdminUserName)
        $after | Where-Object Status -ne 'Pass' | Should -BeNullOrEmpty
    }

    It 'licenses an admin who is not a Sales user yet with -AssignLicense, then grants the three roles' {
        $null = Invoke-SandboxApi $Rule1 Graph 'users' -Method Post -Token (Get-SandboxToken $Rule1 Graph) -Body @{
            accountEnabled = $true; displayName = 'New Admin'; mailNickname = 'newadmin'; userPrincipalName = 'newadmin@contoso.com'
            passwordProfile = @{ password = 'Sandbox-New-1!x'; forceChangePasswordNextSignIn = $true }
        }
        { Grant-IntegrationAdminRole newadmin@contoso.com -Confirm:$false -ErrorAction Stop } | Should -Throw '*-AssignLicense*'

        $granted = Grant-IntegrationAdminRole newadmin@contoso.com -AssignLicense -UsageLocation US -TimeoutSeconds 60 -Confirm:$false
        ($granted.Steps | ForEach-Object { "$($_.Name)=$($_.Outcome)" }) -join '; ' | Should -Be 'Assign the license=Done; Wait for the user in Dataverse=Done; Admin roles=Done'
        ($granted.Roles | Sort-Object) -join ', ' | Should -Be 'Sales Manager, System Administrator, System Customizer'
        Get-AdminCheck -AdminUserPrincipalName newadmin@contoso.com | Where-Object Status -ne 'Pass' | Should -BeNullOrEmpty
    }

    It 'fails a user who holds only System Customizer and Salesperson, and grants System Administrator alone' {
        Add-SandboxRole $Rule1 'olivia@contoso.com' 'System Customizer'
        $before = Get-AdminCheck -AdminUserPrincipalName olivia@contoso.com
        ($before | Where-Object Check -eq 'Is administrator (System Administrator)').Status | Should -Be 'Fail'
        ($before | Where-Object Check -eq 'Holds System Customizer').Status | Should -Be 'Pass'
        ($before | Where-Object Check -eq 'Holds a non-admin role (e.g. Sales Manager)').Status | Should -Be 'Pass'

        $granted = Grant-IntegrationAdminRole olivia@contoso.com -Confirm:$false
        $granted.Steps[0].Detail | Should -Match 'System Administrator'
        $granted.Steps[0].Detail | Should -Not -Match 'Sales Manager'
        ($granted.Roles | Sort-Object) -join ', ' | Should -Be 'Salesperson, System Administrator, System Customizer'
        Get-AdminCheck -AdminUserPrincipalName olivia@contoso.com | Where-Object Status -ne 'Pass' | Should -BeNullOrEmpty
    }
}

Describe 'Rule 2: synchronization never writes as the administrator' {
    BeforeAll {
        $script:Rule2 = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $script:Rule2State = Join-Path $TestDrive 'rule2.db'
    }

    AfterAll {
        Stop-ConnectedSandbox $Rule2
    }

    It 'refuses to synchronize without an integration identity, naming the fix' {
        $Rule2 | Connect-CrmSync -Name Rule2 -StatePath $Rule2State -NoIntegrationIdentity
        { Sync-ModifiedRecord -ErrorAction Stop } |
            Should -Throw -ErrorId 'SyncIdentityMissing,CrmSync.PowerShell.Cmdlets.Sync.SyncModifiedRecordCommand'
        { Sync-ModifiedRecord -ErrorAction Stop } | Should -Throw '*-IntegrationClientId*'
        $check = Test-IntegrationSetup | Where-Object Check -eq 'Synchronization writes as the integration identity'
        $check.Status | Should -Be 'Fail'
        @(Get-IntegrationSyncJob).Count | Should -Be 0
    }

    It 'warns at connect and refuses until the integration identity has its Dataverse user, then writes as it' {
        $Rule2 | Connect-CrmSync -Name Rule2 -StatePath $Rule2State -WarningVariable connectWarnings -WarningAction SilentlyContinue
        ($connectWarnings -join ' ') | Should -Match 'integration identity .* cannot use Dataverse yet'
        (Get-CrmSyncConnection).SyncIdentity | Should -Be "application $($Rule2.IntegrationAppClientId)"
        { Invoke-FullSync -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'SyncIdentityNotReady,CrmSync.PowerShell.Cmdlets.Sync.InvokeFullSyncCommand'
        (Test-IntegrationSetup | Where-Object Check -eq 'Synchronization writes as the integration identity').Fix |
            Should -Be "New-IntegrationUser -ApplicationId $($Rule2.IntegrationAppClientId)"

        $user = New-IntegrationUser -ApplicationId $Rule2.IntegrationAppClientId -Confirm:$false
        $checklist = Test-IntegrationSetup
        ($checklist | Where-Object Check -eq 'Synchronization writes as the integration identity').Status | Should -Be 'Pass'
        # Business Central side: the integration identity reads each table the mappings use.
        $bc = @($checklist | Where-Object Area -eq 'Business Central')
        ($bc.Target | Sort-Object) -join ', ' | Should -Be 'contacts, currencies, customers, salespeoplePurchasers, vendors'
        $bc.Check | Select-Object -Unique | Should -Be 'Integration identity can use'
        $bc | Where-Object Status -ne 'Pass' | Should -BeNullOrEmpty
        $jobs = Invoke-FullSync -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0

        # The accounts CrmSync wrote carry the integration application user; none carries the setup identity (the admin).
        $coupled = (Get-IntegrationCoupling CUSTOMER).DataverseId
        $writers = foreach ($id in $coupled) { (Invoke-SandboxApi $Rule2 Dataverse "accounts($id)?`$select=_modifiedby_value")._modifiedby_value }
        $writers | Should -Contain "$($user.SystemUserId)"
        $writers | Should -Not -Contain "$((Get-CrmSyncConnection).DataverseUserId)"
    }

    It 'refuses an integration identity that holds System Administrator' {
        # The setup application (System Administrator) given as the integration identity.
        $secret = ConvertTo-SecureString $Rule2.SetupAppClientSecret -AsPlainText -Force
        $Rule2 | Connect-CrmSync -Name Rule2 -StatePath $Rule2State -IntegrationClientId "$($Rule2.SetupAppClientId)" -IntegrationClientSecret $secret
        { Sync-ModifiedRecord -ErrorAction Stop } |
            Should -Throw -ErrorId 'SyncIdentityIsAdministrator,CrmSync.PowerShell.Cmdlets.Sync.SyncModifiedRecordCommand'
    }
}

Describe 'Rules 3-5: the integration identity''s changes are not synchronized back; it is never a salesperson; conflicts become skipped' {
    BeforeAll {
        $script:Rule3 = Start-ConnectedSandbox -Name Rule3 -IntegrationUser
        $null = Invoke-FullSync -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        $script:IntegrationToken = Get-SandboxToken $Rule3 Dataverse -ClientId $Rule3.IntegrationAppClientId -ClientSecret $Rule3.IntegrationAppClientSecret
        $script:OliviaToken = Get-SandboxToken $Rule3 Dataverse -UserName 'olivia@contoso.com' -Password 'Sandbox-User-1!'
    }

    AfterAll {
        Stop-ConnectedSandbox $Rule3
    }

    It 'Rule 3: a contact the integration identity edits in Dataverse stays as it is in Business Central; a person''s edit arrives' {
        $couplings = @(Get-IntegrationCoupling CONTACT)
        $byIntegration, $byPerson = $couplings[0], $couplings[1]
        $null = Invoke-SandboxApi $Rule3 Dataverse "contacts($($byIntegration.DataverseId))" -Method Patch -Body @{ telephone1 = '+1 INTUSER CONTACT' } -Token $IntegrationToken -Headers @{ 'If-Match' = '*' }
        $null = Invoke-SandboxApi $Rule3 Dataverse "contacts($($byPerson.DataverseId))" -Method Patch -Body @{ telephone1 = '+1 PERSON CONTACT' } -Token $OliviaToken -Headers @{ 'If-Match' = '*' }

        $jobs = Sync-ModifiedRecord CONTACT
        ($jobs | Where-Object Direction -eq 'FromIntegrationTable').Modified | Should -Be 1
        (Invoke-SandboxApi $Rule3 BusinessCentral "contacts($($byIntegration.BcId))").phoneNumber | Should -Not -Be '+1 INTUSER CONTACT'
        (Invoke-SandboxApi $Rule3 BusinessCentral "contacts($($byPerson.BcId))").phoneNumber | Should -Be '+1 PERSON CONTACT'
    }

    It 'Rule 3: also during a full synchronization' {
        $couplings = @(Get-IntegrationCoupling CUSTOMER)
        $byIntegration, $byPerson = $couplings[0], $couplings[2]
        $null = Invoke-SandboxApi $Rule3 Dataverse "accounts($($byIntegration.DataverseId))" -Method Patch -Body @{ telephone1 = '+1 INTUSER FULL' } -Token $IntegrationToken -Headers @{ 'If-Match' = '*' }
        $null = Invoke-SandboxApi $Rule3 Dataverse "accounts($($byPerson.DataverseId))" -Method Patch -Body @{ telephone1 = '+1 PERSON FULL' } -Token $OliviaToken -Headers @{ 'If-Match' = '*' }
        $jobs = @(Invoke-FullSync CUSTOMER -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue)
        $jobs.Direction | Should -Be 'ToIntegrationTable', 'FromIntegrationTable'
        ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0
        ($jobs | Where-Object Direction -eq 'FromIntegrationTable').Modified | Should -Be 1 -Because 'the person''s edit is the one change to carry to Business Central'
        (Invoke-SandboxApi $Rule3 BusinessCentral "customers($($byIntegration.BcId))").phoneNumber | Should -Not -Be '+1 INTUSER FULL'
        (Invoke-SandboxApi $Rule3 BusinessCentral "customers($($byPerson.BcId))").phoneNumber | Should -Be '+1 PERSON FULL'
    }

    It 'Rule 5: the integration user (application or licensed user) and the setup application are never salespeople' {
        $licensed = New-IntegrationUser bcintegration@contoso.com -UsageLocation US -Confirm:$false -WarningAction SilentlyContinue
        $licensed.Succeeded | Should -BeTrue -Because ($licensed.Steps -join '; ')
        (Invoke-SandboxApi $Rule3 Dataverse "systemusers($($licensed.SystemUserId))?`$select=isintegrationuser").isintegrationuser | Should -BeTrue

        $null = Invoke-FullSync SALESPEOPLE -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        $names = (Invoke-SandboxApi $Rule3 BusinessCentral 'salespeoplePurchasers').value.displayName
        $names | Should -Not -Contain 'Business Central Integration'
        $names | Should -Not -Contain 'CrmSync Setup'
        @($names | Where-Object { $_ -match 'bcintegration' }) | Should -BeNullOrEmpty
        # A person still becomes one: the filter is not simply "nothing".
        $names | Should -Contain 'Olivia Ordinary'
    }

    It 'Rule 4: a conflict that fails the same way twice becomes skipped, and Reset-IntegrationCoupling retries it' {
        $coupling = @(Get-IntegrationCoupling CUSTOMER)[1]
        Set-IntegrationTableMapping CUSTOMER -UpdateConflictResolution None -Confirm:$false
        $bc = Invoke-SandboxApi $Rule3 BusinessCentral "customers($($coupling.BcId))"
        $null = Invoke-SandboxApi $Rule3 BusinessCentral "customers($($coupling.BcId))" -Method Patch -Body @{ phoneNumber = '+1 BC SIDE' } -Headers @{ 'If-Match' = $bc.'@odata.etag' }
        $null = Invoke-SandboxApi $Rule3 Dataverse "accounts($($coupling.DataverseId))" -Method Patch -Body @{ telephone1 = '+1 DATAVERSE SIDE' } -Token $OliviaToken -Headers @{ 'If-Match' = '*' }

        $first = Sync-ModifiedRecord CUSTOMER -ErrorAction SilentlyContinue -ErrorVariable firstErrors
        ($first | Measure-Object Failed -Sum).Sum | Should -BeGreaterThan 0
        @($firstErrors | Where-Object { $_.FullyQualifiedErrorId -like 'SyncRecordFailed,*' }).Count | Should -BeGreaterThan 0
        (Get-IntegrationCoupling CUSTOMER | Where-Object BcId -eq $coupling.BcId).Skipped | Should -BeFalse

        $second = Sync-ModifiedRecord CUSTOMER -ErrorAction SilentlyContinue
        (Get-IntegrationCoupling CUSTOMER | Where-Object BcId -eq $coupling.BcId).Skipped | Should -BeTrue
        $third = Sync-ModifiedRecord CUSTOMER -ErrorAction SilentlyContinue -ErrorVariable thirdErrors
        ($third | Measure-Object Skipped -Sum).Sum | Should -BeGreaterThan 0
        ($third | Measure-Object Failed -Sum).Sum | Should -Be 0

        Get-IntegrationCoupling CUSTOMER -FailedOnly | Where-Object BcId -eq $coupling.BcId | Reset-IntegrationCoupling -Confirm:$false
        (Get-IntegrationCoupling CUSTOMER | Where-Object BcId -eq $coupling.BcId).Skipped | Should -BeFalse
        # Resolved by policy this time: BC wins, the record synchronizes.
        Set-IntegrationTableMapping CUSTOMER -UpdateConflictResolution SendUpdateToIntegration -Confirm:$false
        $retried = Sync-ModifiedRecord CUSTOMER
        ($retried | Measure-Object Failed -Sum).Sum | Should -Be 0
        (Invoke-SandboxApi $Rule3 Dataverse "accounts($($coupling.DataverseId))?`$select=telephone1").telephone1 | Should -Be '+1 BC SIDE'
    }
}

Describe 'Rule 6: the full synchronization asks before it starts, and at the end defaults to No' {
    BeforeAll {
        $script:Rule6 = Start-ConnectedSandbox -Name Rule6 -IntegrationUser
        Disconnect-CrmSync
        $script:Rule6Connect = "Import-Module '$Manifest'; Connect-CrmSync -SandboxUrl '$($Rule6.BaseUrl)' -StatePath '$(Join-Path $TestDrive 'rule6.db')'"
    }

    AfterAll {
        $Rule6 | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'declining the confirmation at the start runs nothing' {
        $out = Invoke-InteractiveChildPwsh -Answers 'n' -Command "$Rule6Connect; Invoke-FullSync -KeepCreatingNewRecords `$false -WarningAction SilentlyContinue; 'jobs: ' + @(Get-IntegrationSyncJob).Count" 2>&1
        ($out -join "`n") | Should -Match 'Full synchronization: create and couple'
        ($out -join "`n") | Should -Match 'jobs: 0'
    }

    It 'the closing question defaults to No: Enter keeps "Synch. Only Coupled Records"' {
        $out = Invoke-InteractiveChildPwsh -Answers '' -Command "$Rule6Connect; `$null = Invoke-FullSync -Confirm:`$false -WarningAction SilentlyContinue; 'onlycoupled: ' + (Get-IntegrationTableMapping CUSTOMER).SynchOnlyCoupledRecords" 2>&1
        $text = $out -join "`n"
        $text | Should -Match 'Keep creating new records\?'
        $text | Should -Match 'default is "N"'
        $text | Should -Match 'onlycoupled: True'
    }

    It 'answering Yes clears it' {
        $out = Invoke-InteractiveChildPwsh -Answers 'y' -Command "$Rule6Connect; `$null = Invoke-FullSync -Confirm:`$false -WarningAction SilentlyContinue; 'onlycoupled: ' + (Get-IntegrationTableMapping CUSTOMER).SynchOnlyCoupledRecords" 2>&1
        ($out -join "`n") | Should -Match 'onlycoupled: False'
    }

    It 'with nobody to ask, a warning says what was decided and which parameter chooses otherwise' {
        $Rule6 | Connect-CrmSync -Name Rule6 -StatePath (Join-Path $TestDrive 'rule6-runbook.db') -WarningAction SilentlyContinue
        try {
            $null = Invoke-FullSync -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue
            ($warnings -join ' ') | Should -Match "keep 'Synch. Only Coupled Records'"
            ($warnings -join ' ') | Should -Match '-KeepCreatingNewRecords \$true'
            (Get-IntegrationTableMapping CUSTOMER).SynchOnlyCoupledRecords | Should -BeTrue
        }
        finally {
            Disconnect-CrmSync
        }
    }
}

Describe 'Rule 7: the job log counts as Business Central counts' {
    BeforeAll {
        $script:Rule7 = Start-ConnectedSandbox -Name Rule7 -IntegrationUser
        # Couple only what matches by name: the rest stays uncoupled, and the mapping synchronizes only coupled records.
        $null = Invoke-FullSync CURRENCY, SALESPEOPLE -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        $null = New-IntegrationCoupling CUSTOMER -MatchBased -MatchOn Name -Confirm:$false
    }

    AfterAll {
        Stop-ConnectedSandbox $Rule7
    }

    It 'uncoupled records left alone by "Synch. Only Coupled Records" are not counted as Skipped' {
        @(Invoke-SandboxApi $Rule7 BusinessCentral 'customers').value.Count | Should -BeGreaterThan @(Get-IntegrationCoupling CUSTOMER).Count
        $jobs = Sync-ModifiedRecord CUSTOMER
        ($jobs | Measure-Object Skipped -Sum).Sum | Should -Be 0
        ($jobs | Measure-Object Failed -Sum).Sum | Should -Be 0
    }

    It 'a coupling removed because its record was deleted counts as Deleted' {
        Set-IntegrationTableMapping CUSTOMER -DeletionConflictResolution RemoveCoupling -Confirm:$false
        $coupling = @(Get-IntegrationCoupling CUSTOMER)[0]
        $null = Invoke-SandboxApi $Rule7 Dataverse "accounts($($coupling.DataverseId))" -Method Delete
        $bc = Invoke-SandboxApi $Rule7 BusinessCentral "customers($($coupling.BcId))"
        $null = Invoke-SandboxApi $Rule7 BusinessCentral "customers($($coupling.BcId))" -Method Patch -Body @{ phoneNumber = '+1 AFTER DELETE' } -Headers @{ 'If-Match' = $bc.'@odata.etag' }

        $jobs = Sync-ModifiedRecord CUSTOMER
        ($jobs | Where-Object Direction -eq 'ToIntegrationTable').Deleted | Should -Be 1
        Get-IntegrationCoupling CUSTOMER | Where-Object BcId -eq $coupling.BcId | Should -BeNullOrEmpty
    }
}

Describe 'Rule 8: the Microsoft 365 "Import multiple users" CSV' {
    BeforeAll {
        $script:Rule8 = Start-ConnectedSandbox -Name Rule8
    }

    AfterAll {
        Stop-ConnectedSandbox $Rule8
    }

    It 'the template''s example rows are the admin center''s five sample users' {
        $path = Join-Path $TestDrive 'sample.csv'
        $null = New-SalespersonImportTemplate -Path $path -IncludeExample -Confirm:$false
        (Import-Csv $path).'Display Name' -join ', ' | Should -Be 'Chris Green, Ben Andrews, David Longmuir, Cynthia Carey, Melissa MacBeth'
    }

    It 'accepts the admin center''s current sentence-case headers' {
        $path = Join-Path $TestDrive 'sentence-case.csv'
        @(
            'Username,First name,Last name,Display name,Job title,Department,Office number,Office phone,Mobile phone,Fax,Alternate email address,Address,City,State or province,ZIP or postal code,Country or region'
            'ana.lopez@contoso.com,Ana,Lopez,Ana Lopez,Sales,Sales,1,,,,,,Redmond,WA,98052,United States'
        ) | Set-Content -LiteralPath $path
        $result = Import-Salesperson -Path $path -WhatIf -ErrorVariable rowErrors -ErrorAction SilentlyContinue
        $rowErrors | Should -BeNullOrEmpty
        $result.UserPrincipalName | Should -Be 'ana.lopez@contoso.com'
    }

    It 'refuses a file that is not the template and lists the headers expected' {
        $path = Join-Path $TestDrive 'wrong.csv'
        'Email,Name', 'ana@contoso.com,Ana' | Set-Content -LiteralPath $path
        { Import-Salesperson -Path $path -WhatIf -ErrorAction Stop } | Should -Throw '*Expected*User Name, First Name, Last Name, Display Name*Country or Region*'
    }
}
