# A fresh pwsh of the same version as the one running: the global `pwsh`, or the .NET tool run through dotnet
# (under `dotnet pwsh` the process is dotnet, so pwsh.dll is passed to it). Dot-sourced by build.ps1 and the tests.

# Non-interactive: for builds and tests that must never wait for an answer.
function Invoke-ChildPwsh {
    Invoke-PwshProcess -NoProfile -NonInteractive @args
}

# Interactive: its console reads -Answers (one line each) as a person typing them.
function Invoke-InteractiveChildPwsh([string[]] $Answers, [string] $Command) {
    $Answers | Invoke-PwshProcess -NoProfile -Command $Command
}

function Invoke-PwshProcess {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        $input | & $exe (Join-Path $PSHOME 'pwsh.dll') @args
    }
    else {
        $input | & $exe @args
    }
}
