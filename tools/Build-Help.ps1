#Requires -Version 7.4
<#
.SYNOPSIS
    Compiles docs/en-US (platyPS markdown, schema 2.0.0) into the module's help: MAML
    (CrmSync.PowerShell.dll-Help.xml) for the cmdlets and about_*.help.txt for the about topics.
.DESCRIPTION
    platyPS cannot be had here, so the build converts the project's markdown itself. The markdown keeps
    platyPS's schema so platyPS can take over later. The text (synopsis, description, examples, parameter
    descriptions, inputs, outputs, notes, links) comes from the markdown; the syntax and each parameter's
    type, position, pipeline input and parameter sets come from the compiled cmdlets themselves, so the
    help can never show a syntax the module does not have. A cmdlet without a markdown page, or a parameter
    without a description, fails the build.
    Runs in its own pwsh (build.ps1 starts it), because it imports the module it documents.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $Manifest,
    [Parameter(Mandatory)] [string] $OutputPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

# Markdown sections: '## NAME' -> lines, and within a section '### title' -> lines.
function Split-Section([string[]] $Lines, [string] $Prefix) {
    $sections = [ordered]@{}
    $current = $null
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line.StartsWith($Prefix + ' ')) {
            $current = $line.Substring($Prefix.Length + 1).Trim()
            $sections[$current] = [System.Collections.Generic.List[string]]::new()
        }
        elseif ($null -ne $current) {
            $sections[$current].Add($line)
        }
    }
    $sections
}

# Plain text for Get-Help: emphasis and code marks dropped, link targets dropped.
function ConvertTo-PlainText([string] $Text) {
    $Text = $Text -replace '\*\*([^*]+)\*\*', '$1' -replace '`([^`]+)`', '$1'
    $Text -replace '\[([^\]]+)\]\([^)]+\)', '$1'
}

# Paragraphs: blank lines separate them; list items and table rows stand alone.
function Get-Paragraph([string[]] $Lines) {
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $buffer = [System.Collections.Generic.List[string]]::new()
    $flush = {
        if ($buffer.Count) { $paragraphs.Add((ConvertTo-PlainText ($buffer -join ' '))); $buffer.Clear() }
    }
    $inFence = $false
    foreach ($raw in $Lines) {
        $line = $raw.TrimEnd()
        if ($line -match '^\s*```') {
            & $flush
            $inFence = -not $inFence
            continue
        }
        if ($inFence) { $paragraphs.Add('    ' + $line); continue }
        if ($line.Trim() -eq '') { & $flush; continue }
        if ($line -match '^\s*([-*]|\d+\.|\|)\s') { & $flush }
        $buffer.Add($line.Trim())
    }
    & $flush
    , $paragraphs
}

function Add-Para([System.Xml.XmlElement] $Parent, [string[]] $Paragraphs) {
    $description = Add-Element $Parent 'maml:description'
    foreach ($p in $Paragraphs) { (Add-Element $description 'maml:para').InnerText = $p }
    if (-not $Paragraphs) { $null = Add-Element $description 'maml:para' }
}

