namespace CrmSync.Sync;

/// <summary>Keys of connection settings kept in the state store.</summary>
public static class SettingKeys
{
    /// <summary>The Dataverse systemuserid of the integration user (changes it makes are not synchronized back).</summary>
    public const string IntegrationUserId = "IntegrationUserId";

    /// <summary>The sign-in name of the person who administers the integration (Grant-IntegrationAdminRole), checked by Test-IntegrationSetup.</summary>
    public const string AdminUserPrincipalName = "AdminUserPrincipalName";
}
