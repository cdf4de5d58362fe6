using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>Creating, updating and deleting rows, single properties and counts (webapi/create, update-delete-entities).</summary>
public sealed partial class DataverseService
{
    // ---- Writes ---------------------------------------------------------------------------------

    private ServiceResponse Create(ServiceRequest request, Row caller, EntityTable table)
    {
        RequirePrivilege(caller, "Create", table.Schema);
        var body = request.ReadJsonObject(Invalid);
        var row = CreateRow(table, body, IdOf(caller, DataverseSchemas.SystemUser), idFromUrl: null);
        return Written(request, table.Schema, row, created: true);
    }

    private ServiceResponse Written(ServiceRequest request, EntitySchema schema, Row row, bool created)
    {
        if (request.Prefers("return=representation"))
        {
            var options = ParseRecordOptions(request);
            var select = SelectColumns(schema, options.Select, Compiler(schema));
            return Representation(request, schema, row, select, created ? 201 : 200).With("Preference-Applied", "return=representation");
        }

        return ServiceResponse.Empty(204, 1).With("OData-EntityId", $"{request.ServiceRoot}{schema.EntitySet}({IdOf(row, schema)})");
    }

    private ServiceResponse Update(ServiceRequest request, Row caller, EntityTable table, Guid id)
    {
        var body = request.ReadJsonObject(Invalid);
        var existing = table.Get(id);
        var ifMatch = request.Header("If-Match");
        var ifNoneMatch = request.Header("If-None-Match");
        if (existing is null)
        {
            if (ifMatch is not null)
            {
                // If-Match prevents the upsert from creating (§D.5).
                throw NotFound(table.Schema, id);
            }

            RequirePrivilege(caller, "Create", table.Schema);
            var created = CreateRow(table, body, IdOf(caller, DataverseSchemas.SystemUser), id);
            return Written(request, table.Schema, created, created: true);
        }

        if (ifNoneMatch == "*")
        {
            throw new ServiceException(412, "0x80040237", "A record with matching key values already exists.");
        }

        CheckIfMatch(ifMatch, existing);
        RequirePrivilege(caller, "Write", table.Schema);
        var row = UpdateRow(table, existing, body, IdOf(caller, DataverseSchemas.SystemUser));
        return Written(request, table.Schema, row, created: false);
    }

    // ---- Counting and single properties (webapi/query/count-rows, webapi/update-delete-entities-using-web-api) ----------

    /// <summary>GET set/$count: the number of rows as plain text, at most 5,000 (Dataverse's limit for this count).</summary>
    private ServiceResponse CountRows(ServiceRequest request, Row caller, EntityTable table)
    {
        RequirePrivilege(caller, "Read", table.Schema);
        if (request.Query.Count > 0)
        {
            throw Unsupported(request.Query[0].Key);
        }

        var rows = Math.Min(table.Rows.Count(), MaxCount);
        return new ServiceResponse
        {
            Status = 200,
            Body = System.Text.Encoding.UTF8.GetBytes(rows.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ContentType = "text/plain",
        };
    }

    private const int MaxCount = 5000;

    /// <summary>
    /// One column of one row: GET (JSON "value", or the raw value with /$value), PUT {"value": …} and DELETE (sets it to
    /// null). Lookups and collection-valued navigation properties are not emulated and say so.
    /// </summary>
    private ServiceResponse SingleProperty(ServiceRequest request, Row caller, EntityTable table, Guid id, string property, bool rawValue)
    {
        var schema = table.Schema;
        var index = schema.IndexOf(property);
        if (index < 0)
        {
            throw schema.Columns.Any(c => c.Type == ColumnType.Lookup && c.Navigation?.ContainsKey(property) == true) || property.Contains('_', StringComparison.Ordinal)
                ? new ServiceException(400, "0x80060888", $"The sandbox does not emulate the navigation property '{property}' of {schema.LogicalName}: query the related table with $filter on its lookup column instead (about_CrmSyncSandbox).")
                : new ServiceException(400, "0x80060888", $"Could not find a property named '{property}' on type 'Microsoft.Dynamics.CRM.{schema.LogicalName}'.");
        }

        var column = schema.Columns[index];
        if (column.Type == ColumnType.Lookup || column.WriteOnly || index == schema.KeyIndex)
        {
            throw new ServiceException(400, "0x80060888", column.Type == ColumnType.Lookup
                ? $"The sandbox does not emulate the single-valued navigation property '{property}': read _{property}_value with $select, or set it with @odata.bind."
                : $"The property '{property}' of {schema.LogicalName} cannot be addressed on its own.");
        }

        if (request.Query.Count > 0)
        {
            throw Unsupported(request.Query[0].Key);
        }

        var row = table.Get(id) ?? throw NotFound(schema, id);
        switch (request.Method)
        {
            case "GET":
                RequirePrivilege(caller, "Read", schema);
                var value = row.Values[index];
                if (rawValue)
                {
                    return value is null
                        ? ServiceResponse.Empty(204, 1)
                        : new ServiceResponse { Status = 200, Body = System.Text.Encoding.UTF8.GetBytes(RawText(DataverseSchemas.Stored(column, value)!)), ContentType = "text/plain", Records = 1 };
                }

                return ServiceResponse.Json(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{schema.EntitySet}({id})/{property}");
                    JsonValues.Write(w, "value", DataverseSchemas.Stored(column, value), DateFormat.Seconds);
                    w.WriteEndObject();
                }, 1);
            case "PUT" when !rawValue:
                var body = request.ReadJsonObject(Invalid);
                if (!body.TryGetProperty("value", out var newValue) || body.EnumerateObject().Count() != 1)
                {
                    throw new ServiceException(400, "0x80060888", $"The body of a PUT to {schema.EntitySet}({id})/{property} is {{\"value\": …}}.");
                }

                return SetProperty(request, caller, table, row, property, newValue);
            case "DELETE" when !rawValue:
                return SetProperty(request, caller, table, row, property, null);

            default:
                throw MethodNotAllowed(request);
        }
    }

