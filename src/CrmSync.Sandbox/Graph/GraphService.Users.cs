using System.Text.Json.Nodes;
using Microsoft.OData.UriParser;

namespace CrmSync.Sandbox.Graph;

/// <summary>Users (§F.1): listing with $filter, advanced queries and lambdas as the user resource documents them; create, update, delete.</summary>
public sealed partial class GraphService
{
    // ---- Users (§F.1) ---------------------------------------------------------------------------

    private Row FindUser(string key)
    {
        key = Uri.UnescapeDataString(key).Trim('\'');
        var row = Guid.TryParse(key, out var id)
            ? Users.Get(id)
            : Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), key, except: null);
        return row ?? throw new ServiceException(404, "Request_ResourceNotFound", $"Resource '{key}' does not exist or one of its queried reference-property objects are not present.");
    }

    /// <summary>The query options users accepts (about_CrmSyncSandbox lists them; a test keeps the two equal).</summary>
    internal static HashSet<string> UserQueryOptions { get; } = new HashSet<string>(StringComparer.Ordinal) { "$select", "$filter", "$orderby", "$top", "$count", "$skiptoken" };

    /// <summary>What the sandbox serves under users/{id} (the other relationships are refused by name).</summary>
    internal static IReadOnlyCollection<string> UserActions { get; } = new[] { "assignLicense", "licenseDetails" };

    // Graph documents $search, $expand (manager, memberOf, …), $skip and $format on users: the sandbox says it does not
    // emulate them rather than answering as if Graph refused them.
    private static ServiceException QueryOptionNotEmulated(string key, IEnumerable<string> served) => new(400, "Request_UnsupportedQuery",
        $"The sandbox does not emulate the query option '{key}' here; it serves {string.Join(", ", served)} (about_CrmSyncSandbox).");

    private ServiceResponse QueryUsers(ServiceRequest request)
    {
        var options = QueryOptions.Parse(request.Query, UserQueryOptions, key => QueryOptionNotEmulated(key, UserQueryOptions));
        if (options.Top is { } top && top is < 1 or > 999)
        {
            throw new ServiceException(400, "Request_BadRequest", $"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.");
        }

        if (options.Filter is not null)
        {
            CheckLambdas(QueryRunner.ParseFilter(options.Filter));
        }

        RequireAdvancedQueryWhereNeeded(request, options);
        var pageSize = options.Top ?? 100;
        var page = QueryRunner.Run(Users, options with { Top = null }, pageSize, new FilterCompiler(PlainProperties.For(UserSchema), UnknownProperty));
        var select = Select(options.Select);
        return ServiceResponse.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#users");
            if (page.TotalCount is { } total)
            {
                w.WriteNumber("@odata.count", total);
            }

            w.WriteStartArray("value");
            foreach (var row in page.Rows)
            {
                WriteUser(w, row, select);
            }

            w.WriteEndArray();
            if (page.NextSkipToken is { } token)
            {
                var query = request.QueryString;
                w.WriteString("@odata.nextLink", $"{request.ServiceRoot}users?{(query.Length > 0 ? query + "&" : string.Empty)}$skiptoken={Uri.EscapeDataString(token)}");
            }

            w.WriteEndObject();
        }, page.Rows.Count);
    }

    /// <summary>
    /// Advanced query capabilities on directory objects (Graph: "Advanced query capabilities on Microsoft Entra ID
    /// objects"): $count, the ne and not operators, endsWith, and $filter with $orderby need the ConsistencyLevel: eventual
    /// header, and all but $count=true itself also need $count=true. Without them Graph answers 400.
    /// </summary>
    private static void RequireAdvancedQueryWhereNeeded(ServiceRequest request, QueryOptions options)
    {
        var eventual = string.Equals(request.Header("ConsistencyLevel"), "eventual", StringComparison.OrdinalIgnoreCase);
        if (options.Count && !eventual)
        {
            throw new ServiceException(400, "Request_BadRequest", "$count is not currently supported without the ConsistencyLevel: eventual header.");
        }

        var filter = options.Filter is null ? null : QueryRunner.ParseFilter(options.Filter);
        var needs = filter is not null && (UsesAdvancedOperators(filter) || options.OrderBy.Count > 0);
        if (needs && !(eventual && options.Count))
        {
            throw new ServiceException(400, "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for resource 'User': ne, not, endsWith and $filter with $orderby need advanced query capabilities (ConsistencyLevel: eventual and $count=true).");
        }
    }

    /// <summary>
    /// Lambda filters as the user resource documents them: assignedLicenses supports any(x:x/skuId eq {guid}); Graph refuses
    /// other lambdas on it (400), and the sandbox does not emulate lambdas on the other collections (400, naming the collection).
    /// </summary>
    private static void CheckLambdas(QueryToken node)
    {
        switch (node)
        {
            case LambdaToken lambda when FilterSyntax.Collection(lambda) == "assignedLicenses":
                if (lambda is not AnyToken { Expression: BinaryOperatorToken { OperatorKind: BinaryOperatorKind.Equal, Right: LiteralToken { Value: Guid } } comparison }
                    || !FilterSyntax.IsPath(comparison.Left) || FilterSyntax.Path(comparison.Left) != lambda.Parameter + "/skuId")
                {
                    throw new ServiceException(400, "Request_UnsupportedQuery",
                        "Unsupported or invalid query filter clause specified for property 'assignedLicenses' of resource 'User'. Use assignedLicenses/any(x:x/skuId eq <skuId>).");
                }

                break;
            case LambdaToken lambda:
                throw new ServiceException(400, "Request_UnsupportedQuery",
                    $"The sandbox does not emulate lambda operators on '{FilterSyntax.Collection(lambda)}'; it serves assignedLicenses/any(x:x/skuId eq <skuId>) (about_CrmSyncSandbox).");
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And or BinaryOperatorKind.Or } logical:
                CheckLambdas(logical.Left);
                CheckLambdas(logical.Right);
                break;
            case UnaryOperatorToken not:
                CheckLambdas(not.Operand);
                break;
        }
    }

    private static bool UsesAdvancedOperators(QueryToken node) => node switch
    {
        BinaryOperatorToken { OperatorKind: BinaryOperatorKind.NotEqual } => true,
        UnaryOperatorToken { OperatorKind: UnaryOperatorKind.Not } => true,
        FunctionCallToken { Name: var name } when name.Equals("endswith", StringComparison.OrdinalIgnoreCase) => true,
        BinaryOperatorToken binary => UsesAdvancedOperators(binary.Left) || UsesAdvancedOperators(binary.Right),
        FunctionCallToken function => FilterSyntax.Arguments(function).Any(UsesAdvancedOperators),
        _ => false,
    };

    private ServiceResponse CreateUser(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var values = new object?[UserSchema.Columns.Count];
        Apply(values, body);
        foreach (var required in RequiredOnCreate)
        {
            if (values[UserSchema.IndexOf(required)] is null)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property '{required}' of resource 'User'.");
            }
        }

        var upn = (string)values[UserSchema.IndexOf("userPrincipalName")]!;
        var at = upn.LastIndexOf('@');
        var domain = at > 0 ? upn[(at + 1)..] : string.Empty;
        if (at <= 0 || !Domains.Any(d => d.IsVerified && string.Equals(d.Name, domain, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ServiceException(400, "Request_BadRequest",
                "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.");
        }

        if (Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), upn, except: null) is not null)
        {
            throw new ServiceException(400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.");
        }

        var id = Guid.NewGuid();
        values[UserSchema.KeyIndex] = id;
        values[UserSchema.IndexOf("mail")] ??= upn;
        values[UserSchema.IndexOf("assignedLicenses")] = new JsonArray();
        values[UserSchema.IndexOf("createdDateTime")] = JsonValues.Truncate(_clock.UtcNow, DateFormat.Seconds);
        var row = new Row(values, Store.NextVersion(), request.Caller.ObjectId);
        Users.Put(row);
        var password = (values[UserSchema.IndexOf("passwordProfile")] as JsonObject)?["password"]?.GetValue<string>();
        _identities.Add(new SandboxIdentity
        {
            ObjectId = id,
            DisplayName = (string)values[UserSchema.IndexOf("displayName")]!,
            Kind = IdentityKind.User,
            UserPrincipalName = upn,
            Password = password,
        });
        return UserResponse(request, row, 201);
    }

    private ServiceResponse UpdateUser(ServiceRequest request, Row existing)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var values = (object?[])existing.Values.Clone();
        Apply(values, body);
        var id = (Guid)values[UserSchema.KeyIndex]!;
        if (Users.FindUnique(UserSchema.IndexOf("userPrincipalName"), values[UserSchema.IndexOf("userPrincipalName")], id) is not null)
        {
            throw new ServiceException(400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.");
        }

        Users.Put(new Row(values, Store.NextVersion(), request.Caller.ObjectId));
        return ServiceResponse.Empty(204, 1);
    }

    private ServiceResponse DeleteUser(Row existing)
    {
        Users.Remove((Guid)existing.Values[UserSchema.KeyIndex]!);
        return ServiceResponse.Empty(204, 1);
    }

    private static void Apply(object?[] values, JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name.StartsWith('@') || property.Name.Contains('@'))
            {
                continue;
            }

            var column = UserSchema.Find(property.Name)
                ?? throw new ServiceException(400, "Request_BadRequest", $"Property '{property.Name}' does not exist as a declared property or extension property.");
            if (column.ReadOnly)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Property '{property.Name}' is read-only and cannot be set.");
            }

            try
            {
                var value = JsonValues.Read(column, property.Value);
                if (column.Name == "usageLocation" && value is string location && !CountryCodes.Assigned.Contains(location))
                {
                    throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property 'usageLocation' of resource 'User': '{location}' is not an assigned two-letter ISO 3166-1 country code (e.g. US, GB, DE).");
                }

                values[UserSchema.IndexOf(column.Name)] = value;
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property '{property.Name}' of resource 'User'. {ex.Message}");
            }
        }
    }

    private static IReadOnlyList<string> Select(IReadOnlyList<string>? select)
    {
        if (select is null)
        {
            return DefaultUserProperties;
        }

        foreach (var name in select)
        {
            if (UserSchema.Find(name) is not { WriteOnly: false })
            {
                throw new ServiceException(400, "Request_BadRequest", UnknownProperty(name));
            }
        }

        return select;
    }

    private ServiceResponse UserResponse(ServiceRequest request, Row row, int status, bool readSelect = true)
    {
        var options = readSelect
            ? QueryOptions.Parse(request.Query, new HashSet<string> { "$select" }, key => QueryOptionNotEmulated(key, new[] { "$select" }))
            : new QueryOptions();
        var select = Select(options.Select);
        return ServiceResponse.Json(status, w =>
        {
            w.WriteStartObject();
            w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#users/$entity");
            WriteUserBody(w, row, select);
            w.WriteEndObject();
        }, 1);
    }

    private static void WriteUser(Utf8JsonWriter w, Row row, IReadOnlyList<string> select)
    {
        w.WriteStartObject();
        WriteUserBody(w, row, select);
        w.WriteEndObject();
    }

    private static void WriteUserBody(Utf8JsonWriter w, Row row, IReadOnlyList<string> select)
    {
        foreach (var name in select)
        {
            var value = row.Values[UserSchema.IndexOf(name)];
            if (value is null && name is "businessPhones" or "otherMails")
            {
                value = new JsonArray();
            }

            JsonValues.Write(w, name, value, DateFormat.Seconds);
        }
    }

    private static string UnknownProperty(string name) => $"Could not find a property named '{name}' on type 'microsoft.graph.user'.";
}
