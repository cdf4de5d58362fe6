#Requires -Version 7.4
<#
.SYNOPSIS
    Runs tests/pester against the built module with the Pester restored from NuGet, and writes the counts to
    -ResultPath as JSON ({ Passed, Failed, Skipped }). build.ps1 -Task Test starts it in a child pwsh, so the module's
    assemblies are loaded fresh and released at the end.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $ResultPath,
    [Parameter(Mandatory)] [string] $PackageRepository
)

$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force

# The tests import the module from here, and keep every default state file out of the user's profile.
$env:CRMSYNC_MODULE_MANIFEST = (Resolve-Path $ModuleManifest).Path
$env:CRMSYNC_PACKAGE_REPOSITORY = (Resolve-Path $PackageRepository).Path
$stateDir = Join-Path ([IO.Path]::GetTempPath()) "crmsync-pester-$([guid]::NewGuid().ToString('N'))"
$env:CRMSYNC_STATE_DIR = $stateDir

$configuration = New-PesterConfiguration
$configuration.Run.Path = $TestPath
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $configuration

[pscustomobject]@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content -LiteralPath $ResultPath
Remove-Item $stateDir -Recurse -Force -ErrorAction SilentlyContinue
