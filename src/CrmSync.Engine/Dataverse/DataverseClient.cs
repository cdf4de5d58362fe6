using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CrmSync.Http;

namespace CrmSync.Dataverse;

/// <summary>A Dataverse query: $select is required (performance), the rest optional (docs/reference/integration.md §D.2).</summary>
public sealed record DataverseQuery(IReadOnlyList<string> Select)
{
    public string? Filter { get; init; }

    public string? OrderBy { get; init; }

    /// <summary>Rows per page, at most 5,000.</summary>
    public int PageSize { get; init; } = 5000;

    public string ToQueryString() => ODataQueryString.Build(Select, Filter, OrderBy);
}

/// <summary>What a write returned: the row's id, its new etag and modifiedon (with return=representation).</summary>
public sealed record DataverseWriteResult(Guid Id, string? ETag, DateTimeOffset? ModifiedOn, JsonObject? Row);

public sealed record WhoAmIResult(Guid UserId, Guid BusinessUnitId, Guid OrganizationId);

public sealed record DataverseRole(Guid RoleId, string Name, Guid BusinessUnitId, Guid? RootRoleId);

/// <summary>A Dataverse systemuser as account setup needs it (docs/reference/integration.md §D.8).</summary>
public sealed record DataverseUser(Guid SystemUserId, string? DomainName, string? Email, string? FullName, Guid? EntraObjectId, Guid? ApplicationId,
    bool IsDisabled, bool IsLicensed, bool IsIntegrationUser, int AccessMode, Guid BusinessUnitId)
{
    /// <summary>accessmode 4: Non-interactive.</summary>
    public const int NonInteractive = 4;

    internal static DataverseUser From(JsonObject row) => new(
        Guid.Parse(row["systemuserid"]!.GetValue<string>()),
        row["domainname"]?.GetValue<string>(),
        row["internalemailaddress"]?.GetValue<string>(),
        row["fullname"]?.GetValue<string>(),
        Guid.TryParse(row["azureactivedirectoryobjectid"]?.GetValue<string>(), out var aad) ? aad : null,
        Guid.TryParse(row["applicationid"]?.GetValue<string>(), out var app) ? app : null,
        row["isdisabled"]?.GetValue<bool>() ?? false,
        row["islicensed"]?.GetValue<bool>() ?? false,
        row["isintegrationuser"]?.GetValue<bool>() ?? false,
        (int)(row["accessmode"]?.GetValue<long>() ?? 0),
        Guid.TryParse(row["_businessunitid_value"]?.GetValue<string>(), out var bu) ? bu : Guid.Empty);
}

/// <summary>How the operations of a $batch are grouped (docs/reference/integration.md §D.6).</summary>
public enum DataverseBatchMode
{
    /// <summary>Independent requests; processing stops at the first failure.</summary>
    StopOnError,
    /// <summary>Independent requests; every request runs (Prefer: odata.continue-on-error).</summary>
    ContinueOnError,
    /// <summary>One atomic change set: all succeed or nothing is written.</summary>
    ChangeSet,
}

/// <summary>One request inside a $batch; Url is relative to the Web API root (e.g. accounts(…)).</summary>
public sealed record DataverseBatchOperation(string Method, string Url, JsonObject? Body = null)
{
    public string? IfMatch { get; init; }

    /// <summary>Ask for the written row back (Prefer: return=representation), e.g. for its new modifiedon.</summary>
    public bool ReturnRepresentation { get; init; }
}

/// <summary>The outcome of one batch operation; Error is set when it failed; Body holds a returned row.</summary>
public sealed record DataverseBatchResult(int Index, int StatusCode, string? EntityId, ServiceRequestException? Error, JsonObject? Body = null)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// Dataverse Web API v9.2 over HttpClient (the Dataverse SDK package is not available; docs/reference/integration.md §D).
/// Streams queries page by page, writes only what it is given, uses client-supplied ids so a retried
/// create cannot duplicate, and speaks multipart $batch and the bulk messages.
/// </summary>
public sealed class DataverseClient : ServiceClientBase
{
    public const int MaxPageSize = 5000;
    public const int MaxBatchRequests = 1000;

