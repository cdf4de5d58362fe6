#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the CrmSync module.
.DESCRIPTION
    Works on a machine that has only the .NET SDK: `dotnet tool restore` brings the pinned PowerShell
    (.config/dotnet-tools.json), `dotnet pwsh ./build.ps1 -Task <task>` runs this script. Admins with pwsh
    can run `pwsh ./build.ps1` as well.

    Tasks:
      Build    restore and publish the cmdlets into module/ (engine and dependencies under module/Dependencies/,
               the sandbox under module/Sandbox/), write module/CrmSync.psd1 from src/CrmSync.PowerShell/CrmSync.psd1 with the version of
               Directory.Build.props, and compile docs/en-US into module/en-US (MAML and about topics).
      Test     Build and Package, then the xunit tests (dotnet test CrmSync.sln), then the Pester tests in tests/pester in a
               child pwsh with the Pester restored from NuGet. Ends with one line "N passed, N failed" over both runners;
               fails when a test failed or Pester ran no test.
      Package  Build, then publish the module with Publish-PSResource into the local file repository out/repository
               (a .nupkg that Install-PSResource installs).
      Demo     Build, then tools/Demo.ps1: the sandbox, account setup, full sync, changes on both sides, modified sync,
               the job log.
      Bench    run the benchmark programs (bench/CrmSync.Benchmarks): the sync table (every scenario at 10,000 and
               100,000 records: rec/s, the ceiling X* the limits allow, requests, 429s, memory, the one-request-per-record
               baseline) and the sandbox's own paging; -Quick is the smoke run CI does (1,000 records).
      Format   check the C# code against .editorconfig (dotnet format --verify-no-changes; CI runs it); -Fix rewrites it.
      Clean    remove the module/ build output, out/ and bin/obj folders.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo', 'Bench', 'Format', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Bench: a smoke run (1,000 records per scenario) instead of the full table (10,000 and 100,000).
    [switch] $Quick,

    # Format: rewrite the code to the style instead of only checking it.
    [switch] $Fix
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleDir = Join-Path $root 'module'
$builtManifest = Join-Path $moduleDir 'CrmSync.psd1'

function Invoke-DotNet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE." }
}

. (Join-Path $root 'tools/ChildPwsh.ps1')

function Get-PropsValue([string] $File, [string] $Name) {
    $props = [xml](Get-Content (Join-Path $root $File) -Raw)
    $node = $props.SelectSingleNode("//$Name")
    if (-not $node) { throw "$File has no <$Name>." }
    $node.InnerText.Trim()
}

function Get-NuGetPackageFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = & dotnet nuget locals global-packages --list
    if ($LASTEXITCODE -ne 0 -or "$line" -notmatch 'global-packages:\s*(.+)$') { throw "Cannot find the NuGet packages folder: $line" }
    $Matches[1].Trim()
}

