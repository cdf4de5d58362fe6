namespace CrmSync.Sandbox.Core;

/// <summary>The sandbox's wall clock: the system clock plus an offset tests can move forward.</summary>
public sealed class SandboxClock
{
    private long _offsetTicks;

    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow.AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