    internal DataverseClient(HttpClient http, Uri environmentUrl, string identity)
        : base(ServiceKind.Dataverse, http, identity)
    {
        EnvironmentUrl = environmentUrl;
        ApiUrl = environmentUrl.ToString().TrimEnd('/') + "/api/data/v9.2/";
    }

    public Uri EnvironmentUrl { get; }

    public string ApiUrl { get; }

    public async Task<WhoAmIResult> WhoAmIAsync(CancellationToken cancellationToken = default)
    {
        var json = await ReadObjectAsync(await SendAsync(Request(HttpMethod.Get, ApiUrl + "WhoAmI"), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return new WhoAmIResult(GuidOf(json, "UserId"), GuidOf(json, "BusinessUnitId"), GuidOf(json, "OrganizationId"));
    }

    /// <summary>Streams the rows of a query; only one page is held in memory.</summary>
    public IAsyncEnumerable<JsonObject> QueryAsync(string entitySet, DataverseQuery query, CancellationToken cancellationToken = default) =>
        PagesAsync($"{ApiUrl}{entitySet}?{query.ToQueryString()}", Math.Clamp(query.PageSize, 1, MaxPageSize), cancellationToken);

    public async Task<JsonObject?> RetrieveAsync(string entitySet, Guid id, IReadOnlyList<string> select, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(Request(HttpMethod.Get, $"{ApiUrl}{entitySet}({id})?$select={string.Join(',', select)}"), cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }

        return await ReadObjectAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates a row with a client-supplied id (safe to retry: a create that committed but whose answer was
    /// lost comes back as "already exists", and the existing row is returned).
    /// </summary>
    public async Task<DataverseWriteResult> CreateAsync(string entitySet, string idColumn, Guid id, JsonObject row, CancellationToken cancellationToken = default)
    {
        var body = row.DeepClone().AsObject();
        body[idColumn] = id;
        using var request = Request(HttpMethod.Post, $"{ApiUrl}{entitySet}?$select={idColumn},modifiedon", body, safeToRetry: true);
        request.Headers.Add("Prefer", "return=representation");
        try
        {
            return Result(id, await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false));
        }
        catch (DuplicateRecordException)
        {
            var existing = await RetrieveAsync(entitySet, id, new[] { idColumn, "modifiedon" }, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                throw;
            }

            return Result(id, existing);
        }
    }

    /// <summary>Updates only the given columns; with an etag the update fails on a concurrent change, without it the row must exist.</summary>
    public async Task<DataverseWriteResult> UpdateAsync(string entitySet, string idColumn, Guid id, JsonObject changes, string? etag = null, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Patch, $"{ApiUrl}{entitySet}({id})?$select={idColumn},modifiedon", changes, safeToRetry: etag is null);
        request.Headers.TryAddWithoutValidation("If-Match", etag ?? "*");
        request.Headers.Add("Prefer", "return=representation");
        return Result(id, await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>PATCH without conditions: creates or updates (§D.4).</summary>
    public async Task<DataverseWriteResult> UpsertAsync(string entitySet, string idColumn, Guid id, JsonObject row, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Patch, $"{ApiUrl}{entitySet}({id})?$select={idColumn},modifiedon", row, safeToRetry: true);
        request.Headers.Add("Prefer", "return=representation");
        return Result(id, await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false));
    }

    public async Task DeleteAsync(string entitySet, Guid id, string? etag = null, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Delete, $"{ApiUrl}{entitySet}({id})", safeToRetry: true);
        if (etag is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", etag);
        }

        (await SendAsync(request, cancellationToken).ConfigureAwait(false)).Dispose();
    }

    /// <summary>CreateMultiple: one request, all or nothing on standard tables (§D.7). Rows must carry their ids.</summary>
    public async Task<IReadOnlyList<Guid>> CreateMultipleAsync(string entitySet, string logicalName, IReadOnlyList<JsonObject> rows, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["Targets"] = Targets(logicalName, rows) };
        using var request = Request(HttpMethod.Post, $"{ApiUrl}{entitySet}/Microsoft.Dynamics.CRM.CreateMultiple", body, safeToRetry: false);
        var json = await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return json["Ids"]!.AsArray().Select(id => Guid.Parse(id!.GetValue<string>())).ToList();
    }