function Invoke-Build {
    Invoke-DotNet restore (Join-Path $root 'CrmSync.sln')
    Invoke-DotNet publish (Join-Path $root 'src/CrmSync.PowerShell') -c $Configuration --no-restore

    # The manifest of the module folder, from its source in src/CrmSync.PowerShell, stamped with the one version.
    $version = Get-PropsValue 'Directory.Build.props' 'ModuleVersion'
    $source = Get-Content (Join-Path $root 'src/CrmSync.PowerShell/CrmSync.psd1') -Raw
    if ($source -notmatch '\{\{ModuleVersion\}\}') { throw 'src/CrmSync.PowerShell/CrmSync.psd1 must keep the {{ModuleVersion}} placeholder.' }
    Set-Content -LiteralPath $builtManifest -Value ($source -replace '\{\{ModuleVersion\}\}', $version) -NoNewline

    Invoke-ChildPwsh -File (Join-Path $root 'tools/Build-Help.ps1') -DocsPath (Join-Path $root 'docs/en-US') `
        -Manifest $builtManifest -OutputPath (Join-Path $moduleDir 'en-US')
    if ($LASTEXITCODE -ne 0) { throw "Compiling the help failed (exit code $LASTEXITCODE)." }
    Write-Host "Built CrmSync $version into $moduleDir (Import-Module $builtManifest)"
}

# What the tests need beyond the .NET SDK, from the machine's package manager: the PostgreSQL server tools (a throwaway
# cluster per test run) and tmux (a real console for the Ctrl+C test). Installed when missing and this runs as root with
# apt-get (a fresh Debian machine or CI); otherwise the missing ones are named with the command that installs them.
function Install-TestPrerequisite {
    if (-not $IsLinux) { return }
    $missing = @()
    if (-not (Get-Command tmux -ErrorAction SilentlyContinue)) { $missing += 'tmux' }
    $initdb = @(Get-ChildItem /usr/lib/postgresql/*/bin/initdb -ErrorAction SilentlyContinue) + @(Get-Command initdb -ErrorAction SilentlyContinue)
    if ($initdb.Count -eq 0) { $missing += 'postgresql' }
    if ($missing.Count -eq 0) { return }
    $aptGet = Get-Command apt-get -ErrorAction SilentlyContinue
    if (-not $aptGet -or (& id -u) -ne '0') {
        throw "The tests need $($missing -join ' and '): install them first (Debian: sudo apt-get install $($missing -join ' '))."
    }
    Write-Host "Installing what the tests need: $($missing -join ', ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get update -qq
    & apt-get install -y -qq --no-install-recommends @missing
    if ($LASTEXITCODE -ne 0) { throw "apt-get could not install $($missing -join ' and ')." }
}

function Invoke-Test {
    Install-TestPrerequisite
    Invoke-Build
    # Pester installs this package to prove the installed layout works, not only the repository's.
    Publish-ModulePackage
    $results = Join-Path ([IO.Path]::GetTempPath()) "crmsync-test-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $results

    & dotnet test (Join-Path $root 'CrmSync.sln') -c $Configuration --no-restore --logger trx --results-directory (Join-Path $results 'xunit')
    $xunitExit = $LASTEXITCODE
    $xunit = @{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($trx in Get-ChildItem (Join-Path $results 'xunit') -Filter *.trx -ErrorAction SilentlyContinue) {
        # -LiteralPath: two projects finishing in the same second get "name[1].trx", which -Path reads as a wildcard.
        $counters = ([xml](Get-Content -LiteralPath $trx.FullName -Raw)).TestRun.ResultSummary.Counters
        $xunit.Passed += [int]$counters.passed
        $xunit.Failed += [int]$counters.failed
        $xunit.Skipped += [int]$counters.notExecuted
    }
    # A run that failed without a failing test (a build error, a crashed host) still fails.
    if ($xunitExit -ne 0 -and $xunit.Failed -eq 0) { $xunit.Failed = 1 }

    $pesterVersion = Get-PropsValue 'Directory.Packages.props' 'PesterVersion'
    $pesterManifest = Join-Path (Get-NuGetPackageFolder) "pester/$pesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $pesterManifest)) { throw "Pester $pesterVersion is not restored at $pesterManifest (dotnet restore CrmSync.sln downloads it)." }
    $pesterResult = Join-Path $results 'pester.json'
    Invoke-ChildPwsh -File (Join-Path $root 'tools/Invoke-PesterTests.ps1') -PesterManifest $pesterManifest `
        -ModuleManifest $builtManifest -TestPath (Join-Path $root 'tests/pester') -ResultPath $pesterResult `
        -PackageRepository (Join-Path $root 'out/repository')
    $pester = if (Test-Path $pesterResult) { Get-Content $pesterResult -Raw | ConvertFrom-Json } else { [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 } }

    # A skipped test is reported as skipped, never counted as passed.
    Write-Host "xunit: $($xunit.Passed) passed, $($xunit.Failed) failed, $($xunit.Skipped) skipped"
    Write-Host "Pester: $($pester.Passed) passed, $($pester.Failed) failed, $([int]$pester.Skipped) skipped"
    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed
    $skipped = $xunit.Skipped + [int]$pester.Skipped
    if ($pester.Passed + $pester.Failed -eq 0) {
        Write-Warning 'Pester ran no test.'
        $failed++
    }
    Write-Output "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Package {
    Invoke-Build
    Publish-ModulePackage
}

# The built module/ as a .nupkg in the local file repository out/repository, with PSResourceGet's Publish-PSResource.
function Publish-ModulePackage {
    $version = Get-PropsValue 'Directory.Build.props' 'ModuleVersion'
    $staging = Join-Path $root 'out/staging/CrmSync'
    $repository = Join-Path $root 'out/repository'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $staging, $repository -Force
    Copy-Item -Path (Join-Path $moduleDir '*') -Destination $staging -Recurse
    Get-ChildItem $repository -Filter "CrmSync.$version.nupkg" | Remove-Item -Force

    # PSResourceGet keeps its repository list under the user's home: register the build's file repository in a
    # throwaway home, so packaging changes nothing of the user's own configuration.
    $throwawayHome = Join-Path ([IO.Path]::GetTempPath()) "crmsync-package-home-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $throwawayHome
    $savedHome = $env:HOME
    try {
        $env:HOME = $throwawayHome
        Invoke-ChildPwsh -Command "
            `$ErrorActionPreference = 'Stop'
            Register-PSResourceRepository -Name CrmSyncBuild -Uri '$repository' -Trusted
            Publish-PSResource -Path '$staging' -Repository CrmSyncBuild"
        if ($LASTEXITCODE -ne 0) { throw "Publish-PSResource failed (exit code $LASTEXITCODE)." }
    }
    finally {
        $env:HOME = $savedHome
        Remove-Item $throwawayHome -Recurse -Force -ErrorAction SilentlyContinue
    }
    $package = Join-Path $repository "CrmSync.$version.nupkg"
    if (-not (Test-Path $package)) { throw "Publish-PSResource wrote no $package." }
    Write-Host "Packaged $package (Install-PSResource CrmSync from a repository registered at $repository)"
}

