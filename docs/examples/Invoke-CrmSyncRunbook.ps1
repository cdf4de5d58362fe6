<#
.SYNOPSIS
    A CrmSync runbook: synchronizes the modified records of every mapping, prints one summary line, and
    fails the job when records fail (so the Automation account's "job failed" alert fires).

.DESCRIPTION
    Written for Azure Automation (PowerShell 7.4 runtime, the CrmSync module imported into the account) on a
    schedule, with the Automation account's managed identity as both the setup and the integration identity,
    and the state in Azure Database for PostgreSQL so that every worker — cloud sandboxes keep no files —
    shares it. about_CrmSyncRunbooks explains the set-up. -SandboxUrl rehearses it against a CrmSync sandbox
    (the tests run it that way).

.EXAMPLE
    ./Invoke-CrmSyncRunbook.ps1 -TenantId contoso.onmicrosoft.com -Environment Production `
        -DataverseUrl https://contoso.crm.dynamics.com -StateConnectionString (Get-AutomationVariable CrmSyncState)
#>
[CmdletBinding()]
param(
    # The state every worker shares (an encrypted Automation variable; never in the script).
    [Parameter(Mandatory)] [string] $StateConnectionString,

    # Production: the tenant, the BC environment and the Dataverse environment; the managed identity signs in.
    [string] $TenantId,
    [string] $Environment,
    [string] $DataverseUrl,
    # Other clouds (or an HTTPS CrmSync sandbox, to rehearse this very path): the Business Central API and Graph base URLs.
    [uri] $BusinessCentralUrl,
    [string] $GraphUrl,
    # A user-assigned managed identity's client id; default: the account's system-assigned identity.
    [string] $ManagedIdentityClientId,
    # Several user-assigned managed identities to synchronize as, a pool: requests are spread over them, each with its
    # own service-protection limits (each needs its application user: New-IntegrationUser -ApplicationId <client id>).
    [string[]] $IntegrationManagedIdentityClientIds,

    # A rehearsal: the CrmSync sandbox at this URL instead of the tenant.
    [string] $SandboxUrl,
    # With -SandboxUrl: synchronize as a pool of the sandbox's first n integration applications.
    [int] $SandboxIntegrationIdentityCount = 0,

    # Which mappings; default: all, in dependency order.
    [string[]] $Name,
    # How this job appears in the job log; default: the Automation job's id, else the machine and process.
    [string] $Worker = ($PSPrivateMetadata.JobId.Guid ?? "$([Environment]::MachineName):$PID"),
    # Wait this long for a mapping another worker is synchronizing (0: skip it until the next run).
    [int] $LeaseWaitSeconds = 0,
    # Records that may fail before the job counts as failed.
    [int] $MaxFailedRecords = 0
)

$ErrorActionPreference = 'Stop'
Import-Module CrmSync

if ($SandboxUrl) {
    $pool = if ($SandboxIntegrationIdentityCount -gt 0) { @{ IntegrationIdentityCount = $SandboxIntegrationIdentityCount } } else { @{} }
    Connect-CrmSync -Name Runbook -SandboxUrl $SandboxUrl -StateConnectionString $StateConnectionString @pool -WarningAction SilentlyContinue
}
else {
    $identity = if ($IntegrationManagedIdentityClientIds) {
        @{ IntegrationIdentity = @($IntegrationManagedIdentityClientIds | ForEach-Object { New-CrmSyncIdentity -ManagedIdentity -ClientId $_ }) }
    }
    else { @{ IntegrationManagedIdentity = $true } }
    if ($ManagedIdentityClientId) {
        $identity.ClientId = $ManagedIdentityClientId
        if (-not $IntegrationManagedIdentityClientIds) { $identity.IntegrationClientId = $ManagedIdentityClientId }
    }
    if ($BusinessCentralUrl) { $identity.BusinessCentralUrl = $BusinessCentralUrl }
    if ($GraphUrl) { $identity.GraphUrl = $GraphUrl }
    Connect-CrmSync -Name Runbook -TenantId $TenantId -Environment $Environment -DataverseUrl $DataverseUrl `
        -ManagedIdentity @identity -StateConnectionString $StateConnectionString
}

try {
    $sync = @{ Worker = $Worker; LeaseWaitSeconds = $LeaseWaitSeconds; Confirm = $false }
    if ($Name) { $sync.Name = $Name }
    # A failed record is a non-terminating error: collect them, keep going, decide at the end.
    $jobs = @(Sync-ModifiedRecord @sync -ErrorAction SilentlyContinue -ErrorVariable recordErrors -WarningVariable skippedMappings)

    $sum = { param($property) [int](($jobs | Measure-Object $property -Sum).Sum) }
    $failed = & $sum Failed
    "CRMSYNC jobs=$($jobs.Count) inserted=$(& $sum Inserted) modified=$(& $sum Modified) deleted=$(& $sum Deleted) " +
        "skipped=$(& $sum Skipped) failed=$failed leased-elsewhere=$(@($skippedMappings).Count) worker=$Worker " +
        "identities=$(@((Get-CrmSyncConnection).SyncIdentities).Count)"
    foreach ($error in $recordErrors) { Write-Warning "CRMSYNC record: $($error.Exception.Message)" }

    if ($failed -gt $MaxFailedRecords) {
        throw "CrmSync: $failed records failed in this run (allowed: $MaxFailedRecords). Get-IntegrationSyncError lists them with the fix."
    }
}
finally {
    Disconnect-CrmSync
}