$ns = @{
    ''        = 'http://msh'
    'maml'    = 'http://schemas.microsoft.com/maml/2004/10'
    'command' = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    'dev'     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Add-Element([System.Xml.XmlNode] $Parent, [string] $Name, [string] $Text) {
    $prefix, $local = if ($Name.Contains(':')) { $Name.Split(':', 2) } else { '', $Name }
    $document = if ($Parent -is [System.Xml.XmlDocument]) { $Parent } else { $Parent.OwnerDocument }
    $element = $document.CreateElement($prefix, $local, $ns[$prefix])
    if ($PSBoundParameters.ContainsKey('Text')) { $element.InnerText = $Text }
    $null = $Parent.AppendChild($element)
    $element
}

function Read-CommandPage([string] $Path) {
    $lines = Get-Content -LiteralPath $Path
    $sections = Split-Section $lines '##'
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS') {
        if (-not $sections.Contains($required)) { throw "$Path has no '## $required' section (platyPS schema 2.0.0)." }
    }

    $examples = foreach ($entry in (Split-Section $sections['EXAMPLES'] '###').GetEnumerator()) {
        $code = [System.Collections.Generic.List[string]]::new()
        $remarks = [System.Collections.Generic.List[string]]::new()
        $inFence = $false
        foreach ($line in $entry.Value) {
            if ($line -match '^\s*```') { $inFence = -not $inFence; continue }
            if ($inFence) { $code.Add($line) } else { $remarks.Add($line) }
        }
        [pscustomobject]@{ Title = $entry.Key; Code = ($code -join "`n").Trim(); Remarks = Get-Paragraph $remarks }
    }

    $parameters = @{}
    foreach ($entry in (Split-Section $sections['PARAMETERS'] '###').GetEnumerator()) {
        if ($entry.Key -eq 'CommonParameters') { continue }
        $text = [System.Collections.Generic.List[string]]::new()
        $yaml = @{}
        $inYaml = $false
        foreach ($line in $entry.Value) {
            if ($line -match '^\s*```yaml') { $inYaml = $true; continue }
            if ($inYaml -and $line -match '^\s*```') { $inYaml = $false; continue }
            if ($inYaml) {
                if ($line -match '^([^:]+):\s*(.*)$') { $yaml[$Matches[1].Trim()] = $Matches[2].Trim() }
            }
            else { $text.Add($line) }
        }
        $parameters[$entry.Key.TrimStart('-')] = [pscustomobject]@{ Description = Get-Paragraph $text; Yaml = $yaml }
    }

    $types = { param($name) if ($sections.Contains($name)) { foreach ($t in (Split-Section $sections[$name] '###').GetEnumerator()) { [pscustomobject]@{ Type = $t.Key; Description = Get-Paragraph $t.Value } } } }
    $links = if ($sections.Contains('RELATED LINKS')) {
        foreach ($line in $sections['RELATED LINKS']) {
            if ($line -match '^\s*\[([^\]]+)\]\(([^)]*)\)') {
                $uri = if ($Matches[2] -match '^https?://') { $Matches[2] } else { '' }
                [pscustomobject]@{ Text = $Matches[1]; Uri = $uri }
            }
        }
    }
    $online = ($lines | Select-String -Pattern '^online version:\s*(\S+)' | Select-Object -First 1)

    [pscustomobject]@{
        Synopsis    = (Get-Paragraph $sections['SYNOPSIS']) -join ' '
        Description = Get-Paragraph $sections['DESCRIPTION']
        Examples    = @($examples)
        Parameters  = $parameters
        Inputs      = @(& $types 'INPUTS')
        Outputs     = @(& $types 'OUTPUTS')
        Notes       = if ($sections.Contains('NOTES')) { Get-Paragraph $sections['NOTES'] } else { @() }
        Links       = @($links)
        OnlineUri   = if ($online) { $online.Matches[0].Groups[1].Value } else { '' }
    }
}

function Get-TypeLabel([type] $Type) {
    if ($Type -eq [switch]) { return 'SwitchParameter' }
    $Type.Name
}

