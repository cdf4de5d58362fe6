using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CrmSync.Http;

namespace CrmSync.BusinessCentral;

public sealed record BcCompany(Guid Id, string Name, string DisplayName);

/// <summary>A BC API v2.0 query under the connection's company (docs/reference/integration.md §E.3).</summary>
public sealed record BcQuery
{
    public IReadOnlyList<string>? Select { get; init; }

    public string? Filter { get; init; }

    public string? OrderBy { get; init; }

    /// <summary>Rows per page, at most 20,000.</summary>
    public int PageSize { get; init; } = 5000;

    /// <summary>lastModifiedDateTime compared with a value (milliseconds, UTC): gt is the change query BC documents (§E.3); ge and lt bound a slice.</summary>
    public static string Modified(string op, DateTimeOffset value) =>
        $"lastModifiedDateTime {op} " + value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public string ToQueryString() => ODataQueryString.Build(Select, Filter, OrderBy);
}

/// <summary>One operation of a BC JSON $batch; Url is relative to the API root (companies(…)/customers(…)).</summary>
public sealed record BcBatchOperation(string Method, string Url, JsonObject? Body = null)
{
    public string? IfMatch { get; init; }
}

public sealed record BcBatchResult(int Index, int StatusCode, JsonObject? Body, ServiceRequestException? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>Business Central API v2.0 over HttpClient: companies and the five entity sets CrmSync maps (§E).</summary>
public sealed class BusinessCentralClient : ServiceClientBase
{
    public const int MaxPageSize = 20000;
    public const int MaxBatchOperations = 100;

    internal BusinessCentralClient(HttpClient http, string apiUrl, string identity)
        : base(ServiceKind.BusinessCentral, http, identity)
    {
        ApiUrl = apiUrl.EndsWith('/') ? apiUrl : apiUrl + "/";
    }

    /// <summary>…/api/v2.0/ of the environment.</summary>
    public string ApiUrl { get; }

    /// <summary>The company all entity calls use (set by the connection).</summary>
    public Guid CompanyId { get; internal set; }

    public async Task<IReadOnlyList<BcCompany>> GetCompaniesAsync(CancellationToken cancellationToken = default)
    {
        var companies = new List<BcCompany>();
        await foreach (var row in PagesAsync(ApiUrl + "companies?$select=id,name,displayName", null, cancellationToken).ConfigureAwait(false))
        {
            companies.Add(new BcCompany(Guid.Parse(row["id"]!.GetValue<string>()), row["name"]?.GetValue<string>() ?? string.Empty, row["displayName"]?.GetValue<string>() ?? string.Empty));
        }

        return companies;
    }

    private string CompanyUrl => CompanyId == Guid.Empty
        ? throw new CrmSyncException("CompanyNotSelected", CrmSyncErrorKind.InvalidOperation, "No Business Central company is selected. Connect-CrmSync with -Company.")
        : $"{ApiUrl}companies({CompanyId})/";

    /// <summary>Streams an entity set of the company page by page.</summary>
    public IAsyncEnumerable<JsonObject> ListAsync(string entitySet, BcQuery query, CancellationToken cancellationToken = default)
    {
        var queryString = query.ToQueryString();
        return PagesAsync($"{CompanyUrl}{entitySet}{(queryString.Length == 0 ? string.Empty : "?" + queryString)}", Math.Clamp(query.PageSize, 1, MaxPageSize), cancellationToken);
    }

    public async Task<JsonObject?> GetAsync(string entitySet, Guid id, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(Request(HttpMethod.Get, $"{CompanyUrl}{entitySet}({id})"), cancellationToken, HttpStatusCode.NotFound).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }

        return await ReadObjectAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a record. BC assigns the id, so a create is never repeated blindly (callers record a pending write first).</summary>
    public async Task<JsonObject> CreateAsync(string entitySet, JsonObject body, CancellationToken cancellationToken = default) =>
        await ReadObjectAsync(await SendAsync(Request(HttpMethod.Post, $"{CompanyUrl}{entitySet}", body, safeToRetry: false), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Updates the given fields if the record still has <paramref name="etag"/> (PATCH requires If-Match in BC).</summary>
    public async Task<JsonObject> UpdateAsync(string entitySet, Guid id, JsonObject changes, string etag, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Patch, $"{CompanyUrl}{entitySet}({id})", changes, safeToRetry: etag != "*");
        request.Headers.TryAddWithoutValidation("If-Match", etag);
        return await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string entitySet, Guid id, string etag, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Delete, $"{CompanyUrl}{entitySet}({id})", safeToRetry: true);
        request.Headers.TryAddWithoutValidation("If-Match", etag);
        (await SendAsync(request, cancellationToken).ConfigureAwait(false)).Dispose();
    }

    /// <summary>Runs up to 100 operations in one JSON $batch; with <paramref name="snapshot"/> all succeed or none is kept (§E.4).</summary>
    public async Task<IReadOnlyList<BcBatchResult>> ExecuteBatchAsync(IReadOnlyList<BcBatchOperation> operations, bool snapshot, CancellationToken cancellationToken = default)
    {
        if (operations.Count == 0)
        {
            return Array.Empty<BcBatchResult>();
        }

        if (operations.Count > MaxBatchOperations)
        {
            throw new CrmSyncException("BatchTooLarge", CrmSyncErrorKind.InvalidArgument, $"A Business Central $batch holds at most {MaxBatchOperations} operations; split the {operations.Count} operations.");
        }

        var requests = new JsonArray();
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            var headers = new JsonObject { ["Content-Type"] = "application/json" };
            if (operation.IfMatch is not null)
            {
                headers["If-Match"] = operation.IfMatch;
            }

            var item = new JsonObject { ["id"] = (i + 1).ToString(CultureInfo.InvariantCulture), ["method"] = operation.Method, ["url"] = operation.Url, ["headers"] = headers };
            if (operation.Body is not null)
            {
                item["body"] = operation.Body.DeepClone();
            }

            requests.Add(item);
        }

        using var request = Request(HttpMethod.Post, ApiUrl + "$batch", new JsonObject { ["requests"] = requests },
            safeToRetry: operations.All(o => o.Method is "GET" || (o.Method is "PATCH" or "DELETE" && o.IfMatch is not null && o.IfMatch != "*")));
        if (snapshot)
        {
            request.Headers.Add("Isolation", "snapshot");
        }

        ServiceRequestException? whole = null;
        JsonObject? json = null;
        try
        {
            json = await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceRequestException ex) when (snapshot && ex is not AuthenticationFailedException and not ThrottledException)
        {
            // A snapshot batch fails as a whole: every operation reports the error.
            whole = ex;
        }

        if (whole is not null)
        {
            return operations.Select((_, i) => new BcBatchResult(i, whole.StatusCode, null, whole)).ToList();
        }

        var byId = json!["responses"]!.AsArray().ToDictionary(r => r!["id"]!.GetValue<string>(), r => r!.AsObject());
        return operations.Select((operation, i) =>
        {
            var response = byId[(i + 1).ToString(CultureInfo.InvariantCulture)];
            var status = response["status"]!.GetValue<int>();
            var body = response["body"] as JsonObject;
            var error = status >= 400 ? ServiceErrors.FromResponse(Service, (HttpStatusCode)status, body?.ToJsonString(), $"{operation.Method} {operation.Url}", Identity) : null;
            return new BcBatchResult(i, status, body, error);
        }).ToList();
    }
}
