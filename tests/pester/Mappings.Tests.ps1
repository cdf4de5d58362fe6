#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The mapping and connection cmdlets driven from PowerShell. Run: ./build.ps1 -Task Test

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    Import-Module $Manifest -Force -ErrorAction Stop
}

AfterAll {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
}

Describe 'Importing the built module' {
    It 'exports exactly the cmdlets the manifest lists' {
        $declared = (Import-PowerShellDataFile $Manifest).CmdletsToExport | Sort-Object
        $exported = (Get-Command -Module CrmSync -CommandType Cmdlet).Name | Sort-Object
        $exported | Should -Be $declared
    }

    It 'uses approved verbs and declares output types' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module CrmSync) {
            $approved | Should -Contain $command.Verb -Because "$($command.Name) must use an approved verb"
            $command.OutputType | Should -Not -BeNullOrEmpty -Because "$($command.Name) must declare [OutputType]"
        }
    }

    It 'loads the engine into its own load context' {
        $null = Get-IntegrationTableMapping
        $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'CrmSync.Engine' }
        $engine | Should -Not -BeNullOrEmpty
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine[0]).Name | Should -Be 'CrmSync.Engine'
    }
}

Describe 'Get-IntegrationTableMapping' {
    BeforeEach {
        Connect-CrmSync -Name Pester -StatePath (Join-Path $TestDrive "get-$([guid]::NewGuid().ToString('N')).db")
    }

    AfterEach {
        Disconnect-CrmSync
    }

    It 'returns the five standard mappings in dependency order' {
        (Get-IntegrationTableMapping).Name | Should -Be @('CURRENCY', 'SALESPEOPLE', 'VENDOR', 'CUSTOMER', 'CONTACT')
    }

    It 'filters with wildcards and keeps the order' {
        (Get-IntegrationTableMapping -Name 'C*').Name | Should -Be @('CURRENCY', 'CUSTOMER', 'CONTACT')
    }

    It 'reports a missing mapping with a stable error id' {
        { Get-IntegrationTableMapping -Name 'NOPE' -ErrorAction Stop } |
            Should -Throw -ErrorId 'MappingNotFound,CrmSync.PowerShell.Cmdlets.Mapping.GetIntegrationTableMappingCommand'
    }

    It 'pipes table mappings into Get-IntegrationFieldMapping' {
        $fields = Get-IntegrationTableMapping CONTACT | Get-IntegrationFieldMapping -Status Unavailable
        $fields.BcFieldCaption | Should -Contain 'First Name'
        $fields.MappingName | Select-Object -Unique | Should -Be 'CONTACT'
    }
}

