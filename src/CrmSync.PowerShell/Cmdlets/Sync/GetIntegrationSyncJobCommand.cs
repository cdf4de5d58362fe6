using System.Management.Automation;
using CrmSync.PowerShell.Completers;
using CrmSync.PowerShell.Infrastructure;
using CrmSync.State;
using CrmSync.Sync;

namespace CrmSync.PowerShell.Cmdlets.Sync;

/// <summary>The job log, newest first (BC's Integration Synchronization Jobs).</summary>
[Cmdlet(VerbsCommon.Get, "IntegrationSyncJob")]
[OutputType(typeof(IntegrationSyncJob))]
public sealed class GetIntegrationSyncJobCommand : ConnectedCmdlet
{
    /// <summary>Only jobs of these mappings (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("MappingName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MappingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only jobs that started at or after this time.</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    /// <summary>Only jobs with failed records.</summary>
    [Parameter]
    public SwitchParameter FailedOnly { get; set; }

    /// <summary>At most this many jobs.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? First { get; set; }

    protected override void EndProcessing()
    {
        var patterns = (Name ?? Array.Empty<string>()).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var jobs = new JobLog(ResolvedConnection.Store).GetJobs(Since is { } since ? new DateTimeOffset(since.ToUniversalTime()) : null, FailedOnly)
            .Where(j => patterns.Count == 0 || patterns.Any(p => p.IsMatch(j.MappingName)));
        foreach (var job in First is { } first ? jobs.Take(first) : jobs)
        {
            WriteObject(job);
        }
    }
}
