using System.Management.Automation;
using System.Net;
using System.Security;
using CrmSync.Auth;
using CrmSync.Connections;

namespace CrmSync.PowerShell.Infrastructure;

/// <summary>Base of every CrmSync cmdlet: turns engine errors into ErrorRecords in one place and runs engine work.</summary>
public abstract class CrmSyncCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the user presses Ctrl+C.</summary>
    protected CancellationToken Cancellation => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>Runs engine work off the pipeline thread, writing its verbose messages and warnings here as they come.</summary>
    protected T RunEngine<T>(Func<IEngineLog, CancellationToken, Task<T>> work) =>
        RunEngine((bridge, log, cancel) => work(log, cancel));

    /// <summary>
    /// Runs engine work with the bridge, so it can also ask ShouldProcess and stream objects and errors. The call's log
    /// is this cmdlet's streams: passed to the work, and installed as <see cref="CallLog.Current"/> for what serves every
    /// call (HTTP retries, sign-in prompts) — for this call only, whatever else runs on the same connection.
    /// </summary>
    internal T RunEngine<T>(Func<PipelineBridge, IEngineLog, CancellationToken, Task<T>> work)
    {
        using var bridge = new PipelineBridge();
        var log = new BridgeLog(bridge, WriteVerbose, WriteWarning);
        return bridge.Run(async cancel =>
        {
            using var installed = CallLog.Use(log);
            return await work(bridge, log, cancel).ConfigureAwait(false);
        }, Cancellation);
    }

    /// <summary>
    /// Asks ShouldProcess once for a whole operation and says why it may not run: -WhatIf or $WhatIfPreference
    /// (<see cref="Consent.WhatIf"/>: rehearse, persist nothing), -Confirm or $ConfirmPreference answered No
    /// (<see cref="Consent.Declined"/>). With <paramref name="force"/> nobody is asked, but what-if still holds.
    /// </summary>
    internal Consent AskConsent(string target, string action, bool force = false)
    {
        if (force && !WhatIfRequested())
        {
            return Consent.Proceed;
        }

        var description = $"Performing the operation \"{action}\" on target \"{target}\".";
        if (ShouldProcess(description, $"Are you sure you want to perform this action?\n{description}", "Confirm", out var reason))
        {
            return Consent.Proceed;
        }

        return reason == ShouldProcessReason.WhatIf ? Consent.WhatIf : Consent.Declined;
    }

    // What PowerShell itself decides what-if from: the -WhatIf switch, else $WhatIfPreference. Read only for -Force,
    // which skips the confirmation but must never skip a rehearsal.
    private bool WhatIfRequested() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)
            ? bound is SwitchParameter { IsPresent: true }
            : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    /// <summary>The plain text of a SecureString, for the engine's never-printing SecretText.</summary>
    protected static string PlainText(SecureString secure) => new NetworkCredential(string.Empty, secure).Password;

    /// <summary>An application (client) id given as text, or ClientIdInvalid naming the parameter and where to find the id.</summary>
    protected static Guid ParseClientId(string value, string parameter) =>
        Guid.TryParse(value, out var id) ? id : throw new CrmSyncException("ClientIdInvalid", CrmSyncErrorKind.InvalidArgument,
            $"-{parameter} '{value}' is not an application (client) id: give the GUID shown on the app registration's Overview page.", value);

    /// <summary>
    /// An application's sign-in from the parameters that give it (the caller has checked that exactly one way is given):
    /// a managed identity, a client secret, or a certificate from a file or (Windows) the store by thumbprint.
    /// </summary>
    protected CredentialSpec ApplicationCredential(bool managedIdentity, SecureString? clientSecret, string? certificatePath, SecureString? certificatePassword, string? certificateThumbprint) =>
        managedIdentity ? new ManagedIdentityCredentialSpec()
        : clientSecret is not null ? new ClientSecretCredentialSpec(new SecretText(PlainText(clientSecret)))
        : new CertificateCredentialSpec
        {
            CertificatePath = certificatePath is null ? null : GetUnresolvedProviderPathFromPSPath(certificatePath),
            CertificatePassword = certificatePassword is null ? null : new SecretText(PlainText(certificatePassword)),
            Thumbprint = certificateThumbprint,
        };

    /// <summary>A non-terminating error for one record; processing continues.</summary>
    protected void WriteEngineError(CrmSyncException exception, object? target = null) =>
        WriteError(ToErrorRecord(exception, target));

    /// <summary>A terminating error: the command cannot go on (bad connection, invalid state file).</summary>
    protected void ThrowEngineError(CrmSyncException exception, object? target = null) =>
        ThrowTerminatingError(ToErrorRecord(exception, target));

    internal static ErrorRecord ToErrorRecord(CrmSyncException exception, object? target = null) =>
        new(exception, exception.ErrorId, ToCategory(exception.Kind), exception.Target ?? target);

    internal static ErrorCategory ToCategory(CrmSyncErrorKind kind) => kind switch
    {
        CrmSyncErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        CrmSyncErrorKind.InvalidData => ErrorCategory.InvalidData,
        CrmSyncErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        CrmSyncErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        CrmSyncErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        CrmSyncErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        CrmSyncErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        CrmSyncErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        CrmSyncErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        CrmSyncErrorKind.ResourceExists => ErrorCategory.ResourceExists,
        _ => ErrorCategory.NotSpecified,
    };
}

/// <summary>Base of cmdlets that work on a connection: -Connection, else the runspace's current one.</summary>
public abstract class ConnectedCmdlet : CrmSyncCmdlet
{
    /// <summary>The connection to use; defaults to the one from Connect-CrmSync, else the default local connection.</summary>
    [Parameter]
    [ValidateNotNull]
    public CrmSyncConnection? Connection { get; set; }

    private CrmSyncConnection? _resolved;

    protected CrmSyncConnection ResolvedConnection
    {
        get
        {
            if (_resolved is null)
            {
                try
                {
                    _resolved = Connection ?? DefaultConnection.GetOrOpenDefault();
                }
                catch (CrmSyncException ex)
                {
                    ThrowEngineError(ex);
                }
            }

            return _resolved!;
        }
    }

    /// <summary>
    /// Runs engine work on the connection, its messages on this pipeline. Ctrl+C ends it with
    /// <paramref name="stoppedWarning"/> (null result); an engine error ends the command; the progress bar
    /// <paramref name="activityId"/> is closed either way.
    /// </summary>
    internal T? RunConnected<T>(int activityId, string activity, string stoppedWarning, Func<PipelineBridge, IEngineLog, CancellationToken, Task<T>> work)
        where T : class
    {
        _ = ResolvedConnection; // resolved here, so a missing connection ends the command before any work starts
        try
        {
            return RunEngine(work);
        }
        catch (OperationCanceledException)
        {
            WriteWarning(stoppedWarning);
            return null;
        }
        catch (CrmSyncException ex)
        {
            ThrowEngineError(ex);
            return null;
        }
        finally
        {
            try
            {
                WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
            catch (PipelineStoppedException)
            {
                // Stopped: the bar goes with the pipeline, and the stop itself is what propagates.
            }
        }
    }
}

/// <summary>The answer to <see cref="CrmSyncCmdlet.AskConsent"/>.</summary>
internal enum Consent
{
    /// <summary>Run it.</summary>
    Proceed,

    /// <summary>-WhatIf or $WhatIfPreference: report what would be done; persist nothing.</summary>
    WhatIf,

    /// <summary>Confirmation answered No.</summary>
    Declined,
}
