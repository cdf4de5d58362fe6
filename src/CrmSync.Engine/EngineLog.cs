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

/// <summary>Forwards to whichever sink is current (the cmdlet running now), or drops messages.</summary>
public sealed class EngineLogRelay : IEngineLog
{
    private volatile IEngineLog? _target;

    public IEngineLog? Target
    {
        get => _target;
        set => _target = value;
    }

    public void Verbose(string message) => _target?.Verbose(message);

    public void Warning(string message) => _target?.Warning(message);
}
