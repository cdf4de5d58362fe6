namespace CrmSync.PowerShell.Tests;

internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Output(string file) => Path.Combine(AppContext.BaseDirectory, file);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CrmSync.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("CrmSync.sln not found above " + AppContext.BaseDirectory);
    }
}
