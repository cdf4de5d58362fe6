# Dot-sourced by every tests/pester file in BeforeAll: where the built module is, and state files kept out of
# the user's profile. build.ps1 -Task Test (tools/Invoke-PesterTests.ps1) sets the variables; run alone,
# after ./build.ps1 -Task Build, Invoke-Pester ./tests/pester uses the repository's module/ folder.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:Manifest = if ($env:CRMSYNC_MODULE_MANIFEST) { $env:CRMSYNC_MODULE_MANIFEST } else { Join-Path $RepoRoot 'module/CrmSync.psd1' }
if (-not (Test-Path -LiteralPath $Manifest)) { throw "The built module is missing at ${Manifest}: run ./build.ps1 -Task Build first." }
if (-not $env:CRMSYNC_STATE_DIR) { $env:CRMSYNC_STATE_DIR = Join-Path ([IO.Path]::GetTempPath()) "crmsync-pester-$([guid]::NewGuid().ToString('N'))" }

# A child pwsh of this version (the global pwsh, or the .NET tool run through dotnet), for tests that need a
# process of their own: a fresh session, a different home, another set of loaded assemblies.
function Invoke-ChildPwsh {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        & $exe (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive @args
    }
    else {
        & $exe -NoProfile -NonInteractive @args
    }
}
