#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The repository as a newcomer reads it: the README's layout table names what is there, and what is there is named.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $readme = Get-Content (Join-Path $RepoRoot 'README.md') -Raw
    $layout = [regex]::Match($readme, '(?ms)^## Repository layout\s*$(.*?)(?=^## |\z)').Groups[1].Value
    $script:Rows = @([regex]::Matches($layout, '(?m)^\| `([^`]+)` \| (.*) \|$') | ForEach-Object {
        @{ Path = $_.Groups[1].Value; Text = $_.Groups[2].Value }
    })
    # Every folder of the two big projects is named in its row, as `Folder/`.
    $script:Folders = @(foreach ($project in 'src/CrmSync.Engine', 'src/CrmSync.Sandbox') {
        Get-ChildItem (Join-Path $RepoRoot $project) -Directory | Where-Object Name -NotIn 'bin', 'obj' |
            ForEach-Object { @{ Project = $project; Folder = $_.Name } }
    })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

Describe 'The README''s repository layout' {
    It 'has rows' {
        $Rows.Count | Should -BeGreaterThan 10
    }

    It '<Path> exists' -ForEach $Rows {
        Join-Path $RepoRoot $Path | Should -Exist
    }

    It '<Project> names its folder <Folder>/' -ForEach $Folders {
        $row = $Rows | Where-Object Path -EQ $Project
        $row | Should -Not -BeNullOrEmpty -Because "the layout table has a row for $Project"
        $row.Text | Should -Match ([regex]::Escape("``$Folder/"))
    }
}