    /// <summary>UpsertMultiple by id: safe to retry (§D.7).</summary>
    public async Task UpsertMultipleAsync(string entitySet, string logicalName, IReadOnlyList<(Guid Id, JsonObject Row)> rows, CancellationToken cancellationToken = default)
    {
        var targets = new JsonArray();
        foreach (var (id, row) in rows)
        {
            var target = row.DeepClone().AsObject();
            target["@odata.type"] = $"Microsoft.Dynamics.CRM.{logicalName}";
            target["@odata.id"] = $"{entitySet}({id})";
            targets.Add(target);
        }

        using var request = Request(HttpMethod.Post, $"{ApiUrl}{entitySet}/Microsoft.Dynamics.CRM.UpsertMultiple", new JsonObject { ["Targets"] = targets }, safeToRetry: true);
        (await SendAsync(request, cancellationToken).ConfigureAwait(false)).Dispose();
    }

    /// <summary>Runs up to 1,000 operations in one multipart $batch (§D.6); each result reports its own error.</summary>
    public async Task<IReadOnlyList<DataverseBatchResult>> ExecuteBatchAsync(IReadOnlyList<DataverseBatchOperation> operations, DataverseBatchMode mode, CancellationToken cancellationToken = default)
    {
        if (operations.Count == 0)
        {
            return Array.Empty<DataverseBatchResult>();
        }

        if (operations.Count > MaxBatchRequests)
        {
            throw new CrmSyncException("BatchTooLarge", CrmSyncErrorKind.InvalidArgument, $"A Dataverse $batch holds at most {MaxBatchRequests} requests; split the {operations.Count} operations.");
        }

        var boundary = "batch_" + Guid.NewGuid().ToString("N");
        var content = DataverseMultipart.Write(boundary, operations, mode == DataverseBatchMode.ChangeSet, ApiUrl);
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiUrl + "$batch") { Content = new StringContent(content, Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"multipart/mixed; boundary={boundary}");
        request.Headers.Accept.ParseAdd("application/json");
        if (mode == DataverseBatchMode.ContinueOnError)
        {
            request.Headers.Add("Prefer", "odata.continue-on-error");
        }

        // Retrying a batch is safe only when every operation in it is (updates by id, deletes, upserts).
        request.Options.Set(ServiceHandler.SafeToRetry, operations.All(o => o.Method is "PATCH" or "DELETE" or "GET"));
        using var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var parts = DataverseMultipart.ReadResponses(text, response.Content.Headers.ContentType?.ToString());
        var results = new List<DataverseBatchResult>();
        if (mode == DataverseBatchMode.ChangeSet && parts.Count == 1 && parts[0].Status >= 400 && operations.Count > 1)
        {
            // A failed change set answers with one error; nothing of it was written.
            var error = Error(parts[0], "$batch change set");
            return operations.Select((_, i) => new DataverseBatchResult(i, parts[0].Status, null, error)).ToList();
        }

        for (var i = 0; i < operations.Count; i++)
        {
            if (i >= parts.Count)
            {
                // Processing stopped at an earlier failure: this operation never ran.
                results.Add(new DataverseBatchResult(i, 0, null, new ServiceRequestException("BatchOperationNotRun", CrmSyncErrorKind.InvalidOperation, Service, 0, null,
                    "not run: an earlier request of the batch failed", $"{operations[i].Method} {operations[i].Url}", Identity)));
                continue;
            }

            var part = parts[i];
            var body = part.Status < 400 && part.Body is { Length: > 0 } partBody && partBody.TrimStart().StartsWith('{') ? JsonNode.Parse(partBody) as JsonObject : null;
            results.Add(new DataverseBatchResult(i, part.Status, part.EntityId, part.Status >= 400 ? Error(part, $"{operations[i].Method} {operations[i].Url}") : null, body));
        }

        return results;
    }

