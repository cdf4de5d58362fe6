using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>Role association (§D.8), WhoAmI and the bulk messages CreateMultiple/UpdateMultiple/UpsertMultiple.</summary>
public sealed partial class DataverseService
{
    // ---- Role association (§D.8) ----------------------------------------------------------------

    private ServiceResponse RoleAssociation(ServiceRequest request, Row caller, Guid userId, Guid? roleInPath, bool isRef)
    {
        var users = Table(DataverseSchemas.SystemUsers);
        var roles = Table(DataverseSchemas.Roles);
        var links = Table(DataverseSchemas.UserRoles);
        var user = users.Get(userId) ?? throw NotFound(users.Schema, userId);
        if (request.Method == "GET" && !isRef && roleInPath is null)
        {
            RequirePrivilege(caller, "Read", roles.Schema);
            var options = QueryOptions.Parse(request.Query, NavigationOptions, Unsupported);
            var compiler = Compiler(roles.Schema);
            var select = SelectColumns(roles.Schema, options.Select, compiler);
            var held = RolesOf(userId).Where(QueryRunner.Predicate(options.Filter, compiler));

            foreach (var (column, descending) in options.OrderBy.Reverse())
            {
                var get = compiler.Resolve(column).Get;
                held = descending ? held.OrderByDescending(get, ValueOrder) : held.OrderBy(get, ValueOrder);
            }

            held = options.Top is { } top ? held.Take(top) : held;
            var heldRows = held.ToList();
            return ServiceResponse.Json(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#roles");
                w.WriteStartArray("value");
                foreach (var role in heldRows)
                {
                    WriteRow(w, roles.Schema, role, select, Annotations.None);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }, heldRows.Count);
        }

        RequirePrivilege(caller, "prvAssignRole", "role");
        if (request.Method == "POST" && isRef && roleInPath is null)
        {
            var body = request.ReadJsonObject(Invalid);
            var reference = body.TryGetProperty("@odata.id", out var odataId) && odataId.ValueKind == JsonValueKind.String ? ReferencePattern().Match(odataId.GetString()!) : Match.Empty;
            if (!reference.Success || reference.Groups["set"].Value != DataverseSchemas.Roles)
            {
                throw new ServiceException(400, "0x80060888", "The body must be {\"@odata.id\": \"<environment>/api/data/v9.2/roles(<roleid>)\"}.");
            }

            var roleId = Guid.Parse(reference.Groups["id"].Value);
            var role = roles.Get(roleId) ?? throw NotFound(roles.Schema, roleId);
            var userUnit = (user.Values[users.Schema.IndexOf("businessunitid")] as LookupValue)?.Id;
            var roleUnit = (role.Values[roles.Schema.IndexOf("businessunitid")] as LookupValue)?.Id;
            if (userUnit != roleUnit)
            {
                throw new ServiceException(400, "0x80040203",
                    $"The role '{role.Values[roles.Schema.IndexOf("name")]}' ({roleId}) belongs to business unit {roleUnit}, but the user {userId} belongs to business unit {userUnit}. Roles are copied per business unit: assign the copy of the user's business unit.");
            }

            var linkId = LinkId(userId, roleId);
            if (links.Get(linkId) is null)
            {
                links.Put(new Row(new object?[] { linkId, userId, roleId }, Store.NextVersion(), IdOf(caller, DataverseSchemas.SystemUser)));
            }

            return ServiceResponse.Empty(204, 1);
        }

        if (request.Method == "DELETE" && isRef && roleInPath is { } removeId)
        {
            if (!links.Remove(LinkId(userId, removeId)))
            {
                throw new ServiceException(404, "0x80040217", $"The user {userId} does not hold the role {removeId}.");
            }

            return ServiceResponse.Empty(204, 1);
        }

        throw MethodNotAllowed(request);
    }

    /// <summary>Associates a role directly (seeding).</summary>
    public void AssignRole(Guid userId, Guid roleId)
    {
        lock (Store.Sync)
        {
            var links = Table(DataverseSchemas.UserRoles);
            var id = LinkId(userId, roleId);
            if (links.Get(id) is null)
            {
                links.Put(new Row(new object?[] { id, userId, roleId }, Store.NextVersion(), Guid.Empty));
            }
        }
    }

