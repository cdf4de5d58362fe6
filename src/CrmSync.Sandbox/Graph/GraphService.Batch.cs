using System.Text.RegularExpressions;

namespace CrmSync.Sandbox.Graph;

/// <summary>JSON $batch (§F.4): the requests of one batch, each answered on its own.</summary>
public sealed partial class GraphService
{
    // ---- JSON $batch (§F.4) ---------------------------------------------------------------------

    /// <summary>The fault answer to one request inside a $batch (method, url), or null to run it; set by the host.</summary>
    public Func<string, string, ServiceResponse?>? InnerFault { get; set; }

    private ServiceResponse ExecuteBatch(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        if (!body.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "BadRequest", "Invalid batch payload format: a \"requests\" array is required.");
        }

        var items = requests.EnumerateArray().ToList();
        if (items.Count > MaxBatchRequests)
        {
            throw new ServiceException(400, "BadRequest", $"Number of batch requests exceeds the maximum of {MaxBatchRequests}.");
        }

        // JSON batching's rules (Graph: "Combine multiple HTTP requests using JSON batching"): every request has an id,
        // unique in the batch, a method and a url; a request with a body names its Content-Type.
        var parsed = items.Select(JsonBatch.Parse).ToList();
        foreach (var item in parsed)
        {
            if (item.Id.Length == 0 || item.Url.Length == 0 || !items[parsed.IndexOf(item)].TryGetProperty("method", out _))
            {
                throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: every request needs an id, a method and a url (request '{item.Id}').");
            }

            if (Uri.TryCreate(item.Url, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
            {
                throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: the url of request '{item.Id}' must be relative to the version root (e.g. /users), not '{item.Url}'.");
            }

            if (item.Body.Length > 0 && !item.Headers.ContainsKey("Content-Type"))
            {
                throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: request '{item.Id}' has a body but no Content-Type header.");
            }
        }

        // Ids are compared without regard to case, as Graph does.
        if (parsed.GroupBy(i => i.Id, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ServiceException(400, "BadRequest", $"Invalid batch payload format: the id '{duplicate.Key}' is used by {duplicate.Count()} requests; ids must be unique in a batch.");
        }

        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        var results = new List<(string Id, ServiceResponse Response)>();
        foreach (var item in parsed)
        {
            var response = item.DependsOn.Any(dep => !statuses.TryGetValue(dep, out var status) || status >= 400)
                ? Error(new ServiceException(424, "BadRequest", "Failed dependency: a request this one depends on failed."))
                // Graph answers each request of a batch on its own, 429s and 5xx included (partial failure).
                : InnerFault?.Invoke(item.Method, item.Url) ?? Handle(JsonBatch.ToRequest(item, request, apiMarker: null));
            statuses[item.Id] = response.Status;
            results.Add((item.Id, response));
        }

        return JsonBatch.Respond(results, lowerCaseHeaders: false, "application/json");
    }


    [GeneratedRegex(@"^users/(?<key>[^/]+)(/(?<action>[A-Za-z.]+))?$")]
    private static partial Regex UserPattern();
}