function Add-Parameter([System.Xml.XmlElement] $Parent, [string] $Command, $Metadata, $ParameterInSet, $Page, [string] $SetName) {
    $name = $Metadata.Name
    $doc = $Page.Parameters[$name]
    if (-not $doc -or -not $doc.Description) { throw "docs: $Command -$name has no description. Add a '### -$name' section to docs/en-US/$Command.md." }
    $attributes = $Metadata.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
    $setAttributes = if ($SetName) { $attributes | Where-Object { $_.ParameterSetName -in $SetName, '__AllParameterSets' } } else { $attributes }
    $mandatory = [bool]($setAttributes | Where-Object Mandatory)
    $pipeline = @(
        if ($setAttributes | Where-Object ValueFromPipeline) { 'ByValue' }
        if ($setAttributes | Where-Object ValueFromPipelineByPropertyName) { 'ByPropertyName' }
    )
    $position = $setAttributes | Where-Object { $_.Position -ge 0 } | Select-Object -First 1 -ExpandProperty Position
    $globbing = [bool]($Metadata.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }) -or $doc.Yaml['Accept wildcard characters'] -eq 'True'
    $aliases = if ($Metadata.Aliases.Count) { $Metadata.Aliases -join ', ' } else { 'none' }

    $element = Add-Element $Parent 'command:parameter'
    $element.SetAttribute('required', $mandatory.ToString().ToLowerInvariant())
    $element.SetAttribute('variableLength', ($Metadata.ParameterType.IsArray).ToString().ToLowerInvariant())
    $element.SetAttribute('globbing', $globbing.ToString().ToLowerInvariant())
    $element.SetAttribute('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $element.SetAttribute('position', $(if ($null -ne $position) { "$position" } else { 'named' }))
    $element.SetAttribute('aliases', $aliases)
    $null = Add-Element $element 'maml:name' $name
    Add-Para $element $doc.Description
    $label = Get-TypeLabel $Metadata.ParameterType
    if ($label -ne 'SwitchParameter' -or -not $SetName) {
        $value = Add-Element $element 'command:parameterValue' $label
        $value.SetAttribute('required', ($label -ne 'SwitchParameter').ToString().ToLowerInvariant())
        $value.SetAttribute('variableLength', ($Metadata.ParameterType.IsArray).ToString().ToLowerInvariant())
    }
    $type = Add-Element $element 'dev:type'
    $null = Add-Element $type 'maml:name' $Metadata.ParameterType.FullName
    $null = Add-Element $type 'maml:uri'
    $default = $doc.Yaml['Default value']
    $null = Add-Element $element 'dev:defaultValue' $(if ($default) { $default } else { 'None' })
}

$null = Import-Module $Manifest -PassThru
$module = Get-Module CrmSync
$commands = Get-Command -Module CrmSync -CommandType Cmdlet | Sort-Object Name
if (-not $commands) { throw "The module at $Manifest exports no cmdlets." }

