#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The module as an admin meets it in a real pwsh: import (fresh, and beside other versions of its dependencies),
# what-if and confirm, stopping the pipeline early, help, views at 80 columns, tab completion, and the installed package.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
    $script:CmdletNames = @((Get-Command -Module CrmSync -CommandType Cmdlet).Name)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    Stop-CrmSyncSandbox -All -Confirm:$false -ErrorAction SilentlyContinue
}

Describe 'Import-Module in a fresh session' {
    It 'imports by path, exports every cmdlet and loads the engine into its own load context' {
        $out = Invoke-ChildPwsh -Command "
            `$ErrorActionPreference = 'Stop'
            Import-Module '$Manifest'
            `$null = Get-IntegrationTableMapping
            `$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'CrmSync.Engine' }
            [pscustomobject]@{
                Cmdlets = (Get-Command -Module CrmSync).Count
                Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$engine).Name
                Mappings = (Get-IntegrationTableMapping).Name -join ','
            } | ConvertTo-Json -Compress" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $result = ($out | Select-Object -Last 1) | ConvertFrom-Json
        $result.Cmdlets | Should -Be (Import-PowerShellDataFile $Manifest).CmdletsToExport.Count
        $result.Context | Should -Be 'CrmSync.Engine'
        $result.Mappings | Should -Be 'CURRENCY,SALESPEOPLE,VENDOR,CUSTOMER,CONTACT'
    }

    It 'imports from the repository root with the built module''s help and views' {
        $out = Invoke-ChildPwsh -Command "
            `$ErrorActionPreference = 'Stop'
            Import-Module '$(Join-Path $RepoRoot 'CrmSync.psd1')'
            [pscustomobject]@{
                Cmdlets = (Get-Command -Module CrmSync).Count
                ModuleBase = (Get-Module CrmSync).ModuleBase
                Help = (Get-Help Invoke-FullSync).Synopsis
                View = (Get-IntegrationTableMapping | Out-String) -match 'OnlyCoupled'
            } | ConvertTo-Json -Compress" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $result = ($out | Select-Object -Last 1) | ConvertFrom-Json
        $result.Cmdlets | Should -Be (Import-PowerShellDataFile (Join-Path $RepoRoot 'CrmSync.psd1')).CmdletsToExport.Count
        $result.ModuleBase | Should -Be (Split-Path $Manifest)
        $result.Help | Should -Match 'full synchronization'
        $result.View | Should -BeTrue
    }

    It 'imports, connects to the sandbox and runs a full sync after other versions of MSAL, Azure.Core, Azure.Identity and the Graph core are loaded' {
        # As Az.Accounts or Microsoft.Graph would have loaded them before CrmSync in the same session.
        $packages = Get-NuGetPackageFolder
        $others = [ordered]@{
            'Microsoft.Identity.Client' = Get-RepoProperty 'Directory.Packages.props' '//CoexistenceMsalVersion'
            'Azure.Core'                = Get-RepoProperty 'Directory.Packages.props' '//CoexistenceAzureCoreVersion'
            'Azure.Identity'            = Get-RepoProperty 'Directory.Packages.props' '//CoexistenceAzureIdentityVersion'
            'Microsoft.Graph.Core'      = Get-RepoProperty 'Directory.Packages.props' '//CoexistenceGraphCoreVersion'
        }
        $paths = foreach ($name in $others.Keys) {
            $dll = Get-ChildItem (Join-Path $packages "$($name.ToLowerInvariant())/$($others[$name])/lib") -Recurse -Filter "$name.dll" |
                Sort-Object { $_.Directory.Name -match '^net\d' } -Descending | Select-Object -First 1
            $dll | Should -Not -BeNullOrEmpty -Because "$name $($others[$name]) is downloaded by dotnet restore"
            $dll.FullName
        }
        # The engine signs in through Azure.Identity and MSAL, as against Entra ID: the HTTPS sandbox is the tenant.
        $tenant = Start-CrmSyncSandbox -Https -Profile Unlimited -Confirm:$false
        try {
            $result = Invoke-TrustingPwsh $tenant -Prelude "
                foreach (`$path in '$($paths -join "','")') { Add-Type -Path `$path }
                # Their types resolve in the default context now, as the host module's would.
                `$null = [Azure.Core.AccessToken], [Microsoft.Identity.Client.PublicClientApplication]" -Script "
                Connect-CrmSync $TenantEndpoints -AuthorityHost `$s.AuthorityHost -ClientId `$s.SetupAppClientId -ClientSecret `$Secret -StatePath '$(Join-Path $TestDrive 'coexist.db')' ``
                    -IntegrationClientId `$s.IntegrationAppClientId -IntegrationClientSecret (ConvertTo-SecureString `$s.IntegrationAppClientSecret -AsPlainText -Force) -WarningAction SilentlyContinue
                `$null = New-IntegrationUser -ApplicationId `$s.IntegrationAppClientId -Confirm:`$false
                `$jobs = Invoke-FullSync -Force -KeepCreatingNewRecords `$false -WarningAction SilentlyContinue
                `$method = (Get-CrmSyncConnection).AuthenticationMethod
                Disconnect-CrmSync
                `$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'CrmSync.Engine' }
                `$context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$engine)
                `$version = { param(`$assemblies, `$name) (`$assemblies | Where-Object { `$_.GetName().Name -eq `$name } | ForEach-Object { `$_.GetName().Version.ToString(2) }) -join ',' }
                [pscustomobject]@{
                    Method = `$method
                    Jobs = @(`$jobs).Count
                    Failed = (`$jobs | Measure-Object Failed -Sum).Sum
                    HostMsal = & `$version ([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies) 'Microsoft.Identity.Client'
                    HostAzureCore = & `$version ([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies) 'Azure.Core'
                    EngineMsal = & `$version `$context.Assemblies 'Microsoft.Identity.Client'
                    EngineAzureCore = & `$version `$context.Assemblies 'Azure.Core'
                    EngineGraphCore = & `$version `$context.Assemblies 'Microsoft.Graph.Core'
                } | ConvertTo-Json -Compress"
        }
        finally {
            $tenant | Stop-CrmSyncSandbox -Confirm:$false
        }
        $result.Method | Should -Be 'ClientSecret'
        $result.Jobs | Should -Be 8
        $result.Failed | Should -Be 0
        $result.HostMsal | Should -Be ([version]$others['Microsoft.Identity.Client']).ToString(2)
        $result.HostAzureCore | Should -Be ([version]$others['Azure.Core']).ToString(2)
        # The engine signed in (Azure.Identity over MSAL), read Graph and synchronized with the versions it ships, side by
        # side with the host's.
        $shipped = { param($name) [Reflection.AssemblyName]::GetAssemblyName((Join-Path (Split-Path $Manifest) "Dependencies/$name.dll")).Version.ToString(2) }
        $result.EngineMsal | Should -Be (& $shipped 'Microsoft.Identity.Client')
        $result.EngineMsal | Should -Not -Be $result.HostMsal
        $result.EngineAzureCore | Should -Be (& $shipped 'Azure.Core')
        $result.EngineAzureCore | Should -Not -Be $result.HostAzureCore
        $result.EngineGraphCore | Should -Be (& $shipped 'Microsoft.Graph.Core')
        $result.EngineGraphCore | Should -Not -Be ([version]$others['Microsoft.Graph.Core']).ToString(2)
    }
}