    // The same update a PATCH of {"<property>": value} makes (null clears it).
    private ServiceResponse SetProperty(ServiceRequest request, Row caller, EntityTable table, Row existing, string property, JsonElement? value)
    {
        CheckIfMatch(request.Header("If-Match"), existing);
        RequirePrivilege(caller, "Write", table.Schema);
        var body = JsonSerializer.SerializeToElement(new Dictionary<string, JsonElement?> { [property] = value });
        UpdateRow(table, existing, body, IdOf(caller, DataverseSchemas.SystemUser));
        return ServiceResponse.Empty(204, 1);
    }

    private static string RawText(object value) => value switch
    {
        bool b => b ? "true" : "false",
        DateTimeOffset d => JsonValues.FormatDate(d, DateFormat.Seconds),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private ServiceResponse Delete(ServiceRequest request, Row caller, EntityTable table, Guid id)
    {
        var existing = table.Get(id) ?? throw NotFound(table.Schema, id);
        CheckIfMatch(request.Header("If-Match"), existing);
        RequirePrivilege(caller, "Delete", table.Schema);
        table.Remove(id);
        return ServiceResponse.Empty(204, 1);
    }

    private static void CheckIfMatch(string? ifMatch, Row existing)
    {
        if (ifMatch is not null && ifMatch != "*" && ifMatch != ETag(existing))
        {
            throw new ServiceException(412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
        }
    }

    /// <summary>Creates a row from a JSON body; the id comes from the URL, the body's key, or is generated.</summary>
    internal Row CreateRow(EntityTable table, JsonElement body, Guid callerId, Guid? idFromUrl)
    {
        var schema = table.Schema;
        var values = new object?[schema.Columns.Count];
        SetIfColumn(schema, values, "statecode", 0L);
        SetIfColumn(schema, values, "statuscode", 1L);
        if (schema.IndexOf("ownerid") >= 0)
        {
            values[schema.IndexOf("ownerid")] = new LookupValue(callerId, DataverseSchemas.SystemUsers);
        }

        ApplyBody(schema, values, body);
        var bodyId = values[schema.KeyIndex] as Guid?;
        if (idFromUrl is { } urlId && bodyId is { } other && other != urlId)
        {
            throw new ServiceException(400, "0x80040203", $"The key in the URL ({urlId}) and the {schema.Key} in the body ({other}) differ.");
        }

        var id = idFromUrl ?? bodyId ?? Guid.NewGuid();
        values[schema.KeyIndex] = id;
        if (table.Get(id) is not null)
        {
            throw new ServiceException(412, "0x80040237", "A record with matching key values already exists.");
        }

        foreach (var required in schema.RequiredOnCreate)
        {
            if (values[schema.IndexOf(required)] is null)
            {
                throw new ServiceException(400, "0x80040203", $"Attribute '{required}' must be specified when creating a {schema.LogicalName}.");
            }
        }

        return Commit(table, values, callerId, existing: null);
    }

    internal Row UpdateRow(EntityTable table, Row existing, JsonElement body, Guid callerId)
    {
        var schema = table.Schema;
        var values = (object?[])existing.Values.Clone();
        var id = values[schema.KeyIndex];
        ApplyBody(schema, values, body);
        if (!Equals(values[schema.KeyIndex], id))
        {
            throw new ServiceException(400, "0x80040203", $"The {schema.Key} of an existing {schema.LogicalName} cannot be changed.");
        }

        return Commit(table, values, callerId, existing);
    }

    private Row Commit(EntityTable table, object?[] values, Guid callerId, Row? existing)
    {
        var schema = table.Schema;
        var id = (Guid)values[schema.KeyIndex]!;
        foreach (var unique in schema.UniqueColumns)
        {
            var index = schema.IndexOf(unique);
            if (values[index] is not null && table.FindUnique(index, values[index], id) is not null)
            {
                throw new ServiceException(412, "0x80040237", $"A record with matching key values already exists: another {schema.LogicalName} has {unique} = {values[index]}.");
            }
        }

        ComputeNames(schema, values);
        var now = JsonValues.Truncate(_clock.UtcNow, DateFormat.Seconds);
        var caller = new LookupValue(callerId, DataverseSchemas.SystemUsers);
        if (existing is null)
        {
            values[schema.IndexOf("createdon")] = now;
            values[schema.IndexOf("createdby")] = caller;
        }

        values[schema.IndexOf("modifiedon")] = now;
        values[schema.IndexOf("modifiedby")] = caller;
        var row = new Row(values, Store.NextVersion(), callerId);
        table.Put(row);
        return row;
    }

    internal static void ComputeNames(EntitySchema schema, object?[] values)
    {
        var fullname = schema.IndexOf("fullname");
        if (fullname >= 0)
        {
            var parts = new[] { "firstname", "lastname" }.Select(c => values[schema.IndexOf(c)] as string).Where(p => !string.IsNullOrWhiteSpace(p));
            values[fullname] = string.Join(' ', parts);
        }
    }

    private static void SetIfColumn(EntitySchema schema, object?[] values, string column, object value)
    {
        var index = schema.IndexOf(column);
        if (index >= 0)
        {
            values[index] = value;
        }
    }

    private void ApplyBody(EntitySchema schema, object?[] values, JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            var name = property.Name;
            if (name.StartsWith('@'))
            {
                if (name == "@odata.type" && property.Value.GetString() is { } type && type != $"Microsoft.Dynamics.CRM.{schema.LogicalName}")
                {
                    throw new ServiceException(400, "0x80060888", $"The @odata.type '{type}' does not match the entity set {schema.EntitySet} (Microsoft.Dynamics.CRM.{schema.LogicalName}).");
                }

                continue;
            }

            if (name.EndsWith("@odata.bind", StringComparison.Ordinal))
            {
                Bind(schema, values, name[..^"@odata.bind".Length], property.Value);
                continue;
            }

            if (name.Contains('@'))
            {
                continue;
            }

            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                // Related rows nested in the body (single-valued or collection-valued navigation properties).
                throw new ServiceException(400, "0x80060888", $"The sandbox does not emulate deep insert or update ('{name}' holds related rows): create the related rows on their own and link them with \"<navigation property>@odata.bind\".");
            }

            var column = schema.Find(name);
            if (column is null || column.Type == ColumnType.Lookup)
            {
                throw new ServiceException(400, "0x80060888", $"Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{schema.LogicalName}'." +
                    (column?.Type == ColumnType.Lookup ? $" Set lookups with \"{column.Navigation!.Keys.First()}@odata.bind\": \"/{column.Navigation!.Values.First()}(<id>)\"." : string.Empty));
            }

            if (column.ReadOnly)
            {
                continue;
            }

            try
            {
                values[schema.IndexOf(name)] = DataverseSchemas.Stored(column, JsonValues.Read(column, property.Value));
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, "0x80040203", $"Invalid value for '{name}' of {schema.LogicalName}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// A single-valued navigation property's reference (webapi/associate-disassociate-entities-using-web-api): PUT
    /// {"@odata.id": …} sets the lookup, DELETE clears it — the same write as "&lt;property&gt;@odata.bind" in a PATCH.
    /// Collection-valued navigation properties (other than systemuserroles_association) are refused by name.
    /// </summary>
    private ServiceResponse NavigationReference(ServiceRequest request, Row caller, EntityTable table, Guid id, string property)
    {
        var schema = table.Schema;
        if (schema.FindNavigation(property) is null)
        {
            throw new ServiceException(400, "0x80060888", property.Contains('_', StringComparison.Ordinal)
                ? $"The sandbox does not emulate associating through '{property}' of {schema.LogicalName}: set the lookup on the related row instead (PUT <related row>/<its navigation property>/$ref, or \"<navigation property>@odata.bind\" in a PATCH). Single-valued navigation properties of {schema.LogicalName}: {string.Join(", ", schema.Columns.Where(c => c.Navigation is not null).SelectMany(c => c.Navigation!.Keys))}."
                : $"Could not find a property named '{property}' on type 'Microsoft.Dynamics.CRM.{schema.LogicalName}'.");
        }

        string bind;
        switch (request.Method)
        {
            case "PUT":
                var body = request.ReadJsonObject(Invalid);
                if (!body.TryGetProperty("@odata.id", out var target) || target.ValueKind != JsonValueKind.String)
                {
                    throw new ServiceException(400, "0x80060888", $"PUT {property}/$ref needs a body {{\"@odata.id\": \"<url of the related row>\"}}.");
                }

                bind = JsonSerializer.Serialize(new Dictionary<string, string> { [property + "@odata.bind"] = target.GetString()! });
                break;
            case "DELETE":
                bind = JsonSerializer.Serialize(new Dictionary<string, string?> { [property + "@odata.bind"] = null });
                break;
            default:
                throw new ServiceException(405, "0x80060888", $"{property}/$ref of a single-valued navigation property takes PUT (set) and DELETE (clear); the sandbox does not emulate {request.Method} on it (read _{schema.FindNavigation(property)!.Value.Column.Name}_value with $select).");
        }

        var existing = table.Get(id) ?? throw NotFound(schema, id);
        RequirePrivilege(caller, "Write", schema);
        UpdateRow(table, existing, JsonDocument.Parse(bind).RootElement, IdOf(caller, DataverseSchemas.SystemUser));
        return ServiceResponse.Empty(204);
    }

    private void Bind(EntitySchema schema, object?[] values, string navigation, JsonElement value)
    {
        var target = schema.FindNavigation(navigation) ?? throw new ServiceException(400, "0x80060888",
            $"An undeclared property '{navigation}' which only has property annotations in the payload but no property value was found in the payload. Navigation properties of {schema.LogicalName}: {string.Join(", ", schema.Columns.Where(c => c.Navigation is not null).SelectMany(c => c.Navigation!.Keys))}.");
        var index = schema.IndexOf(target.Column.Name);
        if (value.ValueKind == JsonValueKind.Null)
        {
            values[index] = null;
            return;
        }

        var reference = value.ValueKind == JsonValueKind.String ? ReferencePattern().Match(value.GetString()!) : Match.Empty;
        if (!reference.Success)
        {
            throw new ServiceException(400, "0x80060888", $"The value of '{navigation}@odata.bind' must be an entity reference such as \"/{target.EntitySet}(00000000-0000-0000-0000-000000000000)\".");
        }

        var set = reference.Groups["set"].Value;
        var id = Guid.Parse(reference.Groups["id"].Value);
        if (!string.Equals(set, target.EntitySet, StringComparison.Ordinal))
        {
            throw new ServiceException(400, "0x80060888", $"'{navigation}' refers to {target.EntitySet}, not {set}.");
        }

        var referenced = TableOf(set);
        if (referenced.Get(id) is null)
        {
            throw NotFound(referenced.Schema, id);
        }

        values[index] = new LookupValue(id, set);
    }
}
