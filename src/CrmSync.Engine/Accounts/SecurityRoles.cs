namespace CrmSync.Accounts;

/// <summary>The Dataverse security roles the setup grants and checks, by name (docs/reference/integration.md §H.1).</summary>
public static class SecurityRoles
{
    public const string SystemAdministrator = "System Administrator";
    public const string SystemCustomizer = "System Customizer";
    public const string IntegrationRole = "Business Central Dataverse Integration";
    public const string SalespersonRole = "Salesperson";

    internal static bool IsAdminRole(string role) =>
        role.Equals(SystemAdministrator, StringComparison.OrdinalIgnoreCase) || role.Equals(SystemCustomizer, StringComparison.OrdinalIgnoreCase);

    internal static bool Holds(IReadOnlyCollection<string> roles, string role) => roles.Contains(role, StringComparer.OrdinalIgnoreCase);

    /// <summary>The roles the admin lacks: System Administrator, System Customizer, and a non-admin role (<paramref name="additionalRole"/>) unless one is held.</summary>
    internal static List<string> MissingAdminRoles(IReadOnlyCollection<string> held, string additionalRole)
    {
        var missing = new[] { SystemAdministrator, SystemCustomizer }.Where(role => !Holds(held, role)).ToList();
        if (held.All(IsAdminRole))
        {
            missing.Add(additionalRole);
        }

        return missing;
    }
}
