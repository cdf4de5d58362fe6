# Dot-sourced by every tests/pester file in BeforeAll: where the built module is, and state files kept out of
# the user's profile. build.ps1 -Task Test (tools/Invoke-PesterTests.ps1) sets the variables; run alone,
# after ./build.ps1 -Task Build, Invoke-Pester ./tests/pester uses the repository's module/ folder.
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:Manifest = if ($env:CRMSYNC_MODULE_MANIFEST) { $env:CRMSYNC_MODULE_MANIFEST } else { Join-Path $RepoRoot 'module/CrmSync.psd1' }
if (-not (Test-Path -LiteralPath $Manifest)) { throw "The built module is missing at ${Manifest}: run ./build.ps1 -Task Build first." }
if (-not $env:CRMSYNC_STATE_DIR) { $env:CRMSYNC_STATE_DIR = Join-Path ([IO.Path]::GetTempPath()) "crmsync-pester-$([guid]::NewGuid().ToString('N'))" }

# Child pwsh processes (Invoke-ChildPwsh, Invoke-InteractiveChildPwsh): a fresh session, a different home, answers typed.
. (Join-Path $RepoRoot 'tools/ChildPwsh.ps1')

# A value of Directory.Packages.props / Directory.Build.props (package versions, the module version).
function Get-RepoProperty([string] $File, [string] $XPath) {
    $node = ([xml](Get-Content (Join-Path $RepoRoot $File) -Raw)).SelectSingleNode($XPath)
    if (-not $node) { throw "$File has no $XPath." }
    if ($node -is [System.Xml.XmlElement] -and $node.HasAttribute('Version')) { $node.GetAttribute('Version') } else { $node.InnerText.Trim() }
}

# The NuGet global packages folder (where dotnet restore put Pester and the coexistence packages).
function Get-NuGetPackageFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = & dotnet nuget locals global-packages --list
    if ("$line" -notmatch 'global-packages:\s*(.+)$') { throw "Cannot find the NuGet packages folder: $line" }
    $Matches[1].Trim()
}

# A bearer token from the sandbox's token endpoint (Business Central, Dataverse or Graph): for its setup application by
# default, for another application with -ClientId/-ClientSecret, or for a user with -UserName/-Password.
function Get-SandboxToken($Sandbox, [ValidateSet('BusinessCentral', 'Dataverse', 'Graph')] [string] $Service, $ClientId, $ClientSecret, $UserName, $Password) {
    $scope = switch ($Service) {
        'BusinessCentral' { 'https://api.businesscentral.dynamics.com/.default' }
        'Dataverse' { 'https://contoso.crm.dynamics.com/.default' }
        'Graph' { 'https://graph.microsoft.com/.default' }
    }
    $body = if ($UserName) { @{ grant_type = 'password'; username = $UserName; password = $Password; scope = $scope } }
    else {
        @{ grant_type = 'client_credentials'; client_id = "$(if ($ClientId) { $ClientId } else { $Sandbox.SetupAppClientId })"
            client_secret = $(if ($ClientSecret) { $ClientSecret } else { $Sandbox.SetupAppClientSecret }); scope = $scope }
    }
    (Invoke-RestMethod -Method Post -Uri $Sandbox.TokenUrl -Body $body).access_token
}

# A call to one of the sandbox's services as an outside client would make it: the path is relative to the Dataverse
# Web API root, the Business Central company, or Graph's root.
function Invoke-SandboxApi($Sandbox, [ValidateSet('BusinessCentral', 'Dataverse', 'Graph')] [string] $Service, [string] $Path,
    [string] $Method = 'Get', $Body, [string] $Token, [hashtable] $Headers = @{}) {
    if (-not $Token) { $Token = Get-SandboxToken $Sandbox $Service }
    $root = switch ($Service) {
        'Dataverse' { $Sandbox.DataverseUrl + '/api/data/v9.2/' }
        'BusinessCentral' { $Sandbox.BusinessCentralApiUrl + "companies($($Sandbox.CompanyId))/" }
        'Graph' { $Sandbox.GraphUrl + '/' }
    }
    $request = @{ Method = $Method; Uri = $root + $Path; Headers = @{ Authorization = "Bearer $Token" } + $Headers }
    if ($null -ne $Body) { $request.Body = ($Body | ConvertTo-Json -Depth 5); $request.ContentType = 'application/json' }
    Invoke-RestMethod @request
}

