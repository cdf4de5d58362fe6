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

# What the three services hold, counted as an outside client would: to prove a command changed nothing there.
function Get-SandboxFootprint($Sandbox) {
    $dv = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox Dataverse)" }
    $bc = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox BusinessCentral)" }
    $graph = @{ Authorization = "Bearer $(Get-SandboxToken $Sandbox Graph)" }
    $api = $Sandbox.DataverseUrl + '/api/data/v9.2/'
    $company = $Sandbox.BusinessCentralApiUrl + "companies($($Sandbox.CompanyId))/"
    $count = { param($uri, $headers) @((Invoke-RestMethod -Uri $uri -Headers $headers).value).Count }
    [ordered]@{
        GraphUsers       = & $count ($Sandbox.GraphUrl + '/users?$top=999') $graph
        LicensedUsers    = @((Invoke-RestMethod -Uri ($Sandbox.GraphUrl + '/users?$top=999&$select=id,assignedLicenses') -Headers $graph).value | Where-Object { @($_.assignedLicenses).Count }).Count
        SystemUsers      = & $count ($api + 'systemusers?$select=systemuserid') $dv
        Accounts         = & $count ($api + 'accounts?$select=accountid') $dv
        Contacts         = & $count ($api + 'contacts?$select=contactid') $dv
        Currencies       = & $count ($api + 'transactioncurrencies?$select=transactioncurrencyid') $dv
        Customers        = & $count ($company + 'customers') $bc
        Vendors          = & $count ($company + 'vendors') $bc
        Salespeople      = & $count ($company + 'salespeoplePurchasers') $bc
        AdminRoles       = & $count ($api + "systemusers($((Invoke-RestMethod -Uri ($api + 'WhoAmI') -Headers $dv).UserId))/systemuserroles_association?`$select=roleid") $dv
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
