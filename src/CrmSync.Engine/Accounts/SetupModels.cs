namespace CrmSync.Accounts;

/// <summary>What happened to one setup step.</summary>
public enum StepOutcome
{
    /// <summary>Done now.</summary>
    Done,
    /// <summary>Nothing to do: it was already so.</summary>
    AlreadyDone,
    /// <summary>-WhatIf: it would be done.</summary>
    WouldDo,
    /// <summary>Not done because an earlier step did not happen.</summary>
    NotReached,
    Failed,
}

public sealed record SetupStep(string Name, StepOutcome Outcome, string Detail)
{
    public override string ToString() => $"{Name}: {Outcome} — {Detail}";
}

/// <summary>How account setup reports back to its caller, one observer per call (the cmdlet asks ShouldProcess and writes progress, verbose messages and warnings on the pipeline thread).</summary>
public interface ISetupObserver : IEngineLog
{
    bool ShouldProcess(string target, string action);

    void Progress(string activity, string status, int percent);
}

/// <summary>The outcome of New-IntegrationUser: each step and the identities involved.</summary>
public sealed record IntegrationUserResult
{
    /// <summary>User (licensed, non-interactive Entra user) or Application (application user).</summary>
    public required string Mode { get; init; }

    public string? UserPrincipalName { get; init; }

    public Guid? ApplicationId { get; init; }

    public Guid? EntraObjectId { get; init; }

    public Guid? SystemUserId { get; init; }

    public IReadOnlyList<SetupStep> Steps { get; init; } = Array.Empty<SetupStep>();

    /// <summary>The generated password, only when asked for (-ShowPassword); never stored or logged.</summary>
    public string? Password { get; init; }

    public bool Succeeded => Steps.All(s => s.Outcome is StepOutcome.Done or StepOutcome.AlreadyDone or StepOutcome.WouldDo);
}

/// <summary>The admin user's roles after Grant-IntegrationAdminRole.</summary>
public sealed record AdminRoleResult
{
    public required string User { get; init; }

    public Guid SystemUserId { get; init; }

    public IReadOnlyList<string> Roles { get; init; } = Array.Empty<string>();

    public IReadOnlyList<SetupStep> Steps { get; init; } = Array.Empty<SetupStep>();
}

/// <summary>One prerequisite of the integration, checked (Test-IntegrationSetup).</summary>
public sealed record SetupCheck(string Area, string Check, string Target, CheckStatus Status, string Detail, string? Fix);

public enum CheckStatus
{
    Pass,
    Warning,
    Fail,
}

/// <summary>Grant-IntegrationAdminRole -AssignLicense: the Sales license for an admin who is not in Dataverse yet, and how long to wait for the user sync.</summary>
public sealed record AdminLicenseOptions
{
    public string SkuPartNumber { get; init; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Two-letter country code when the user has none; default: the tenant's country.</summary>
    public string? UsageLocation { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Who the setup runs as: that account is never made the integration user.</summary>
internal sealed record ConnectedAccount(Guid? DataverseUserId, Guid? BusinessUnitId, string? Identity)
{
    public static ConnectedAccount Of(Connections.CrmSyncConnection connection) =>
        new(connection.DataverseUserId, connection.DataverseBusinessUnitId, connection.Identity);
}