function Invoke-Demo {
    Invoke-Build
    $state = Join-Path ([IO.Path]::GetTempPath()) "crmsync-demo-$([guid]::NewGuid().ToString('N')).db"
    # A child pwsh, so the module is loaded fresh and released at the end.
    Invoke-ChildPwsh -File (Join-Path $root 'tools/Demo.ps1') -Manifest $builtManifest -StatePath $state
    if ($LASTEXITCODE -ne 0) { throw "Demo failed with exit code $LASTEXITCODE." }
}

function Invoke-Bench {
    $project = Join-Path $root 'bench/CrmSync.Benchmarks'
    if ($Quick) {
        Invoke-DotNet run -c Release --project $project -- sync --quick
        return
    }

    Invoke-DotNet run -c Release --project $project -- sync
    Invoke-DotNet run -c Release --project $project -- sandbox-seed --rows 100000
}

function Invoke-Format {
    $solution = Join-Path $root 'CrmSync.sln'
    Invoke-DotNet restore $solution
    if ($Fix) {
        Invoke-DotNet format $solution --no-restore
        return
    }

    & dotnet format $solution --verify-no-changes --no-restore
    if ($LASTEXITCODE -ne 0) { throw "The code does not follow .editorconfig (above). ./build.ps1 -Task Format -Fix rewrites it." }
    Write-Host 'The code follows .editorconfig.'
}

function Invoke-Clean {
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    foreach ($dir in @('out')) { if (Test-Path (Join-Path $root $dir)) { Remove-Item (Join-Path $root $dir) -Recurse -Force } }
    Get-ChildItem $root -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Format' { Invoke-Format }
    'Clean' { Invoke-Clean }
}