Describe 'Set-IntegrationTableMapping' {
    BeforeEach {
        $script:StatePath = Join-Path $TestDrive "set-$([guid]::NewGuid().ToString('N')).db"
        Connect-CrmSync -Name Pester -StatePath $StatePath
    }

    AfterEach {
        Disconnect-CrmSync
    }

    It '-WhatIf changes nothing' {
        $before = Get-IntegrationTableMapping CUSTOMER
        Set-IntegrationTableMapping CUSTOMER -TableFilter "city eq 'Oslo'" -SynchOnlyCoupledRecords $false -WhatIf
        $after = Get-IntegrationTableMapping CUSTOMER
        $after.TableFilter | Should -Be $before.TableFilter
        $after.SynchOnlyCoupledRecords | Should -BeTrue
    }

    It 'persists a filter across Disconnect-CrmSync and Connect-CrmSync' {
        Set-IntegrationTableMapping CUSTOMER -TableFilter "blocked eq '_x0020_' and city eq 'Oslo'" -Confirm:$false
        Disconnect-CrmSync
        Connect-CrmSync -Name Pester -StatePath $StatePath
        (Get-IntegrationTableMapping CUSTOMER).TableFilter | Should -Be "blocked eq '_x0020_' and city eq 'Oslo'"
    }

    It 'takes mapping objects from the pipeline' {
        $result = Get-IntegrationTableMapping CUSTOMER, VENDOR | Set-IntegrationTableMapping -UpdateConflictResolution SendUpdateToIntegration -PassThru -Confirm:$false
        $result.Name | Should -Be @('VENDOR', 'CUSTOMER')
        $result.UpdateConflictResolution | Select-Object -Unique | Should -Be 'SendUpdateToIntegration'
    }

    It 'rejects an invalid filter with the mapping and the problem' {
        { Set-IntegrationTableMapping CUSTOMER -TableFilter "city = 'Oslo'" -ErrorAction Stop } |
            Should -Throw -ErrorId 'MappingFilterInvalid,CrmSync.PowerShell.Cmdlets.Mapping.SetIntegrationTableMappingCommand'
        (Get-IntegrationTableMapping CUSTOMER).TableFilter | Should -Be "blocked eq '_x0020_'"
    }

    It 'refuses a direction the field mappings cannot carry' {
        Set-IntegrationTableMapping SALESPEOPLE -Direction Bidirectional -ErrorAction SilentlyContinue -ErrorVariable problems
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MappingDirectionInvalid,*'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        (Get-IntegrationTableMapping SALESPEOPLE).Direction | Should -Be 'FromIntegrationTable'
    }

    It 'is undone by Reset-IntegrationTableMapping' {
        Set-IntegrationTableMapping CONTACT -IntegrationTableFilter '' -Confirm:$false
        Reset-IntegrationTableMapping CONTACT -Confirm:$false
        (Get-IntegrationTableMapping CONTACT).IntegrationTableFilter | Should -Be '_parentcustomerid_value ne null and statecode eq 0'
    }
}

Describe 'Connections' {
    It 'uses the default local connection before Connect-CrmSync' {
        Disconnect-CrmSync
        (Get-IntegrationTableMapping).Count | Should -Be 5
        (Get-CrmSyncConnection).StatePath | Should -Be (Join-Path $env:CRMSYNC_STATE_DIR 'default.db')
        Disconnect-CrmSync
    }

    It 'gives a second writer of the same state file a clear error' {
        $path = Join-Path $TestDrive 'shared.db'
        Connect-CrmSync -Name First -StatePath $path
        try {
            # Another runspace is another writer, even in this process.
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module '$Manifest'; Connect-CrmSync -Name Second -StatePath '$path'")
                $null = $ps.Invoke()
                $ps.Streams.Error.Count | Should -Be 1
                $ps.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'StateStoreInUse,CrmSync.PowerShell.Cmdlets.Connection.ConnectCrmSyncCommand'
                $ps.Streams.Error[0].Exception.Message | Should -BeLike '*is in use by process*'
            }
            finally {
                $ps.Dispose()
            }
        }
        finally {
            Disconnect-CrmSync
        }
    }

    It 'takes an explicit -Connection: reads and writes that state, not the default one' {
        # Returned with -PassThru, it stays open when another connection becomes the default.
        $other = Connect-CrmSync -Name Other -StatePath (Join-Path $TestDrive 'other.db') -PassThru
        Connect-CrmSync -Name Default -StatePath (Join-Path $TestDrive 'default-of-session.db')
        try {
            Set-IntegrationTableMapping CUSTOMER -TableFilter "blocked eq '_x0020_' and city eq 'Oslo'" -Connection $other -Confirm:$false
            (Get-IntegrationTableMapping CUSTOMER -Connection $other).TableFilter | Should -Be "blocked eq '_x0020_' and city eq 'Oslo'"
            (Get-IntegrationTableMapping CUSTOMER).TableFilter | Should -Be "blocked eq '_x0020_'" -Because 'the default connection''s state is another file'
            (Get-CrmSyncConnection).Name | Should -Be 'Default'
        }
        finally {
            Disconnect-CrmSync -Connection $other
            Disconnect-CrmSync
        }
    }
}
