namespace CrmSync.LocalSandbox;

/// <summary>A running sandbox child process and how to reach its three services.</summary>
public sealed record SandboxInstance
{
    public required int ProcessId { get; init; }

    public required string BaseUrl { get; init; }

    /// <summary>Dataverse environment URL (the Web API is at …/api/data/v9.2/).</summary>
    public required string DataverseUrl { get; init; }

    /// <summary>BC API v2.0 root, …/api/v2.0/.</summary>
    public required string BusinessCentralApiUrl { get; init; }

    public required string GraphUrl { get; init; }

    public required string TokenUrl { get; init; }

    public required Guid TenantId { get; init; }

    public required string EnvironmentName { get; init; }

    /// <summary>The sample company (null when started without sample data).</summary>
    public Guid? CompanyId { get; init; }

    /// <summary>Client id of the sample setup application (System Administrator in the sandbox org).</summary>
    public Guid? SetupAppClientId { get; init; }

    /// <summary>The sandbox's fixed, public sample secret for the setup application (not a real credential).</summary>
    public string? SetupAppClientSecret { get; init; }

    /// <summary>Client id of the application meant to become the integration user.</summary>
    public Guid? IntegrationAppClientId { get; init; }

    public string? IntegrationAppClientSecret { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public override string ToString() => $"CrmSync sandbox (process {ProcessId}) at {BaseUrl}";
}
