using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CrmSync.Http;

/// <summary>What the service clients share: sending through the service's handler and turning errors into typed exceptions.</summary>
public abstract class ServiceClientBase
{
    private protected ServiceClientBase(ServiceKind service, HttpClient http, string identity)
    {
        Service = service;
        Http = http;
        Identity = identity;
    }

    public ServiceKind Service { get; }

    /// <summary>Who the requests are made as (no secret); for a pool, its identities.</summary>
    public string Identity { get; }

    /// <summary>
    /// Identities the requests are spread over (IdentityPoolHandler): each brings its own service-protection limits, so
    /// the sync engine keeps this many times more requests in flight.
    /// </summary>
    public int PoolSize { get; init; } = 1;

    private protected HttpClient Http { get; }

    private protected static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = null };

    private protected static HttpRequestMessage Request(HttpMethod method, string url, JsonNode? body = null, bool? safeToRetry = null)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        if (safeToRetry is { } safe)
        {
            request.Options.Set(ServiceHandler.SafeToRetry, safe);
        }

        return request;
    }

    private protected async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken, params HttpStatusCode[] alsoAccept)
    {
        HttpResponseMessage response;
        try
        {
            response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ServiceErrors.IsTransportFailure(ex))
        {
            throw ServiceErrors.Unreachable(Service, Describe(request), ex);
        }

        if (response.IsSuccessStatusCode || alsoAccept.Contains(response.StatusCode))
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            // In a pool, the error names the identity that was refused, not the whole pool.
            var sentAs = request.Options.TryGetValue(ServiceHandler.SentAs, out var identity) ? identity : Identity;
            throw ServiceErrors.FromResponse(Service, response.StatusCode, body, Describe(request), sentAs,
                response.Headers.WwwAuthenticate.FirstOrDefault()?.ToString(), ServiceHandler.RetryAfter(response));
        }
    }

    private protected async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return (await JsonNode.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false))?.AsObject()
                ?? throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, $"{Service.Display()} answered with an empty body.");
        }
    }

    /// <summary>Follows @odata.nextLink unchanged, yielding rows page by page: memory holds one page, never the table.</summary>
    private protected async IAsyncEnumerable<JsonObject> PagesAsync(string firstUrl, int? maxPageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? url = firstUrl;
        while (url is not null)
        {
            using var request = Request(HttpMethod.Get, url);
            if (maxPageSize is { } size)
            {
                request.Headers.Add("Prefer", $"odata.maxpagesize={size}");
            }

            var page = await ReadObjectAsync(await SendAsync(request, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            url = page["@odata.nextLink"]?.GetValue<string>();
            if (page["value"] is JsonArray rows)
            {
                foreach (var row in rows.ToList())
                {
                    rows.Remove(row);
                    yield return row!.AsObject();
                }
            }
        }
    }

    private protected static string Describe(HttpRequestMessage request) => $"{request.Method} {request.RequestUri?.AbsolutePath}";

    private protected static string Escape(string value) => value.Replace("'", "''", StringComparison.Ordinal);
}
