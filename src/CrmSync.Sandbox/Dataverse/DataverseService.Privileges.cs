
namespace CrmSync.Sandbox.Dataverse;

/// <summary>Who the caller is and what its security roles allow (privileges per table, §D.8).</summary>
public sealed partial class DataverseService
{
    // ---- Identity and privileges ----------------------------------------------------------------

    /// <summary>The caller's systemuser: application users by applicationid, users by Entra object id (§D.1).</summary>
    private Row ResolveCaller(SandboxIdentity identity)
    {
        var users = Table(DataverseSchemas.SystemUsers);
        var column = identity.Kind == IdentityKind.Application ? "applicationid" : "azureactivedirectoryobjectid";
        var value = identity.Kind == IdentityKind.Application ? identity.ClientId : identity.ObjectId;
        var user = value is null ? null : users.FindUnique(users.Schema.IndexOf(column), value.Value, except: null);
        if (user is null)
        {
            throw new ServiceException(403, "0x80072560", $"The user is not a member of the organization. (Identity {identity.DisplayName}, {identity.ObjectId}: add it as a user or application user of the environment.)");
        }

        if (user.Values[users.Schema.IndexOf("isdisabled")] is true)
        {
            throw new ServiceException(403, "0x8004001B", $"The user with SystemUserId={user.Values[users.Schema.KeyIndex]} is disabled. Enable the user or use another identity.");
        }

        return user;
    }

    private static Guid IdOf(Row row, EntitySchema schema) => (Guid)row.Values[schema.KeyIndex]!;

    /// <summary>Role names held by a user (roles are copies per business unit; their names are the same).</summary>
    public IReadOnlyList<Row> RolesOf(Guid systemUserId)
    {
        var links = Table(DataverseSchemas.UserRoles);
        var roles = Table(DataverseSchemas.Roles);
        var userIndex = links.Schema.IndexOf("systemuserid");
        var roleIndex = links.Schema.IndexOf("roleid");
        return links.Rows.Where(r => Equals(r.Values[userIndex], systemUserId))
            .Select(r => roles.Get((Guid)r.Values[roleIndex]!))
            .OfType<Row>()
            .ToList();
    }

    private void RequirePrivilege(Row caller, string operation, EntitySchema schema) =>
        RequirePrivilege(caller, $"prv{operation}{DataverseSchemas.PrivilegeName(schema)}", schema.LogicalName);

    private void RequirePrivilege(Row caller, string privilege, string entity)
    {
        var callerId = IdOf(caller, DataverseSchemas.SystemUser);
        var roles = RolesOf(callerId);
        var nameIndex = DataverseSchemas.Role.IndexOf("name");
        var granted = roles.Select(r => r.Values[nameIndex] as string)
            .Where(n => n is not null && RolePrivileges.ContainsKey(n))
            .SelectMany(n => RolePrivileges[n!]);
        if (granted.Any(p => p == "*" || string.Equals(p, privilege, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        throw new ServiceException(403, "0x80040220",
            $"Principal user (Id={callerId}, type=8, roleCount={roles.Count}, privilegeCount={granted.Count()}), is missing {privilege} privilege (Id={PrivilegeId(privilege)}) on OTC={ObjectTypeCode(entity)} for entity '{entity}'. Context: Method: {privilege[3..]}; Principal user: {callerId}.");
    }

    private static Guid PrivilegeId(string privilege)
    {
        var bytes = System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(privilege));
        return new Guid(bytes);
    }

    private static int ObjectTypeCode(string entity) => entity switch
    {
        "account" => 1,
        "contact" => 2,
        "systemuser" => 8,
        "businessunit" => 10,
        "transactioncurrency" => 9105,
        "role" => 1036,
        "organization" => 1019,
        "team" => 9,
        _ => 0,
    };
}