$document = [System.Xml.XmlDocument]::new()
$null = $document.AppendChild($document.CreateXmlDeclaration('1.0', 'utf-8', $null))
$root = Add-Element $document 'helpItems'
$root.SetAttribute('schema', 'maml')
foreach ($command in $commands) {
    $pagePath = Join-Path $DocsPath "$($command.Name).md"
    if (-not (Test-Path -LiteralPath $pagePath)) { throw "docs: $($command.Name) has no help page. Write docs/en-US/$($command.Name).md (platyPS schema 2.0.0)." }
    $page = Read-CommandPage $pagePath
    if (-not $page.Examples) { throw "docs: $($command.Name) has no example." }

    $element = Add-Element $root 'command:command'
    foreach ($prefix in 'maml', 'command', 'dev') { $element.SetAttribute("xmlns:$prefix", $ns[$prefix]) }
    $details = Add-Element $element 'command:details'
    $null = Add-Element $details 'command:name' $command.Name
    $null = Add-Element $details 'command:verb' $command.Verb
    $null = Add-Element $details 'command:noun' $command.Noun
    Add-Para $details @($page.Synopsis)
    Add-Para $element $page.Description

    $syntax = Add-Element $element 'command:syntax'
    foreach ($set in $command.ParameterSets) {
        $item = Add-Element $syntax 'command:syntaxItem'
        $null = Add-Element $item 'maml:name' $command.Name
        foreach ($p in $set.Parameters | Where-Object Name -NotIn $commonParameters) {
            Add-Parameter $item $command.Name $command.Parameters[$p.Name] $p $page $set.Name
        }
    }
    $parameters = Add-Element $element 'command:parameters'
    foreach ($p in $command.Parameters.Values | Where-Object Name -NotIn $commonParameters | Sort-Object Name) {
        Add-Parameter $parameters $command.Name $p $null $page $null
    }

    $inputs = Add-Element $element 'command:inputTypes'
    foreach ($t in $page.Inputs) {
        $input = Add-Element $inputs 'command:inputType'
        $null = Add-Element (Add-Element $input 'dev:type') 'maml:name' $t.Type
        Add-Para $input $t.Description
    }
    $outputs = Add-Element $element 'command:returnValues'
    foreach ($t in $page.Outputs) {
        $output = Add-Element $outputs 'command:returnValue'
        $null = Add-Element (Add-Element $output 'dev:type') 'maml:name' $t.Type
        Add-Para $output $t.Description
    }
    if ($page.Notes) {
        $alert = Add-Element (Add-Element $element 'maml:alertSet') 'maml:alert'
        foreach ($p in $page.Notes) { $null = Add-Element $alert 'maml:para' $p }
    }

    $examples = Add-Element $element 'command:examples'
    foreach ($example in $page.Examples) {
        $node = Add-Element $examples 'command:example'
        $null = Add-Element $node 'maml:title' "--------- $($example.Title) ---------"
        $null = Add-Element $node 'dev:code' $example.Code
        $remarks = Add-Element $node 'dev:remarks'
        foreach ($p in $example.Remarks) { $null = Add-Element $remarks 'maml:para' $p }
    }

    $links = Add-Element $element 'command:relatedLinks'
    if ($page.OnlineUri) {
        $link = Add-Element $links 'maml:navigationLink'
        $null = Add-Element $link 'maml:linkText' 'Online Version:'
        $null = Add-Element $link 'maml:uri' $page.OnlineUri
    }
    foreach ($l in $page.Links) {
        $link = Add-Element $links 'maml:navigationLink'
        $null = Add-Element $link 'maml:linkText' $l.Text
        $null = Add-Element $link 'maml:uri' $l.Uri
    }
}

$null = New-Item -ItemType Directory -Path $OutputPath -Force
$mamlPath = Join-Path $OutputPath 'CrmSync.PowerShell.dll-Help.xml'
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$writer = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
try { $document.Save($writer) } finally { $writer.Dispose() }

# About topics: the markdown as the plain text Get-Help prints, headings as PowerShell's own about files have them.
foreach ($about in Get-ChildItem -LiteralPath $DocsPath -Filter 'about_*.md') {
    $text = [System.Text.StringBuilder]::new()
    $inFence = $false
    foreach ($line in Get-Content -LiteralPath $about.FullName) {
        if ($line -match '^\s*```') { $inFence = -not $inFence; continue }
        if ($inFence) { $null = $text.AppendLine('        ' + $line); continue }
        if ($line -match '^# (.+)$') { $null = $text.AppendLine('TOPIC').AppendLine('    ' + $Matches[1].Trim()); continue }
        if ($line -match '^## (.+)$') { $null = $text.AppendLine($Matches[1].Trim().ToUpperInvariant()); continue }
        if ($line -match '^###+ (.+)$') { $null = $text.AppendLine('  ' + (ConvertTo-PlainText $Matches[1].Trim())); continue }
        $null = $text.AppendLine($(if ($line.Trim()) { '    ' + (ConvertTo-PlainText $line.TrimEnd()) } else { '' }))
    }
    $target = Join-Path $OutputPath ($about.BaseName + '.help.txt')
    [System.IO.File]::WriteAllText($target, $text.ToString(), [System.Text.UTF8Encoding]::new($false))
}

Write-Host "Help: $($commands.Count) cmdlets into $mamlPath; about topics: $((Get-ChildItem -LiteralPath $DocsPath -Filter 'about_*.md').BaseName -join ', ')"
