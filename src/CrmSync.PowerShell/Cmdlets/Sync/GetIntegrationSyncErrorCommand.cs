using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>Per-record errors of synchronization jobs (BC's Integration Synchronization Errors).</summary>
[Cmdlet(VerbsCommon.Get, "IntegrationSyncError")]
[OutputType(typeof(IntegrationSyncError))]
public sealed class GetIntegrationSyncErrorCommand : ConnectedCmdlet
{
    /// <summary>Errors of these jobs; binds from job objects (their Id).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    public Guid[]? JobId { get; set; }

    /// <summary>Only errors of these mappings (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var patterns = (Name ?? Array.Empty<string>()).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var log = new JobLog(ResolvedConnection.Store);
        var errors = JobId is { Length: > 0 } ids ? ids.SelectMany(id => log.GetErrors(id)) : log.GetErrors();
        foreach (var error in errors.Where(e => patterns.Count == 0 || patterns.Any(p => p.IsMatch(e.MappingName))))
        {
            WriteObject(error);
        }
    }
}
