#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What an admin does in a real console: an interactive pwsh in a terminal (tmux, 100 columns), typed into, and
# Ctrl+C sent as the terminal sends it — to the console's whole foreground process group.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    if (-not (Get-Command tmux -ErrorAction SilentlyContinue)) { throw 'tmux is not installed (Debian: apt-get install tmux); build.ps1 -Task Test installs it.' }
    $script:Session = "crmsync-console-$PID"
    $script:ConsoleState = Join-Path $TestDrive 'state'
    $pwsh = [Environment]::ProcessPath
    $command = if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { "'$pwsh' '$(Join-Path $PSHOME 'pwsh.dll')'" } else { "'$pwsh'" }
    & tmux new-session -d -s $Session -x 100 -y 40 -e "CRMSYNC_STATE_DIR=$ConsoleState" "$command -NoProfile"
    if ($LASTEXITCODE -ne 0) { throw 'tmux could not start a console.' }

    # Types a line and presses Enter.
    function Send-Line([string] $Line) { & tmux send-keys -t $Session -l $Line; & tmux send-keys -t $Session Enter }

    # The console's screen and scrollback, joined.
    function Get-Screen { (& tmux capture-pane -p -J -S -2000 -t $Session) -join "`n" }

    # Waits (bounded) until a line starting with $Marker is on the screen and returns the rest of that line.
    function Wait-Marker([string] $Marker, [int] $Seconds) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        do {
            if ((Get-Screen) -match "(?m)^$([regex]::Escape($Marker))(.*?)\s*$") { return $Matches[1] }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        throw "'$Marker' did not appear within $Seconds s. The console shows:`n$(Get-Screen)"
    }

    # Dataverse $batch requests the sandbox has answered so far.
    function Get-WriteCount([string] $BaseUrl) {
        $statistics = Invoke-RestMethod ($BaseUrl + '_sandbox/statistics')
        [int](@($statistics.services | Where-Object service -eq 'Dataverse' | ForEach-Object { $_.endpoints.'POST $batch' }) | Measure-Object -Sum).Sum
    }
}

AfterAll {
    if ($Session) { Send-Line 'Stop-CrmSyncSandbox -All -Confirm:$false; exit'; Start-Sleep -Milliseconds 500; & tmux kill-session -t $Session 2>$null }
}

Describe 'Ctrl+C in a console during a full synchronization of 100,000 customers' {
    It 'gives the prompt back at once, leaves the sandbox running, and the next full sync completes with no duplicate' {
        $null = Wait-Marker 'PS ' 120
        Send-Line "Import-Module '$Manifest'; `$s = Start-CrmSyncSandbox -Customers 100000 -Profile Unlimited -Confirm:`$false; `$s | Connect-CrmSync -WarningAction SilentlyContinue; `$null = New-IntegrationUser -ApplicationId `$s.IntegrationAppClientId -Confirm:`$false; 'ready:' + `$s.BaseUrl"
        $baseUrl = Wait-Marker 'ready:' 300

        Send-Line "Invoke-FullSync -Force -KeepCreatingNewRecords `$false -WarningAction SilentlyContinue | Out-Null; 'not-stopped:'"
        # Ctrl+C while CUSTOMER is being written: after the first customer batches (CURRENCY and SALESPEOPLE write a few).
        $deadline = [DateTime]::UtcNow.AddMinutes(5)
        while ((Get-WriteCount $baseUrl) -lt 15 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-WriteCount $baseUrl) | Should -BeGreaterOrEqual 15 -Because 'the full sync was writing customers when Ctrl+C came'
        $pressed = [DateTime]::UtcNow
        & tmux send-keys -t $Session C-c
        # Typed ahead: it runs as soon as the prompt is back, and says when that was.
        Send-Line "'back:' + [DateTime]::UtcNow.ToString('o')"
        $back = [DateTimeOffset]::Parse((Wait-Marker 'back:' 120), [Globalization.CultureInfo]::InvariantCulture).UtcDateTime

        ($back - $pressed).TotalSeconds | Should -BeLessThan 5 -Because 'Ctrl+C cancels the requests in flight instead of waiting for them'
        Get-Screen | Should -Not -Match '(?m)^not-stopped:'
        (Invoke-RestMethod ($baseUrl + '_sandbox/info')).baseUrl | Should -Be $baseUrl -Because "the console's Ctrl+C does not reach the sandbox"

        Send-Line "`$j = Invoke-FullSync -Force -KeepCreatingNewRecords `$false -WarningAction SilentlyContinue; 'done:' + [int](`$j | Measure-Object Failed -Sum).Sum + ':' + @(Get-IntegrationCoupling CUSTOMER).Count"
        $failed, $couplings = (Wait-Marker 'done:' 600).Split(':')
        [int]$failed | Should -Be 0

        # Every generated customer exists once in Dataverse: nothing the interrupted run sent was created twice.
        $info = Invoke-RestMethod ($baseUrl + '_sandbox/info')
        $token = Get-SandboxToken ([pscustomobject]@{ TokenUrl = $info.tokenUrl; SetupAppClientId = $info.setupApp.clientId; SetupAppClientSecret = $info.setupApp.clientSecret }) Dataverse
        $names = [Collections.Generic.List[string]]::new()
        $next = $baseUrl + "dataverse/api/data/v9.2/accounts?`$select=name&`$filter=startswith(name,'Benchmark ')"
        for ($page = 0; $next -and $page -lt 100; $page++) {
            $answer = Invoke-RestMethod $next -Headers @{ Authorization = "Bearer $token"; Prefer = 'odata.maxpagesize=5000' }
            $names.AddRange([string[]]@($answer.value.name))
            $next = $answer.'@odata.nextLink'
        }
        $names.Count | Should -Be 100000
        @($names | Sort-Object -Unique).Count | Should -Be 100000
        [int]$couplings | Should -BeGreaterOrEqual 100000
    }
}
