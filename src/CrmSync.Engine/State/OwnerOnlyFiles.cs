namespace CrmSync.State;

/// <summary>
/// The state file holds couplings, job logs and connection settings: it and the files beside it (-wal, -shm,
/// .lock, .owner) are readable and writable by their owner only (0600) on Unix. SQLite gives its -wal and -shm
/// files the database file's mode, so creating the database file 0600 first is enough for those.
/// </summary>
internal static class OwnerOnlyFiles
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Options for a FileStream that creates the file owner-only.</summary>
    public static FileStreamOptions Options(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Mode;
        }

        return options;
    }

    /// <summary>
    /// Creates the database file owner-only when it is missing, and narrows it and its -wal and -shm files (left by an
    /// older CrmSync, created 0644) to owner-only when this user owns them.
    /// </summary>
    public static void EnsureDatabase(string path)
    {
        Ensure(path, create: true);
        Ensure(path + "-wal", create: false);
        Ensure(path + "-shm", create: false);
    }

    private static void Ensure(string path, bool create)
    {
        if (OperatingSystem.IsWindows() || (!create && !File.Exists(path)))
        {
            return;
        }

        if (!File.Exists(path))
        {
            using var created = new FileStream(path, Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite));
            return;
        }

        try
        {
            if ((File.GetUnixFileMode(path) & ~Mode) != 0)
            {
                File.SetUnixFileMode(path, Mode);
            }
        }
        catch (UnauthorizedAccessException)
        {
            // Another user's file: opening it reports whatever is wrong; its mode is theirs to choose.
        }
    }
}
