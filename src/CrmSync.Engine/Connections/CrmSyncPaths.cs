namespace CrmSync.Connections;

/// <summary>Where state files live by default.</summary>
public static class CrmSyncPaths
{
    /// <summary>Environment variable that overrides the default state directory (automation, tests).</summary>
    public const string StateDirectoryVariable = "CRMSYNC_STATE_DIR";

    public const string DefaultConnectionName = "Default";

    /// <summary>$CRMSYNC_STATE_DIR, else CrmSync under the user's local application data folder.</summary>
    public static string DefaultStateDirectory
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable(StateDirectoryVariable);
            if (!string.IsNullOrWhiteSpace(overridden))
            {
                return Path.GetFullPath(overridden);
            }

            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            if (string.IsNullOrEmpty(root))
            {
                root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            }

            return Path.Combine(root, "CrmSync");
        }
    }

    /// <summary>The state file of a named connection: &lt;state directory&gt;/&lt;name&gt;.db.</summary>
    public static string DefaultStatePath(string connectionName)
    {
        var invalid = Path.GetInvalidFileNameChars().Concat(new[] { '/', '\\', ':' }).ToHashSet();
        var safe = new string(connectionName.Trim().Select(c => invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray());
        if (safe.Length == 0 || safe.All(c => c == '.'))
        {
            throw new CrmSyncException("ConnectionNameInvalid", CrmSyncErrorKind.InvalidArgument,
                $"'{connectionName}' cannot name a connection. Use letters, digits, '-' or '_'.", connectionName);
        }

        return Path.Combine(DefaultStateDirectory, safe.ToLowerInvariant() + ".db");
    }
}