Describe 'The built module folder' {
    It 'ships each dependency once: the sandbox carries only its own OData parser, never the engine''s Graph, Azure or SQLite' {
        $moduleBase = Split-Path $Manifest
        $sandbox = @(Get-ChildItem (Join-Path $moduleBase 'Sandbox') -Filter *.dll).Name
        $sandbox | Should -Contain 'CrmSync.Sandbox.dll'
        $sandbox | Should -Contain 'Microsoft.OData.Core.dll'
        $sandbox | Where-Object { $_ -match '^(CrmSync\.Engine|Microsoft\.Graph|Azure\.|Microsoft\.Identity|Microsoft\.Kiota|Microsoft\.Data\.Sqlite|SQLitePCLRaw)' } | Should -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $moduleBase 'Dependencies') -Filter *.dll).Name | Should -Contain 'Microsoft.Data.Sqlite.dll'
    }
}

Describe 'What-if and confirmation persist nothing' {
    BeforeAll {
        $script:Sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:$false
        $script:StatePath = Join-Path $TestDrive 'whatif.db'
        $Sandbox | Connect-CrmSync -Name WhatIf -StatePath $StatePath -WarningAction SilentlyContinue
        Initialize-SandboxIntegrationUser $Sandbox
        # Some state to change: couplings, jobs and watermarks from one full synchronization.
        $null = Invoke-FullSync -Name CURRENCY, CUSTOMER -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        $script:Coupled = Get-IntegrationCoupling CUSTOMER | Select-Object -First 1
        Disconnect-CrmSync
        $script:Csv = Join-Path $TestDrive 'salespeople.csv'
        Copy-Item (Join-Path $RepoRoot 'tools/SampleSalespeople.csv') $Csv
    }

    AfterAll {
        $WhatIfPreference = $false
        Disconnect-CrmSync -ErrorAction SilentlyContinue
        $Sandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    BeforeEach {
        # The state file closed (checkpointed) and hashed, and the services counted, before each command.
        $script:HashBefore = (Get-FileHash $StatePath).Hash
        $script:FootprintBefore = Get-SandboxFootprint $Sandbox
        $Sandbox | Connect-CrmSync -Name WhatIf -StatePath $StatePath
    }

    AfterEach {
        $WhatIfPreference = $false
        Disconnect-CrmSync
        (Get-FileHash $StatePath).Hash | Should -Be $HashBefore -Because 'nothing may be written to the state file'
        Get-SandboxFootprint $Sandbox | Should -Be $FootprintBefore -Because 'nothing may be written to the services'
    }

    It '<Name> under $WhatIfPreference' -ForEach @(
        @{ Name = 'Invoke-FullSync'; Command = { Invoke-FullSync -KeepCreatingNewRecords $true } }
        @{ Name = 'Sync-ModifiedRecord'; Command = { Sync-ModifiedRecord } }
        @{ Name = 'New-IntegrationCoupling -MatchBased'; Command = { New-IntegrationCoupling VENDOR -MatchBased -MatchOn Name } }
        @{ Name = 'New-IntegrationCoupling'; Command = { New-IntegrationCoupling VENDOR -BcId ([guid]::NewGuid()) -DataverseId ([guid]::NewGuid()) } }
        @{ Name = 'Remove-IntegrationCoupling'; Command = { Remove-IntegrationCoupling CUSTOMER -BcId $Coupled.BcId } }
        @{ Name = 'Reset-IntegrationCoupling'; Command = { Reset-IntegrationCoupling CUSTOMER -BcId $Coupled.BcId } }
        @{ Name = 'Set-IntegrationTableMapping'; Command = { Set-IntegrationTableMapping CUSTOMER -SynchOnlyCoupledRecords $false } }
        @{ Name = 'Reset-IntegrationTableMapping'; Command = { Reset-IntegrationTableMapping CUSTOMER } }
        @{ Name = 'Grant-IntegrationAdminRole'; Command = { Grant-IntegrationAdminRole $Sandbox.AdminUserName } }
        @{ Name = 'New-IntegrationUser (application user)'; Command = { New-IntegrationUser -ApplicationId $Sandbox.IntegrationAppClientId } }
        @{ Name = 'New-IntegrationUser (licensed user)'; Command = { New-IntegrationUser bcintegration@contoso.onmicrosoft.com -UsageLocation US } }
        @{ Name = 'Import-Salesperson'; Command = { Import-Salesperson -Path $Csv } }
    ) {
        $WhatIfPreference = $true
        $output = & $Command 6>&1 3>&1 2>&1
        $WhatIfPreference = $false
        $errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Should -BeNullOrEmpty -Because ($errors -join '; ')
    }

    It 'Invoke-FullSync asks before it starts: with nobody to answer it does not start' {
        # ConfirmImpact High: under -NonInteractive (as Pester runs) the confirmation cannot be asked, so nothing runs.
        $jobs = @(Get-IntegrationSyncJob).Count
        { Invoke-FullSync -KeepCreatingNewRecords $false -ErrorAction Stop } | Should -Throw
        @(Get-IntegrationSyncJob).Count | Should -Be $jobs
    }

    It 'New-SalespersonImportTemplate, Start- and Stop-CrmSyncSandbox under $WhatIfPreference' {
        $path = Join-Path $TestDrive 'template.csv'
        # The processes this session started (a sandbox is one): other processes on the machine come and go.
        $children = { @(Get-Process | Where-Object { $_.Parent.Id -eq $PID }).Id }
        $before = & $children
        $WhatIfPreference = $true
        New-SalespersonImportTemplate -Path $path | Should -BeNullOrEmpty
        Start-CrmSyncSandbox | Should -BeNullOrEmpty
        $Sandbox | Stop-CrmSyncSandbox
        $WhatIfPreference = $false
        Test-Path $path | Should -BeFalse
        Get-Process -Id $Sandbox.ProcessId | Should -Not -BeNullOrEmpty
        @(& $children | Where-Object { $_ -notin $before }) | Should -BeNullOrEmpty -Because 'no sandbox process may start'
    }
}

Describe 'Sync-ModifiedRecord -Confirm asks per record' {
    BeforeAll {
        Add-Type -Path (Join-Path $PSScriptRoot 'ScriptedHost.cs')
        $script:AskSandbox = Start-ConnectedSandbox -Name Ask -IntegrationUser
        $script:AskState = Join-Path $TestDrive 'Ask.db'
        $null = Invoke-FullSync -Name CURRENCY, CUSTOMER -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue
        # Five coupled customers get a new phone number in Business Central: five records to ask about.
        $script:Changed = [ordered]@{}
        foreach ($coupling in @(Get-IntegrationCoupling CUSTOMER | Sort-Object BcId | Select-Object -First 5)) {
            $customer = Invoke-SandboxApi $AskSandbox BusinessCentral "customers($($coupling.BcId))"
            $phone = '+1 555 07' + $Changed.Count.ToString('00')
            $null = Invoke-SandboxApi $AskSandbox BusinessCentral "customers($($coupling.BcId))" -Method Patch -Body @{ phoneNumber = $phone } -Headers @{ 'If-Match' = $customer.'@odata.etag' }
            $Changed[$customer.number] = [pscustomobject]@{ Number = $customer.number; DataverseId = $coupling.DataverseId; Phone = $phone }
        }
        Disconnect-CrmSync

        # Sync-ModifiedRecord CUSTOMER -Confirm in a runspace whose host answers the prompts in order, as an admin would.
        function script:Invoke-AnsweredSync([string[]] $Answers) {
            $scripted = [CrmSync.Tests.ScriptedHost]::new($Answers)
            $runspace = [runspacefactory]::CreateRunspace($scripted)
            $runspace.Open()
            try {
                $shell = [powershell]::Create($runspace)
                $null = $shell.AddScript({
                        param($Manifest, $Sandbox, $StatePath)
                        Import-Module $Manifest -ErrorAction Stop
                        $Sandbox | Connect-CrmSync -Name Ask -StatePath $StatePath -WarningAction SilentlyContinue
                        try { Sync-ModifiedRecord CUSTOMER -Confirm } finally { Disconnect-CrmSync }
                    }.ToString()).AddArgument($Manifest).AddArgument($AskSandbox).AddArgument($AskState)
                $jobs = $shell.Invoke()
                [pscustomobject]@{ Jobs = $jobs; Errors = @($shell.Streams.Error); Prompts = $scripted.Prompts; Unused = $scripted.Unused }
            }
            finally {
                $runspace.Dispose()
            }
        }

        # Each changed customer's phone number as Dataverse has it now.
        function script:Get-DataversePhone {
            $phones = @{}
            foreach ($record in $Changed.Values) { $phones[$record.Number] = (Invoke-SandboxApi $AskSandbox Dataverse "accounts($($record.DataverseId))?`$select=telephone1").telephone1 }
            $phones
        }

        # The customer a record prompt is about (... on target "CUSTOMER Customer C10000 Adatum Corporation").
        function script:Get-PromptedCustomer($Prompt) {
            if ($Prompt.Message -match 'on target "CUSTOMER Customer (\S+) ') { $Matches[1] }
        }
    }

    AfterAll {
        Stop-ConnectedSandbox $AskSandbox
    }

    It 'writes the records answered Yes, not those answered No, and asks no more after No to All' {
        $run = Invoke-AnsweredSync 'Yes', 'Yes', 'No', 'No to All'
        $run.Errors | Should -BeNullOrEmpty
        $run.Unused | Should -Be 0
        $run.Prompts.Count | Should -Be 4 -Because ($run.Prompts -join "`n")
        $run.Prompts[0].Message | Should -BeLike '*"Synchronize modified records" on target "CUSTOMER"*'
        $asked = @($run.Prompts | Select-Object -Skip 1 | ForEach-Object { Get-PromptedCustomer $_ })
        $asked | Should -HaveCount 3
        $asked | ForEach-Object { $Changed.Keys | Should -Contain $_ }
        $phones = Get-DataversePhone
        $phones[$asked[0]] | Should -Be $Changed[$asked[0]].Phone -Because 'the record answered Yes is written'
        foreach ($number in $Changed.Keys | Where-Object { $_ -ne $asked[0] }) {
            $phones[$number] | Should -Not -Be $Changed[$number].Phone -Because "$number was answered No, No to All, or not asked after it"
        }
    }

    It 'keeps the records declined for the next run: Yes to All writes them' {
        $run = Invoke-AnsweredSync 'Yes', 'Yes to All'
        $run.Errors | Should -BeNullOrEmpty
        $run.Prompts.Count | Should -Be 2 -Because ($run.Prompts -join "`n")
        $phones = Get-DataversePhone
        foreach ($number in $Changed.Keys) { $phones[$number] | Should -Be $Changed[$number].Phone }
    }

    It 'No to the run writes nothing and asks nothing per record' {
        $before = Get-SandboxFootprint $AskSandbox
        $run = Invoke-AnsweredSync 'No'
        $run.Errors | Should -BeNullOrEmpty
        $run.Jobs | Should -BeNullOrEmpty
        $run.Prompts.Count | Should -Be 1
        Get-SandboxFootprint $AskSandbox | Should -Be $before
    }
}

Describe 'Stopping the pipeline early' {
    BeforeAll {
        # Enough customers, with the realistic latency, that the full sync is far from done after its first job.
        $script:SlowSandbox = Start-CrmSyncSandbox -Profile Realistic -Customers 3000 -Confirm:$false
        $script:SlowState = Join-Path $TestDrive 'stop.db'
        $SlowSandbox | Connect-CrmSync -Name Stop -StatePath $SlowState -WarningAction SilentlyContinue
        Initialize-SandboxIntegrationUser $SlowSandbox
    }

    AfterAll {
        Disconnect-CrmSync -ErrorAction SilentlyContinue
        $SlowSandbox | Stop-CrmSyncSandbox -Confirm:$false
    }

    # Requests that only the stopped run's later mappings send (vendors, customers, contacts and their accounts, and
    # the $batch writes): the sandbox counts them per endpoint.
    function script:Get-LaterMappingTraffic {
        $endpoints = ($SlowSandbox | Get-CrmSyncSandboxStatistic).Endpoints
        ($endpoints | ForEach-Object { $_.GetEnumerator() } | Where-Object Key -Match 'vendors|customers|contacts|accounts|\$batch' | Measure-Object Value -Sum).Sum
    }

    # Nothing of the stopped run goes on: while another run on the same connection synchronizes CURRENCY start to end,
    # not one request reaches the later mappings' endpoints and the state gains no job but its own and no coupling; then
    # the state is free (it connects again at once). No waiting for a time to pass.
    function script:Assert-NothingRunsOn([int] $Jobs, [int] $Customers) {
        $traffic = Get-LaterMappingTraffic
        $next = @(Sync-ModifiedRecord CURRENCY)
        ($next | Measure-Object Failed -Sum).Sum | Should -Be 0
        Get-LaterMappingTraffic | Should -Be $traffic
        @(Get-IntegrationSyncJob).Count | Should -Be ($Jobs + $next.Count)
        Disconnect-CrmSync
        $SlowSandbox | Connect-CrmSync -Name Stop -StatePath $SlowState
        @(Get-IntegrationCoupling CUSTOMER).Count | Should -Be $Customers
    }

    It 'Select-Object -First 1 cancels the engine: the cmdlet returns with the first job, and nothing runs on' {
        $first = Invoke-FullSync -Force -KeepCreatingNewRecords $false -WarningAction SilentlyContinue | Select-Object -First 1
        $first.MappingName | Should -Be 'CURRENCY'

        # The engine stopped at a batch boundary and recorded where: far from done, no job left open.
        $jobs = @(Get-IntegrationSyncJob)
        $jobs.Count | Should -BeLessOrEqual 2
        $jobs | Where-Object { -not $_.FinishTime } | Should -BeNullOrEmpty
        $customers = @(Get-IntegrationCoupling CUSTOMER).Count
        $customers | Should -BeLessThan 3000
        Assert-NothingRunsOn $jobs.Count $customers
    }

    It 'a terminating error downstream stops the engine too' {
        $before = @(Get-IntegrationSyncJob).Count
        { Sync-ModifiedRecord | ForEach-Object { throw 'downstream failure' } } | Should -Throw 'downstream failure'
        $after = @(Get-IntegrationSyncJob)
        $after.Count | Should -BeLessOrEqual ($before + 2)
        $after | Where-Object { -not $_.FinishTime } | Should -BeNullOrEmpty
        Assert-NothingRunsOn $after.Count @(Get-IntegrationCoupling CUSTOMER).Count
    }
}

Describe 'Help' {
    It '<_> has a synopsis, a description, every parameter described and an example' -ForEach $CmdletNames {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\S+ \[' -Because 'a synopsis that is only the syntax means the MAML was not found'
        ($help.Description.Text -join ' ') | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        ($help.Examples.Example | Select-Object -First 1).Code | Should -Not -BeNullOrEmpty
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $documented = @{}
        foreach ($p in $help.Parameters.Parameter) { $documented[$p.Name] = ($p.Description.Text -join ' ') }
        foreach ($name in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $documented[$name] | Should -Not -BeNullOrEmpty -Because "-$name of $_ must be described"
        }
    }

    It 'names no web address that is not real: no HelpUri, no online help link, no project, license or updatable-help URI' {
        # The project has no public site yet: a link to an invented one would lead an admin nowhere.
        @(Get-Command -Module CrmSync | Where-Object HelpUri).Name | Should -BeNullOrEmpty
        $module = Get-Module CrmSync
        $module.ProjectUri | Should -BeNullOrEmpty
        $module.LicenseUri | Should -BeNullOrEmpty
        $module.HelpInfoUri | Should -BeNullOrEmpty
        @(Get-Command -Module CrmSync | Where-Object { (Get-Help $_.Name).relatedLinks.navigationLink.uri -match '\S' }).Name | Should -BeNullOrEmpty
        { Get-Help Connect-CrmSync -Online -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidOperation,Microsoft.PowerShell.Commands.GetHelpCommand'
    }

    It 'Get-Help <_> finds the about topic' -ForEach 'about_CrmSync', 'about_CrmSyncSandbox', 'about_CrmSyncRunbooks' {
        $text = Get-Help $_ | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match $_
    }
}

Describe 'Default views at 80 columns' {
    BeforeAll {
        $script:ViewSandbox = Start-ConnectedSandbox -Name Views
        $format = [xml](Get-Content (Join-Path (Split-Path $Manifest) 'CrmSync.Format.ps1xml') -Raw)
        $script:Labels = @{}
        foreach ($view in $format.Configuration.ViewDefinitions.View) {
            $script:Labels[$view.ViewSelectedBy.TypeName] = @($view.TableControl.TableHeaders.TableColumnHeader.Label | Where-Object { $_ })
        }
        # One real output object of every type that has a view (a sync with failures gives errors).
        $script:Samples = [ordered]@{}
        $add = { param($objects) foreach ($o in @($objects)) { $script:Samples[$o.GetType().FullName] += @($o) } }
        & $add $ViewSandbox
        & $add (Get-CrmSyncConnection)
        & $add (Test-IntegrationSetup)
        & $add (Get-IntegrationTableMapping)
        & $add (Get-IntegrationFieldMapping)
        & $add (New-SalespersonImportTemplate -Path (Join-Path $TestDrive 'views.csv') -Confirm:$false)
        & $add (New-IntegrationUser -ApplicationId $ViewSandbox.IntegrationAppClientId -Confirm:$false)
        & $add (Sync-ModifiedRecord CUSTOMER -Confirm:$false -ErrorAction SilentlyContinue)
        & $add (Set-IntegrationTableMapping CUSTOMER -SynchOnlyCoupledRecords $false -PassThru -Confirm:$false)
        & $add (Sync-ModifiedRecord CUSTOMER -Confirm:$false -ErrorAction SilentlyContinue)
        & $add (Get-IntegrationSyncError)
        & $add (New-IntegrationCoupling VENDOR -MatchBased -MatchOn Name -Confirm:$false)
        & $add (Grant-IntegrationAdminRole $ViewSandbox.AdminUserName -Confirm:$false)
        & $add (Import-Csv (Join-Path $RepoRoot 'tools/SampleSalespeople.csv') | Import-Salesperson -Confirm:$false)
        & $add (Get-IntegrationCoupling)
        & $add (Get-IntegrationSyncJob)
        & $add (Get-CrmSyncSandboxStatistic)
        & $add (New-CrmSyncIdentity -ManagedIdentity)
    }

    AfterAll {
        Stop-ConnectedSandbox $ViewSandbox
    }

    It 'every view has a sample' {
        foreach ($type in $Labels.Keys) { $Samples.Contains($type) | Should -BeTrue -Because "$type has a view and needs a sample" }
    }

    It 'the <_> view reads well at 80 columns' -ForEach @(
        'CrmSync.Mapping.IntegrationTableMapping', 'CrmSync.Mapping.IntegrationFieldMapping', 'CrmSync.Connections.CrmSyncConnection',
        'CrmSync.SandboxControl.SandboxInstance', 'CrmSync.State.IntegrationSyncJob', 'CrmSync.State.IntegrationSyncError',
        'CrmSync.Sync.CouplingView', 'CrmSync.Sync.MatchResult', 'CrmSync.Accounts.SetupCheck', 'CrmSync.Accounts.IntegrationUserResult',
        'CrmSync.Accounts.SalespersonImportResult', 'CrmSync.Accounts.AdminRoleResult', 'CrmSync.Accounts.SalespersonTemplate',
        'CrmSync.SandboxControl.SandboxStatistic'
    ) {
        $objects = @($Samples[$_])
        $objects.Count | Should -BeGreaterThan 0
        $groups = @($objects | ForEach-Object { "$($_.MappingName)$($_.Area)" } | Select-Object -Unique).Count
        # Out-String -Width 80, and 79: what an 80-column console gives a table (it keeps its last column free).
        foreach ($width in 80, 79) {
            $lines = @(($objects | Out-String -Width $width) -split "`r?`n")
            foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual $width -Because "'$line' must fit in $width columns" }
            # No column squeezed to a few characters: every header label stands whole in the output, and no record takes
            # more than a handful of lines.
            foreach ($label in $Labels[$_]) { ($lines -join "`n") | Should -Match ([regex]::Escape($label)) -Because "the '$label' column must not be cut at $width columns" }
            @($lines | Where-Object { $_.Trim() }).Count | Should -BeLessOrEqual (6 * $objects.Count + 4 * $groups + 16)
        }
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $script:CompletionSandbox = Start-ConnectedSandbox -Name Completion
    }

    AfterAll {
        Stop-ConnectedSandbox $CompletionSandbox
    }

    It 'completes mapping names for <_>' -ForEach @(
        'Get-IntegrationTableMapping CU', 'Set-IntegrationTableMapping -Name CU', 'Invoke-FullSync CU', 'Sync-ModifiedRecord -Name CU',
        'Get-IntegrationCoupling CU', 'New-IntegrationCoupling CU', 'Get-IntegrationSyncJob CU', 'Get-IntegrationSyncError -Name CU',
        'Get-IntegrationFieldMapping CU', 'Reset-IntegrationCoupling CU', 'Remove-IntegrationCoupling CU', 'Reset-IntegrationTableMapping CU'
    ) {
        $result = TabExpansion2 -inputScript $_ -cursorColumn $_.Length
        $result.CompletionMatches.CompletionText | Should -Be @('CURRENCY', 'CUSTOMER')
    }

    It 'completes from the connection''s state, case-insensitively, and offers all names for an empty word' {
        (TabExpansion2 -inputScript 'Get-IntegrationSyncJob sales' -cursorColumn 28).CompletionMatches.CompletionText | Should -Be 'SALESPEOPLE'
        (TabExpansion2 -inputScript 'Get-IntegrationTableMapping ' -cursorColumn 28).CompletionMatches.CompletionText |
            Should -Be @('CURRENCY', 'SALESPEOPLE', 'VENDOR', 'CUSTOMER', 'CONTACT')
    }
}

Describe 'Installed like a gallery module' {
    It 'installs the packaged .nupkg with Install-PSResource, imports CrmSync by name and runs a sandbox command' {
        $repository = if ($env:CRMSYNC_PACKAGE_REPOSITORY) { $env:CRMSYNC_PACKAGE_REPOSITORY } else { Join-Path $RepoRoot 'out/repository' }
        $version = Get-RepoProperty 'Directory.Build.props' '//ModuleVersion'
        Test-Path (Join-Path $repository "CrmSync.$version.nupkg") | Should -BeTrue -Because 'build.ps1 -Task Package (run by -Task Test) publishes it'
        # A throwaway home: PSResourceGet registers the repository and installs for the current user under it.
        $installHome = Join-Path $TestDrive 'home'
        $null = New-Item -ItemType Directory $installHome
        $saved = $env:HOME
        try {
            $env:HOME = $installHome
            $out = Invoke-ChildPwsh -Command "
                `$ErrorActionPreference = 'Stop'
                Register-PSResourceRepository -Name CrmSyncTest -Uri '$repository' -Trusted
                Install-PSResource CrmSync -Repository CrmSyncTest -Scope CurrentUser -Quiet
                Import-Module CrmSync
                `$sandbox = Start-CrmSyncSandbox -Profile Unlimited -Confirm:`$false
                try {
                    `$sandbox | Connect-CrmSync -StatePath (Join-Path '$installHome' 'installed.db') -WarningAction SilentlyContinue
                    [pscustomobject]@{
                        ModuleBase = (Get-Module CrmSync).ModuleBase
                        Version = (Get-Module CrmSync).Version.ToString()
                        Company = (Get-CrmSyncConnection).CompanyName
                        Mappings = @(Get-IntegrationTableMapping).Count
                        Help = (Get-Help Invoke-FullSync).Synopsis
                    } | ConvertTo-Json -Compress
                }
                finally { Disconnect-CrmSync; `$sandbox | Stop-CrmSyncSandbox -Confirm:`$false }" 2>&1
        }
        finally {
            $env:HOME = $saved
        }
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $result = ($out | Select-Object -Last 1) | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$installHome*"
        $result.Version | Should -Be $version
        $result.Company | Should -Be 'CRONUS USA, Inc.'
        $result.Mappings | Should -Be 5
        $result.Help | Should -Match 'full synchronization'
    }
}
