using System.Management.Automation;
using CrmSync.PowerShell.Infrastructure;

namespace CrmSync.PowerShell.Cmdlets.Sandbox;

/// <summary>What the two statistics cmdlets share: which sandbox (piped in, by URL, or the current connection's).</summary>
public abstract class SandboxStatisticCmdlet : CrmSyncCmdlet
{
    /// <summary>The sandbox's base URL; binds from Start-CrmSyncSandbox's output. Default: the sandbox of the current connection.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("BaseUrl")]
    [ValidateNotNullOrEmpty]
    public string? SandboxUrl { get; set; }

    /// <summary>The sandbox to ask: -SandboxUrl, else the current connection's (which must be a sandbox).</summary>
    protected string ResolveSandboxUrl()
    {
        if (SandboxUrl is not null)
        {
            return SandboxUrl;
        }

        if (DefaultConnection.Get() is { IsSandbox: true, DataverseUrl: { } dataverse })
        {
            // The sandbox serves Dataverse under <base>/dataverse.
            return dataverse[..dataverse.LastIndexOf("/dataverse", StringComparison.Ordinal)] + "/";
        }

        ThrowEngineError(new CrmSyncException("SandboxNotGiven", CrmSyncErrorKind.InvalidArgument,
            "Which sandbox? Pipe one in (Start-CrmSyncSandbox | …), give -SandboxUrl, or connect to one with Connect-CrmSync -Sandbox."));
        return string.Empty;
    }
}
