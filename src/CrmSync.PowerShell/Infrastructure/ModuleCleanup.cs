using System.Management.Automation;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>Remove-Module closes the runspace's connection (its state file and HTTP clients).</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => DefaultConnection.CloseCurrent();
}