    private ServiceRequestException Error(DataverseMultipart.PartResponse part, string request) =>
        ServiceErrors.FromResponse(Service, (HttpStatusCode)part.Status, part.Body, request, Identity);

    // ---- Users and roles (§D.8) -----------------------------------------------------------------

    public async Task<IReadOnlyList<DataverseRole>> GetRolesAsync(Guid? businessUnitId = null, string? name = null, CancellationToken cancellationToken = default)
    {
        var filters = new List<string>();
        if (businessUnitId is { } unit)
        {
            filters.Add($"_businessunitid_value eq {unit}");
        }

        if (name is not null)
        {
            filters.Add($"name eq '{Escape(name)}'");
        }

        var roles = new List<DataverseRole>();
        await foreach (var row in QueryAsync("roles", new DataverseQuery(new[] { "roleid", "name", "_businessunitid_value", "_parentrootroleid_value" }) { Filter = filters.Count == 0 ? null : string.Join(" and ", filters) }, cancellationToken).ConfigureAwait(false))
        {
            roles.Add(new DataverseRole(GuidOf(row, "roleid"), row["name"]?.GetValue<string>() ?? string.Empty, GuidOf(row, "_businessunitid_value"), OptionalGuid(row, "_parentrootroleid_value")));
        }

        return roles;
    }

    public async Task<IReadOnlyList<string>> GetUserRoleNamesAsync(Guid systemUserId, CancellationToken cancellationToken = default)
    {
        var json = await ReadObjectAsync(await SendAsync(Request(HttpMethod.Get, $"{ApiUrl}systemusers({systemUserId})/systemuserroles_association?$select=name"), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return json["value"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToList();
    }

    public async Task AssociateRoleAsync(Guid systemUserId, Guid roleId, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["@odata.id"] = $"{ApiUrl}roles({roleId})" };
        (await SendAsync(Request(HttpMethod.Post, $"{ApiUrl}systemusers({systemUserId})/systemuserroles_association/$ref", body, safeToRetry: true), cancellationToken).ConfigureAwait(false)).Dispose();
    }

    public static readonly string[] UserColumns =
    {
        "systemuserid", "domainname", "internalemailaddress", "fullname", "azureactivedirectoryobjectid", "applicationid",
        "isdisabled", "islicensed", "isintegrationuser", "accessmode", "_businessunitid_value",
    };

    /// <summary>The first systemuser matching a filter (by Entra object id, application id or domain name).</summary>
    public async Task<DataverseUser?> FindUserAsync(string filter, CancellationToken cancellationToken = default)
    {
        await foreach (var row in QueryAsync("systemusers", new DataverseQuery(UserColumns) { Filter = filter, PageSize = 2 }, cancellationToken).ConfigureAwait(false))
        {
            return DataverseUser.From(row);
        }

        return null;
    }

    /// <summary>Sets columns of a systemuser (e.g. accessmode = 4, non-interactive).</summary>
    public Task UpdateUserAsync(Guid systemUserId, JsonObject changes, CancellationToken cancellationToken = default) =>
        UpdateAsync("systemusers", "systemuserid", systemUserId, changes, null, cancellationToken);

    // ---- Helpers --------------------------------------------------------------------------------

    private static JsonArray Targets(string logicalName, IEnumerable<JsonObject> rows)
    {
        var targets = new JsonArray();
        foreach (var row in rows)
        {
            var target = row.DeepClone().AsObject();
            target["@odata.type"] = $"Microsoft.Dynamics.CRM.{logicalName}";
            targets.Add(target);
        }

        return targets;
    }

    private static DataverseWriteResult Result(Guid id, JsonObject row) =>
        new(id, row["@odata.etag"]?.GetValue<string>(), ParseDate(row["modifiedon"]?.GetValue<string>()), row);

    internal static DateTimeOffset? ParseDate(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    internal static Guid GuidOf(JsonObject row, string property) =>
        Guid.TryParse(row[property]?.GetValue<string>(), out var id) ? id : throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, $"Dataverse returned no {property}.");

    internal static Guid? OptionalGuid(JsonObject row, string property) =>
        Guid.TryParse(row[property]?.GetValue<string>(), out var id) ? id : null;
}
