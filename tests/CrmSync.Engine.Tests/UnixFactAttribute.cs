namespace CrmSync.Engine.Tests;

/// <summary>
/// A test of something only Linux and macOS have (POSIX signals, file modes): on Windows it is reported as skipped,
/// with the reason, never counted as passed.
/// </summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Skip = "Linux and macOS only: POSIX signals and file modes do not exist on Windows.";
        }
    }
}