# The endpoints of the tenant-shaped sandbox as Connect-CrmSync parameters, as an admin gives a real tenant's: text for
# the -Script of Invoke-TrustingPwsh, where $s is the sandbox.
$script:TenantEndpoints = '-TenantId $s.TenantId -Environment $s.EnvironmentName -DataverseUrl $s.DataverseUrl -BusinessCentralUrl $s.BusinessCentralUrl -GraphUrl $s.GraphUrl'

# Runs -Script in a fresh pwsh that trusts $Sandbox's TLS certificate (an HTTPS sandbox: Start-CrmSyncSandbox -Https), as a
# developer trusts a development certificate (SSL_CERT_FILE), with $s (the sandbox) and $Secret (the setup application's
# secret) defined; -Prelude runs before the module is imported. Returns the last line printed, parsed from JSON, and fails
# with all it printed.
function Invoke-TrustingPwsh($Sandbox, [string] $Script, [hashtable] $Environment = @{}, [string] $Prelude = '') {
    $description = Join-Path $TestDrive "sandbox-$($Sandbox.ProcessId).json"
    $Sandbox | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $description
    $variables = @{ SSL_CERT_FILE = $Sandbox.TlsCertificatePath } + $Environment
    $saved = @{}
    foreach ($name in $variables.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $variables[$name]) }
    try {
        $out = Invoke-ChildPwsh -Command "
            `$ErrorActionPreference = 'Stop'
            $Prelude
            Import-Module '$Manifest'
            `$s = Get-Content -Raw -LiteralPath '$description' | ConvertFrom-Json
            `$Secret = ConvertTo-SecureString `$s.SetupAppClientSecret -AsPlainText -Force
            function Get-SignIns { (Invoke-RestMethod (`$s.BaseUrl + '_sandbox/statistics')).signIns }
            $Script" 2>&1
    }
    finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
    $text = $out -join "`n"
    $LASTEXITCODE | Should -Be 0 -Because $text
    try { ($out | Select-Object -Last 1) | ConvertFrom-Json } catch { throw "The child printed no JSON result: $text" }
}

# What the three services hold, read as an outside client would and fingerprinted by content (every property, etags and
# modified times included): to prove a command changed nothing there — no row added, removed or updated, no role or
# license assigned. One SHA-256 per collection, so a difference names the collection.
function Get-SandboxFootprint($Sandbox) {
    $dv = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox Dataverse)"; Prefer = 'odata.maxpagesize=5000' }
    $bc = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox BusinessCentral)" }
    $graph = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox Graph)" }
    $api = $Sandbox.DataverseUrl + '/api/data/v9.2/'
    $company = $Sandbox.BusinessCentralApiUrl + "companies($($Sandbox.CompanyId))/"
    $all = {
        param($uri, $headers)
        $rows = [Collections.Generic.List[object]]::new()
        for ($page = 0; $uri -and $page -lt 200; $page++) {
            $answer = Invoke-RestMethod -Uri $uri -Headers $headers
            foreach ($row in @($answer.value)) { $rows.Add($row) }
            $uri = $answer.'@odata.nextLink'
        }
        , $rows
    }
    $hash = { param($rows) [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($rows | ConvertTo-Json -Depth 6 -Compress)))) }
    $users = & $all ($api + 'systemusers') $dv
    $roles = foreach ($user in $users) { "$($user.systemuserid):" + ((& $all ($api + "systemusers($($user.systemuserid))/systemuserroles_association?`$select=roleid") $dv).roleid | Sort-Object) -join ',' }
    $footprint = [ordered]@{}
    foreach ($set in 'accounts', 'contacts', 'transactioncurrencies') { $footprint["Dataverse $set"] = & $hash (& $all ($api + $set) $dv) }
    $footprint['Dataverse systemusers'] = & $hash $users
    $footprint['Dataverse role assignments'] = & $hash $roles
    foreach ($set in 'customers', 'vendors', 'contacts', 'currencies', 'salespeoplePurchasers') { $footprint["Business Central $set"] = & $hash (& $all ($company + $set) $bc) }
    $footprint['Graph users'] = & $hash (& $all ($Sandbox.GraphUrl + '/users?$top=999&$select=id,userPrincipalName,displayName,accountEnabled,usageLocation,assignedLicenses,jobTitle,department') $graph)
    $footprint | ConvertTo-Json -Compress
}

# What a connection's state holds, by content: mappings with their field mappings and settings, couplings, jobs.
function Get-StateFootprint {
    [ordered]@{
        Mappings = Get-IntegrationTableMapping | ConvertTo-Json -Depth 4 -Compress
        FieldMappings = Get-IntegrationFieldMapping | ConvertTo-Json -Depth 3 -Compress
        Couplings = Get-IntegrationCoupling | ConvertTo-Json -Depth 3 -Compress
        Jobs = Get-IntegrationSyncJob | ConvertTo-Json -Depth 3 -Compress
    } | ConvertTo-Json -Compress
}

