#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the CrmSync module.
.DESCRIPTION
    Tasks:
      Build    publish the cmdlets into module/ (engine and dependencies under module/Dependencies/),
               stamp the manifest version from Directory.Build.props, compile help when platyPS is present.
      Test     Build, then `dotnet test CrmSync.sln`, then the Pester tests in tests/pester (in a child pwsh).
      Package  Build, then lay out out/CrmSync/<version>/ as an installable module and zip it.
      Demo     Build, then tools/Demo.ps1: the sandbox, full sync, changes on both sides, modified sync, the job log.
      Bench    run the benchmark programs (bench/CrmSync.Benchmarks); they print what they measured.
      Clean    remove module/ build output, out/ and bin/obj folders.
.EXAMPLE
    ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo', 'Bench', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleDir = Join-Path $root 'module'
$manifest = Join-Path $root 'CrmSync.psd1'

function Invoke-DotNet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE." }
}

function Get-ModuleVersion {
    $props = [xml](Get-Content (Join-Path $root 'Directory.Build.props') -Raw)
    $node = $props.SelectSingleNode('//ModuleVersion')
    if (-not $node) { throw 'Directory.Build.props has no <ModuleVersion>.' }
    $node.InnerText.Trim()
}

function Invoke-Build {
    Invoke-DotNet publish (Join-Path $root 'src/CrmSync.PowerShell') -c $Configuration
    $version = Get-ModuleVersion
    $text = Get-Content $manifest -Raw
    $stamped = $text -replace "(?m)^(\s*ModuleVersion\s*=\s*)'[^']*'", "`${1}'$version'"
    if ($stamped -ne $text) { Set-Content -Path $manifest -Value $stamped -NoNewline }

    $helpOut = Join-Path $moduleDir 'en-US'
    $docs = Join-Path $root 'docs/en-US'
    if (Get-Module -ListAvailable -Name Microsoft.PowerShell.PlatyPS) {
        Import-Module Microsoft.PowerShell.PlatyPS
        $null = Measure-PlatyPSMarkdown -Path (Join-Path $docs '*.md') |
            Where-Object Filetype -Match 'CommandHelp' |
            Import-MarkdownCommandHelp -Path { $_.FilePath } |
            Export-MamlCommandHelp -OutputFolder $helpOut -Force
    }
    elseif (Get-Module -ListAvailable -Name platyPS) {
        Import-Module platyPS
        $null = New-ExternalHelp -Path $docs -OutputPath $helpOut -Force
    }
    else {
        Write-Warning 'platyPS is not installed: Get-Help shows syntax only. Install-Module Microsoft.PowerShell.PlatyPS to compile docs/en-US into module help.'
    }
    Write-Host "Built CrmSync $version into $moduleDir"
}

function Invoke-Test {
    Invoke-Build
    Invoke-DotNet test (Join-Path $root 'CrmSync.sln') -c $Configuration
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -ge ([version]'5.0') | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 is not installed: skipping tests/pester (Install-Module Pester -MinimumVersion 5.0).'
        return
    }
    # A child process, so the module's assemblies are loaded fresh and released afterwards.
    $script = "Import-Module Pester -MinimumVersion 5.0; `$r = Invoke-Pester -Path '$(Join-Path $root 'tests/pester')' -Output Detailed -PassThru; exit `$r.FailedCount"
    & pwsh -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { throw "Pester: $LASTEXITCODE test(s) failed." }
}

function Invoke-Package {
    Invoke-Build
    $version = Get-ModuleVersion
    $target = Join-Path $root "out/CrmSync/$version"
    if (Test-Path $target) { Remove-Item $target -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $target
    Copy-Item -Path (Join-Path $moduleDir '*') -Destination $target -Recurse
    # The installed layout has the module files beside the manifest.
    (Get-Content $manifest -Raw) -replace "'module/", "'" | Set-Content -Path (Join-Path $target 'CrmSync.psd1') -NoNewline
    $zip = Join-Path $root "out/CrmSync.$version.zip"
    Compress-Archive -Path (Join-Path $root 'out/CrmSync') -DestinationPath $zip -Force
    Write-Host "Packaged $zip"
}

function Invoke-Demo {
    Invoke-Build
    $state = Join-Path ([IO.Path]::GetTempPath()) "crmsync-demo-$([guid]::NewGuid().ToString('N')).db"
    # A child pwsh, so the module is loaded fresh and released at the end.
    & pwsh -NoProfile -NonInteractive -File (Join-Path $root 'tools/Demo.ps1') -Manifest $manifest -StatePath $state
    if ($LASTEXITCODE -ne 0) { throw "Demo failed with exit code $LASTEXITCODE." }
}

function Invoke-Bench {
    Invoke-DotNet run -c Release --project (Join-Path $root 'bench/CrmSync.Benchmarks') -- sandbox-seed --rows 100000
}

function Invoke-Clean {
    Get-ChildItem $moduleDir -Force | Where-Object Name -NotIn 'CrmSync.Format.ps1xml', 'README.md' | Remove-Item -Recurse -Force
    foreach ($dir in @('out')) { if (Test-Path (Join-Path $root $dir)) { Remove-Item (Join-Path $root $dir) -Recurse -Force } }
    Get-ChildItem $root -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Clean' { Invoke-Clean }
}
