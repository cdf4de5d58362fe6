#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The repository as a newcomer reads it: the layout table of docs/ARCHITECTURE.md names what is there, and what is
# there is named; the README stays short, and no tracked file points outside the repository.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $architecture = Get-Content (Join-Path $RepoRoot 'docs/ARCHITECTURE.md') -Raw
    $layout = [regex]::Match($architecture, '(?ms)^## Repository layout\s*$(.*?)(?=^## |\z)').Groups[1].Value
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

Describe 'The repository layout in docs/ARCHITECTURE.md' {
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

Describe 'A repository that stands on its own' {
    It 'keeps the README to what a user needs first (at most 200 lines)' {
        @(Get-Content (Join-Path $RepoRoot 'README.md')).Count | Should -BeLessOrEqual 200
    }

    It 'tracks nothing in module/: the build lays the module out from src/ and docs/' {
        @(git -C $RepoRoot ls-files module) | Should -BeNullOrEmpty
    }

    It 'has no tracked file that points at notes outside the repository' {
        # The pattern is written so that it does not match itself: this file is checked too.
        $outside = @(git -C $RepoRoot grep -n -I -E '\.\.[/]shared|shared[/]reference|DESIGN[.]md' -- .)
        $outside | Should -BeNullOrEmpty -Because ($outside -join "`n")
    }

    It 'has every section the code cites in docs/reference' {
        $cited = @(git -C $RepoRoot grep -h -o -I -E 'docs/reference/(integration|limits)\.md §[A-Z0-9]+(\.[0-9]+)?' -- . | Sort-Object -Unique)
        $cited.Count | Should -BeGreaterThan 10
        foreach ($citation in $cited) {
            $file, $section = $citation -split ' §'
            $headings = @(Get-Content (Join-Path $RepoRoot $file) | Where-Object { $_ -match '^#{2,3} ' })
            $headings | Where-Object { $_ -match "^#{2,3} $([regex]::Escape($section))[. ]" } | Should -Not -BeNullOrEmpty -Because "$citation is cited"
        }
    }
}