# The sandbox's integration application as the Dataverse application user synchronization writes as (the article:
# never synchronize as the administrator). Connect-CrmSync -Sandbox already signs it in as the integration identity.
function Initialize-SandboxIntegrationUser($Sandbox) {
    $null = New-IntegrationUser -ApplicationId $Sandbox.IntegrationAppClientId -Confirm:$false -ErrorAction Stop
}

# A sandbox with this session connected to it (the integration identity's Dataverse user created with
# -IntegrationUser), and its end: every Describe that needs one starts and stops its own.
function Start-ConnectedSandbox([string] $Name, [string] $Profile = 'Unlimited', [int] $Customers = 0, [switch] $IntegrationUser) {
    $sandbox = Start-CrmSyncSandbox -Profile $Profile -Customers $Customers -Confirm:$false
    $sandbox | Connect-CrmSync -Name $Name -StatePath (Join-Path $TestDrive "$Name.db") -WarningAction SilentlyContinue
    if ($IntegrationUser) { Initialize-SandboxIntegrationUser $sandbox }
    $sandbox
}

function Stop-ConnectedSandbox($Sandbox) {
    Disconnect-CrmSync -ErrorAction SilentlyContinue
    $Sandbox | Stop-CrmSyncSandbox -Confirm:$false
}

# A throwaway PostgreSQL cluster (initdb + pg_ctl into a temporary folder, 127.0.0.1 on a free port), as the
# postgres system user when running as root, since initdb refuses root. Fails, never skips, when it cannot start.
function Start-TestPostgres {
    $tools = @($env:PATH -split ':') + @(Get-ChildItem /usr/lib/postgresql -Directory -ErrorAction SilentlyContinue |
        Sort-Object Name -Descending | ForEach-Object { Join-Path $_.FullName 'bin' })
    $bin = $tools | Where-Object { $_ -and (Test-Path (Join-Path $_ 'initdb')) } | Select-Object -First 1
    if (-not $bin) { throw "PostgreSQL's initdb is not installed (Debian: apt-get install postgresql); the PostgreSQL state tests need it." }
    $folder = Join-Path ([IO.Path]::GetTempPath()) "crmsync-pg-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $folder
    $asRoot = (& id -u) -eq '0'
    if ($asRoot) { & chown -R postgres $folder }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $server = { param([string] $Tool, [string[]] $Arguments)
        if ($asRoot) { & runuser -u postgres -- (Join-Path $bin $Tool) @Arguments } else { & (Join-Path $bin $Tool) @Arguments } }
    $out = & $server initdb @('-D', "$folder/data", '-A', 'trust', '-U', 'crmsync', '--no-locale', '-E', 'UTF8') 2>&1
    if ($LASTEXITCODE -ne 0) { throw "initdb failed: $out" }
    $out = & $server pg_ctl @('-D', "$folder/data", '-l', "$folder/server.log", '-w', '-t', '60', 'start', '-o', "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=off") 2>&1
    if ($LASTEXITCODE -ne 0) { throw "pg_ctl start failed: $out $(Get-Content "$folder/server.log" -Raw -ErrorAction SilentlyContinue)" }
    [pscustomobject]@{ Folder = $folder; Port = $port; Bin = $bin; AsRoot = $asRoot; Psql = (Get-Command psql -ErrorAction SilentlyContinue).Source ?? (Join-Path $bin 'psql') }
}

# A new empty database on the cluster, as a connection string.
function New-TestPostgresDatabase($Cluster, [string] $Name) {
    $database = "$($Name.ToLowerInvariant())_$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $out = & $Cluster.Psql -h 127.0.0.1 -p $Cluster.Port -U crmsync -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "CREATE DATABASE failed: $out" }
    "Host=127.0.0.1;Port=$($Cluster.Port);Username=crmsync;Database=$database"
}

function Stop-TestPostgres($Cluster) {
    if (-not $Cluster) { return }
    $pgctl = Join-Path $Cluster.Bin 'pg_ctl'
    if ($Cluster.AsRoot) { $null = & runuser -u postgres -- $pgctl -D "$($Cluster.Folder)/data" -m immediate -w stop 2>&1 }
    else { $null = & $pgctl -D "$($Cluster.Folder)/data" -m immediate -w stop 2>&1 }
    Remove-Item $Cluster.Folder -Recurse -Force -ErrorAction SilentlyContinue
}
