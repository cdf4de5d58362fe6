#Requires -Version 7.4
<#
.SYNOPSIS
    The CrmSync demo (./build.ps1 -Task Demo): the sandbox with sample data, the account setup (admin roles,
    integration user, salespeople from the Microsoft 365 CSV, readiness checklist), the full synchronization,
    a few changes on each side, synchronizing modified records, and the job log.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Manifest,
    [Parameter(Mandatory)] [string] $StatePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module $Manifest

function Write-Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

function Get-SandboxToken([hashtable] $Body) {
    (Invoke-RestMethod -Method Post -Uri $sandbox.TokenUrl -Body $Body).access_token
}

Write-Step 'Start the sandbox (Dataverse, Business Central and Graph on 127.0.0.1) and connect'
Write-Host 'Two identities: the setup application sets up accounts; synchronization writes as the integration application,'
Write-Host 'which has no Dataverse user yet (the warning below) until New-IntegrationUser creates it.'
$sandbox = Start-CrmSyncSandbox -Profile Realistic -Confirm:$false
try {
    $sandbox | Connect-CrmSync -Name Demo -StatePath $StatePath
    Get-CrmSyncConnection | Format-List Name, Identity, SyncIdentity, DataverseUrl, CompanyName, TenantName

    Write-Step 'The readiness checklist of a fresh org'
    Test-IntegrationSetup | Format-Table

    Write-Step 'Account setup: the admin''s roles and the integration user (an application user, as BC online uses)'
    Grant-IntegrationAdminRole $sandbox.AdminUserName -Confirm:$false | Format-Table   # the person who administers BC
    New-IntegrationUser -ApplicationId $sandbox.IntegrationAppClientId -Confirm:$false | Format-List

    Write-Step 'Salespeople from the Microsoft 365 "Import multiple users" CSV: created, licensed, Salesperson role, coupled'
    # The sample company's six salespeople in the Microsoft 365 CSV (New-SalespersonImportTemplate writes the empty form).
    Import-Csv -LiteralPath (Join-Path $PSScriptRoot 'SampleSalespeople.csv') | Import-Salesperson -Confirm:$false | Format-Table

    Write-Step 'The checklist again: nothing fails'
    Test-IntegrationSetup | Format-Table

    Write-Step 'The standard mappings, in dependency order'
    Get-IntegrationTableMapping | Format-Table

    Write-Step 'Couple the customers and vendors both sides already hold, then run the full synchronization'
    New-IntegrationCoupling -Name CUSTOMER -MatchBased -MatchOn Name -Confirm:$false | Format-Table
    New-IntegrationCoupling -Name VENDOR -MatchBased -MatchOn Name -Confirm:$false | Format-Table
    Invoke-FullSync -KeepCreatingNewRecords $false -Confirm:$false | Format-Table

    Write-Step 'Change a record on each side'
    $bcToken = Get-SandboxToken @{
        grant_type = 'client_credentials'; client_id = "$($sandbox.SetupAppClientId)"; client_secret = $sandbox.SetupAppClientSecret
        scope = 'https://api.businesscentral.dynamics.com/.default'
    }
    $company = $sandbox.BusinessCentralApiUrl + "companies($($sandbox.CompanyId))"
    $customer = (Invoke-RestMethod -Uri "$company/customers?`$filter=number eq 'C10010'" -Headers @{ Authorization = "Bearer $bcToken" }).value[0]
    $null = Invoke-RestMethod -Method Patch -Uri "$company/customers($($customer.id))" -ContentType 'application/json' `
        -Body (@{ phoneNumber = '+1 555 0142' } | ConvertTo-Json) -Headers @{ Authorization = "Bearer $bcToken"; 'If-Match' = $customer.'@odata.etag' }
    Write-Host 'Business Central: customer C10010 (Trey Research) has a new phone number.'

    $dvToken = Get-SandboxToken @{
        grant_type = 'password'; username = 'olivia@contoso.com'; password = 'Sandbox-User-1!'; scope = 'https://contoso.crm.dynamics.com/.default'
    }
    $api = $sandbox.DataverseUrl + '/api/data/v9.2/'
    $account = (Invoke-RestMethod -Uri "${api}accounts?`$select=name,accountid&`$filter=name eq 'Relecloud'" -Headers @{ Authorization = "Bearer $dvToken" }).value[0]
    $null = Invoke-RestMethod -Method Patch -Uri "${api}accounts($($account.accountid))" -ContentType 'application/json' `
        -Body (@{ websiteurl = 'www.relecloud.example/new' } | ConvertTo-Json) -Headers @{ Authorization = "Bearer $dvToken"; 'If-Match' = '*' }
    Write-Host 'Dataverse: Olivia Ordinary changed the website of Relecloud.'

    Write-Step 'Synchronize modified records'
    Sync-ModifiedRecord | Format-Table

    Write-Step 'The job log'
    Get-IntegrationSyncJob -First 10 | Format-Table
    Get-IntegrationSyncError | Format-Table
}
finally {
    Disconnect-CrmSync
    $sandbox | Stop-CrmSyncSandbox -Confirm:$false
}
