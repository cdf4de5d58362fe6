#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The account setup cmdlets against the sandbox: template, Import-Csv | Import-Salesperson, the integration
# user and the readiness checklist (needs dotnet with ASP.NET Core on the PATH).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop

    $script:Microsoft365Headers = @(
        'User Name', 'First Name', 'Last Name', 'Display Name', 'Job Title', 'Department', 'Office Number',
        'Office Phone', 'Mobile Phone', 'Fax', 'Alternate email address', 'Address', 'City', 'State or Province',
        'ZIP or Postal Code', 'Country or Region'
    )

    # The sample company's six salespeople (Annette, Jim and Lina already have Entra users).
    $script:SampleCsv = Join-Path $RepoRoot 'tools/SampleSalespeople.csv'

}

AfterAll {
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'New-SalespersonImportTemplate' {
    It 'writes exactly the Microsoft 365 headers, in order, and nothing else' {
        $template = New-SalespersonImportTemplate -Path (Join-Path $TestDrive 'headers.csv') -Confirm:$false
        $lines = @(Get-Content -LiteralPath $template.Path)
        $lines.Count | Should -Be 1
        $lines[0].TrimStart([char]0xFEFF) | Should -BeExactly ($Microsoft365Headers -join ',')
        $template.ExampleRows | Should -Be 0
    }

    It 'adds the admin center''s five sample users with -IncludeExample' {
        $path = Join-Path $TestDrive 'example.csv'
        $template = New-SalespersonImportTemplate -Path $path -IncludeExample -Confirm:$false
        $template.ExampleRows | Should -Be 5
        $rows = @(Import-Csv -LiteralPath $path)
        $rows.Count | Should -Be 5
        ($rows.'User Name' -join ',') | Should -Be 'chris@contoso.com,ben@contoso.com,david@contoso.com,cynthia@contoso.com,melissa@contoso.com'
        ($rows.'Display Name' -join ',') | Should -Be 'Chris Green,Ben Andrews,David Longmuir,Cynthia Carey,Melissa MacBeth'
        $rows | ForEach-Object { $_.'Country or Region' | Should -Be 'United States' }
        ($rows[0].PSObject.Properties.Name -join ',') | Should -BeExactly ($Microsoft365Headers -join ',')
    }

    It 'keeps an existing file unless -Force is given' {
        $path = Join-Path $TestDrive 'kept.csv'
        Set-Content -LiteralPath $path -Value 'mine'
        { New-SalespersonImportTemplate -Path $path -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'TemplateFileExists,CrmSync.PowerShell.Cmdlets.Accounts.NewSalespersonImportTemplateCommand'
        Get-Content -LiteralPath $path | Should -Be 'mine'
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'whatif.csv'
        New-SalespersonImportTemplate -Path $path -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $path | Should -BeFalse
    }
}

Describe 'Account setup against the sandbox' {
    BeforeAll {
        $script:AccountsSandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $AccountsSandbox | Connect-CrmSync -Name PesterAccounts -StatePath (Join-Path $TestDrive 'accounts.db')
    }

    AfterAll {
        Disconnect-CrmSync
        $script:AccountsSandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    It 'fails the readiness checklist on a fresh org, naming the cmdlet that fixes each failure' {
        $checks = @(Test-IntegrationSetup)
        $failed = @($checks | Where-Object Status -eq 'Fail')
        $failed | Where-Object Area -eq 'Admin' | ForEach-Object Fix | Should -Contain 'Grant-IntegrationAdminRole -UserPrincipalName <the admin''s sign-in name>'
        @($failed | Where-Object { $_.Area -eq 'Integration user' -and $_.Fix -like 'New-IntegrationUser*' }).Count | Should -BeGreaterThan 0
        $checks | Where-Object Area -eq 'Connection' | ForEach-Object { $_.Status.ToString() | Should -Be 'Pass' }
        ($checks | Format-Table | Out-String) | Should -Match '\[FAIL\]'
    }

    It 'previews Import-Csv rows with -WhatIf: one result per row, nothing created' {
        $results = @(Import-Csv -LiteralPath $SampleCsv | Import-Salesperson -WhatIf)

        $results.Count | Should -Be 6
        ($results.RowNumber -join ',') | Should -Be '2,3,4,5,6,7'
        $debra = $results | Where-Object UserPrincipalName -eq 'debra.core@contoso.com'
        ($debra.Steps | Where-Object Name -eq 'Create the Entra user').Outcome.ToString() | Should -Be 'WouldDo'
        ($results | Where-Object UserPrincipalName -eq 'annette.hill@contoso.com').Steps[0].Outcome.ToString() | Should -Be 'AlreadyDone'
        (Test-IntegrationSetup | Where-Object { $_.Area -eq 'Salespeople' -and $_.Status -eq 'Pass' }) | Should -BeNullOrEmpty
    }

    It 'reports a bad pipeline row as an error naming the row and the column, and goes on with the good rows' {
        $rows = @(
            [pscustomobject]@{ 'User Name' = 'x@fabrikam.com'; 'Display Name' = 'Fab Rikam'; 'Country or Region' = 'United States' }
            [pscustomobject]@{ 'User Name' = 'marty.horst@contoso.com'; 'Display Name' = 'Marty Horst'; 'Country or Region' = 'United States' }
        )
        $results = @($rows | Import-Salesperson -WhatIf -ErrorVariable rowErrors -ErrorAction SilentlyContinue)

        $results.UserPrincipalName | Should -Be 'marty.horst@contoso.com'
        $rowErrors.Count | Should -Be 1
        $rowErrors[0].FullyQualifiedErrorId | Should -Be 'SalespersonRowInvalid,CrmSync.PowerShell.Cmdlets.Accounts.ImportSalespersonCommand'
        $rowErrors[0].Exception.Message | Should -Match "Row 2, column 'User Name'"
        $rowErrors[0].TargetObject.'User Name' | Should -Be 'x@fabrikam.com'
    }

    It 'refuses the admin account as integration user' {
        { New-IntegrationUser -UserPrincipalName 'admin@contoso.onmicrosoft.com' -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntegrationUserIsAdministrator,CrmSync.PowerShell.Cmdlets.Accounts.NewIntegrationUserCommand'
    }

    It 'passes the checklist after the fixes it names' {
        $admin = Grant-IntegrationAdminRole $AccountsSandbox.AdminUserName -Confirm:$false
        $admin.Roles | Should -Contain 'Sales Manager'

        $integration = New-IntegrationUser -ApplicationId $AccountsSandbox.IntegrationAppClientId -Confirm:$false
        $integration.Succeeded | Should -BeTrue
        $integration.Mode | Should -Be 'Application'
        $integration.SystemUserId | Should -Not -BeNullOrEmpty

        $imported = @(Import-Csv -LiteralPath $SampleCsv | Import-Salesperson -Confirm:$false)
        $imported.Count | Should -Be 6
        $imported | ForEach-Object { $_.Succeeded | Should -BeTrue -Because ($_.Steps -join '; ') }
        (($imported | Sort-Object SalespersonCode).SalespersonCode -join ',') | Should -Be 'AH,DC,JO,LT,MH,PS'

        $again = @(Import-Salesperson -Path $SampleCsv -Confirm:$false)
        $again.Count | Should -Be 6
        $again | ForEach-Object { ($_.Steps | ForEach-Object { $_.Outcome.ToString() }) | Should -Not -Contain 'Done' }

        Test-IntegrationSetup | Where-Object Status -eq 'Fail' | Should -BeNullOrEmpty
        Get-IntegrationCoupling -Name SALESPEOPLE | Should -HaveCount 6
    }
}