    private static Guid LinkId(Guid userId, Guid roleId)
    {
        var a = userId.ToByteArray();
        var b = roleId.ToByteArray();
        for (var i = 0; i < 16; i++)
        {
            a[i] ^= (byte)(b[(i + 5) % 16] + i);
        }

        return new Guid(a);
    }

    // ---- WhoAmI and bulk messages ---------------------------------------------------------------

    private ServiceResponse WhoAmI(ServiceRequest request, Row caller)
    {
        var schema = DataverseSchemas.SystemUser;
        return ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse");
            w.WriteString("BusinessUnitId", ((caller.Values[schema.IndexOf("businessunitid")] as LookupValue)?.Id ?? Guid.Empty).ToString());
            w.WriteString("UserId", IdOf(caller, schema).ToString());
            w.WriteString("OrganizationId", OrganizationId.ToString());
            w.WriteEndObject();
        });
    }

    private ServiceResponse BulkMessage(ServiceRequest request, Row caller, EntityTable table, string action)
    {
        if (action is not ("CreateMultiple" or "UpdateMultiple" or "UpsertMultiple"))
        {
            throw new ServiceException(404, "0x80060888", $"Resource not found for the segment 'Microsoft.Dynamics.CRM.{action}'.");
        }

        if (!DataverseSchemas.BulkCapable.Contains(table.Schema.EntitySet))
        {
            throw new ServiceException(400, "0x80040203", $"The '{action}' message is not enabled for the '{table.Schema.LogicalName}' table. Use $batch instead.");
        }

        var body = request.ReadJsonObject(Invalid);
        if (!body.TryGetProperty("Targets", out var targets) || targets.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "0x80060888", $"The '{action}' request needs a \"Targets\" array of {table.Schema.LogicalName} records.");
        }

        var callerId = IdOf(caller, DataverseSchemas.SystemUser);
        var schema = table.Schema;
        // Standard tables: one failing record rolls back the whole request (§D.7).
        var ids = Store.Atomic(() =>
        {
            var written = new List<Guid>();
            foreach (var target in targets.EnumerateArray())
            {
                if (target.ValueKind != JsonValueKind.Object)
                {
                    throw new ServiceException(400, "0x80060888", "Each target must be a JSON object.");
                }

                var id = TargetId(schema, target);
                var existing = id is null ? null : table.Get(id.Value);
                Row row;
                switch (action)
                {
                    case "CreateMultiple":
                        RequirePrivilege(caller, "Create", schema);
                        row = CreateRow(table, target, callerId, null);
                        break;
                    case "UpdateMultiple":
                        if (id is null)
                        {
                            throw new ServiceException(400, "0x80040203", $"UpdateMultiple needs the {schema.Key} (or @odata.id) of every target.");
                        }

                        RequirePrivilege(caller, "Write", schema);
                        row = UpdateRow(table, existing ?? throw NotFound(schema, id.Value), target, callerId);
                        break;
                    default:
                        if (existing is null)
                        {
                            RequirePrivilege(caller, "Create", schema);
                            row = CreateRow(table, target, callerId, id);
                        }
                        else
                        {
                            RequirePrivilege(caller, "Write", schema);
                            row = UpdateRow(table, existing, target, callerId);
                        }

                        break;
                }

                written.Add(IdOf(row, schema));
            }

            return written;
        });

        if (action == "CreateMultiple")
        {
            return ServiceResponse.Json(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse");
                w.WriteStartArray("Ids");
                foreach (var id in ids)
                {
                    w.WriteStringValue(id);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }, ids.Count);
        }

        return ServiceResponse.Empty(204, ids.Count);
    }

    private static Guid? TargetId(EntitySchema schema, JsonElement target)
    {
        if (target.TryGetProperty("@odata.id", out var odataId) && odataId.ValueKind == JsonValueKind.String)
        {
            var match = ReferencePattern().Match(odataId.GetString()!);
            if (!match.Success || match.Groups["set"].Value != schema.EntitySet)
            {
                throw new ServiceException(400, "0x80060888", $"The @odata.id '{odataId.GetString()}' does not identify a {schema.LogicalName} by id (alternate keys are not defined on standard tables).");
            }

            return Guid.Parse(match.Groups["id"].Value);
        }

        return target.TryGetProperty(schema.Key, out var key) && key.ValueKind == JsonValueKind.String && Guid.TryParse(key.GetString(), out var id) ? id : null;
    }
}
