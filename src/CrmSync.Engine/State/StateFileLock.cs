using System.Diagnostics;

namespace CrmSync.State;

/// <summary>
/// Makes a state file single-writer: an exclusive lock on "&lt;file&gt;.lock" (the OS drops it when the process
/// dies, so a crash never leaves a stale lock) plus an "&lt;file&gt;.owner" note saying which process holds it.
/// </summary>
internal sealed class StateFileLock : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _ownerPath;

    private StateFileLock(FileStream lockStream, string ownerPath)
    {
        _lock = lockStream;
        _ownerPath = ownerPath;
    }

    public static StateFileLock Acquire(string statePath)
    {
        var lockPath = statePath + ".lock";
        var ownerPath = statePath + ".owner";
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, OwnerOnlyFiles.Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new CrmSyncException("StateStoreInUse", CrmSyncErrorKind.ResourceBusy,
                $"The state file '{statePath}' is in use by {DescribeOwner(ownerPath)}. " +
                "Close that session (Disconnect-CrmSync) or connect with another -StatePath.", statePath, ex);
        }

        using var process = Process.GetCurrentProcess();
        using (var owner = new StreamWriter(new FileStream(ownerPath, OwnerOnlyFiles.Options(FileMode.Create, FileAccess.Write, FileShare.Read))))
        {
            owner.Write($"{Environment.ProcessId}\n{process.ProcessName}\n{Environment.MachineName}\n{DateTimeOffset.UtcNow:o}\n");
        }

        return new StateFileLock(stream, ownerPath);
    }

    private static string DescribeOwner(string ownerPath)
    {
        try
        {
            var lines = File.ReadAllLines(ownerPath);
            if (lines.Length >= 2 && int.TryParse(lines[0], out var pid))
            {
                var self = pid == Environment.ProcessId ? ", this process: another connection in this session holds it" : string.Empty;
                return $"process {pid} ({lines[1]}{self})";
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return "another process";
    }

    public void Dispose()
    {
        try
        {
            File.Delete(_ownerPath);
        }
        catch (IOException)
        {
        }

        _lock.Dispose();
    }
}
