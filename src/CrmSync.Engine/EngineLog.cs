namespace CrmSync;

/// <summary>
/// Where the engine reports what it does. The cmdlets route it to Write-Verbose/Write-Warning on the
/// pipeline thread; the engine never writes to a console. Messages never contain secrets.
/// </summary>
public interface IEngineLog
{
    void Verbose(string message);

    void Warning(string message);
}

/// <summary>
/// The log of the engine call running now, for code that serves every call (the HTTP handler's retries, a
/// device-code prompt). The caller that starts an engine call installs its observer with <see cref="Use"/>; the value
/// flows with that call's async work only, so two calls on one connection — two runspaces — never hear each other.
/// </summary>
public static class CallLog
{
    private static readonly AsyncLocal<IEngineLog?> Installed = new();

    /// <summary>The current call's log; outside any call, one that drops messages.</summary>
    public static IEngineLog Current => Installed.Value ?? Silent.Instance;

    /// <summary>Makes <paramref name="log"/> the log of the work that follows, until disposed.</summary>
    public static IDisposable Use(IEngineLog log)
    {
        var previous = Installed.Value;
        Installed.Value = log;
        return new Restore(previous);
    }

    private sealed class Restore(IEngineLog? previous) : IDisposable
    {
        public void Dispose() => Installed.Value = previous;
    }

    private sealed class Silent : IEngineLog
    {
        public static readonly Silent Instance = new();

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }
    }
}
