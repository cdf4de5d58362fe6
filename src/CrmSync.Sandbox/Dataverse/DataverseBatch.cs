using System.Text;

namespace CrmSync.Sandbox.Dataverse;

/// <summary>
/// Dataverse multipart/mixed $batch (docs/reference/integration.md §D.6): up to 1,000 requests, atomic change
/// sets with Content-ID references ($1), no GET inside a change set, stop at the first failure unless
/// Prefer: odata.continue-on-error.
/// </summary>
internal static class DataverseBatch
{
    public const int MaxRequests = 1000;

    public static ServiceResponse Execute(DataverseService service, ServiceRequest request)
    {
        var boundary = Multipart.Boundary(request.Header("Content-Type"))
            ?? throw new ServiceException(400, "0x80060888", "A $batch request needs Content-Type: multipart/mixed; boundary=batch_<id>.");
        var parts = Multipart.Split(request.BodyText, boundary);
        var items = parts.Select(p => ParseItem(p)).ToList();
        var total = items.Sum(i => i.Requests.Count);
        if (total > MaxRequests)
        {
            throw new ServiceException(400, "0x80060888", $"The batch has {total} requests; the maximum is {MaxRequests}.");
        }

        var continueOnError = request.Prefers("odata.continue-on-error");
        var responseBoundary = "batchresponse_" + Guid.NewGuid();
        var output = new StringBuilder();
        var records = 0;
        foreach (var item in items)
        {
            if (item.ChangeSetBoundary is null)
            {
                // Each request outside a change set can fail on its own (throttled, a server error): the others still run.
                var part = item.Requests[0];
                var response = service.InnerFault?.Invoke(part.Method, part.Url) ?? service.Handle(ToRequest(request, part, contentIds: null));
                records += response.Records;
                Multipart.AppendResponse(output, responseBoundary, response, contentId: null);
                if (response.Status >= 400 && !continueOnError)
                {
                    break;
                }

                continue;
            }

            var (responses, failure) = ExecuteChangeSet(service, request, item.Requests);
            if (failure is not null)
            {
                Multipart.AppendResponse(output, responseBoundary, failure, contentId: null);
                if (!continueOnError)
                {
                    break;
                }

                continue;
            }

            records += responses.Sum(r => r.Response.Records);
            var changeSetBoundary = "changesetresponse_" + Guid.NewGuid();
            output.Append("--").Append(responseBoundary).Append("\r\n");
            output.Append("Content-Type: multipart/mixed; boundary=").Append(changeSetBoundary).Append("\r\n\r\n");
            foreach (var (contentId, response) in responses)
            {
                Multipart.AppendResponse(output, changeSetBoundary, response, contentId);
            }

            output.Append("--").Append(changeSetBoundary).Append("--\r\n");
        }

        output.Append("--").Append(responseBoundary).Append("--\r\n");
        return new ServiceResponse
        {
            Status = 200,
            Body = Encoding.UTF8.GetBytes(output.ToString()),
            ContentType = "multipart/mixed; boundary=" + responseBoundary,
            Records = records,
        };
    }

    private static (List<(string? ContentId, ServiceResponse Response)> Responses, ServiceResponse? Failure) ExecuteChangeSet(DataverseService service, ServiceRequest request, List<PartRequest> requests)
    {
        if (requests.FirstOrDefault(r => r.Method == "GET") is { } get)
        {
            return (new(), DataverseService.Error(new ServiceException(400, "0x80060888", $"GET requests are not allowed inside a change set ({get.Url}).")));
        }

        var responses = new List<(string?, ServiceResponse)>();
        var contentIds = new Dictionary<string, string>(StringComparer.Ordinal);
        ServiceResponse? failure = null;
        lock (service.Store.Sync)
        {
            try
            {
                service.Store.Atomic<bool>(() =>
                {
                    foreach (var part in requests)
                    {
                        var response = service.Handle(ToRequest(request, part, contentIds));
                        if (response.Status >= 400)
                        {
                            failure = response;
                            throw new ChangeSetFailed();
                        }

                        if (part.ContentId is not null && response.Headers.TryGetValue("OData-EntityId", out var entityId))
                        {
                            contentIds[part.ContentId] = entityId;
                        }

                        responses.Add((part.ContentId, response));
                    }

                    return true;
                });
            }
            catch (ChangeSetFailed)
            {
                // Rolled back by Atomic: the change set is all-or-nothing.
            }
        }

        return (responses, failure);
    }

    private static ServiceRequest ToRequest(ServiceRequest batch, PartRequest part, Dictionary<string, string>? contentIds)
    {
        var url = part.Url;
        var body = part.Body;
        if (contentIds is not null)
        {
            foreach (var (id, entityUrl) in contentIds.OrderByDescending(k => k.Key.Length))
            {
                if (url.StartsWith("$" + id, StringComparison.Ordinal))
                {
                    url = entityUrl + url[(id.Length + 1)..];
                }

                body = body.Replace("\"$" + id + "\"", "\"" + entityUrl + "\"", StringComparison.Ordinal);
            }
        }

        if (url.StartsWith('$') && !url.StartsWith("$batch", StringComparison.Ordinal))
        {
            throw new ServiceException(400, "0x80060888", $"The Content-ID reference '{url}' refers to a request that is not earlier in the same change set.");
        }

        return JsonBatch.SubRequest(batch, part.Method, url, "/api/data/v9.2/", part.Headers, Encoding.UTF8.GetBytes(body));
    }

    private static BatchItem ParseItem(Multipart.Part part)
    {
        var contentType = part.Headers.TryGetValue("Content-Type", out var ct) ? ct : string.Empty;
        if (contentType.StartsWith("multipart/mixed", StringComparison.OrdinalIgnoreCase))
        {
            var boundary = Multipart.Boundary(contentType) ?? throw new ServiceException(400, "0x80060888", "A change set needs a boundary.");
            var requests = Multipart.Split(part.Body, boundary).Select(p => ParseRequest(p)).ToList();
            return new BatchItem(boundary, requests);
        }

        return new BatchItem(null, new List<PartRequest> { ParseRequest(part) });
    }

    private static PartRequest ParseRequest(Multipart.Part part)
    {
        var (method, url, headers, body) = Multipart.ParseHttpRequest(part.Body);
        part.Headers.TryGetValue("Content-ID", out var contentId);
        return new PartRequest(method, url, headers, body, contentId);
    }

    private sealed record BatchItem(string? ChangeSetBoundary, List<PartRequest> Requests);

    private sealed record PartRequest(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string Body, string? ContentId);

    private sealed class ChangeSetFailed : Exception
    {
    }
}

/// <summary>multipart/mixed reading and writing for $batch.</summary>
internal static class Multipart
{
    public sealed record Part(IReadOnlyDictionary<string, string> Headers, string Body);

    public static string? Boundary(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }

        foreach (var parameter in contentType.Split(';').Skip(1))
        {
            var pair = parameter.Trim();
            if (pair.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase))
            {
                return pair["boundary=".Length..].Trim('"');
            }
        }

        return null;
    }

    public static List<Part> Split(string body, string boundary)
    {
        var text = body.Replace("\r\n", "\n");
        var delimiter = "--" + boundary;
        var parts = new List<Part>();
        var sections = text.Split(delimiter);
        foreach (var section in sections.Skip(1))
        {
            if (section.StartsWith("--", StringComparison.Ordinal))
            {
                break;
            }

            var content = section.TrimStart('\n');
            var split = content.IndexOf("\n\n", StringComparison.Ordinal);
            var headerText = split >= 0 ? content[..split] : content;
            var partBody = split >= 0 ? content[(split + 2)..] : string.Empty;
            parts.Add(new Part(ParseHeaders(headerText), partBody.TrimEnd('\n')));
        }

        if (parts.Count == 0)
        {
            throw new ServiceException(400, "0x80060888", $"The $batch body has no parts delimited by '--{boundary}'.");
        }

        return parts;
    }

    public static (string Method, string Url, IReadOnlyDictionary<string, string> Headers, string Body) ParseHttpRequest(string text)
    {
        var split = text.IndexOf("\n\n", StringComparison.Ordinal);
        var head = (split >= 0 ? text[..split] : text).Split('\n');
        var body = split >= 0 ? text[(split + 2)..].Trim() : string.Empty;
        var requestLine = head[0].Trim().Split(' ');
        if (requestLine.Length < 2)
        {
            throw new ServiceException(400, "0x80060888", $"'{head[0]}' is not an HTTP request line (METHOD URL HTTP/1.1).");
        }

        return (requestLine[0].ToUpperInvariant(), requestLine[1], ParseHeaders(string.Join('\n', head.Skip(1))), body);
    }

    public static IReadOnlyList<KeyValuePair<string, string>> ParseQuery(string query) =>
        query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var eq = pair.IndexOf('=');
                var key = eq < 0 ? pair : pair[..eq];
                var value = eq < 0 ? string.Empty : pair[(eq + 1)..];
                return new KeyValuePair<string, string>(Uri.UnescapeDataString(key), Uri.UnescapeDataString(value.Replace('+', ' ')));
            })
            .ToList();

    private static Dictionary<string, string> ParseHeaders(string text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return headers;
    }

    public static void AppendResponse(StringBuilder output, string boundary, ServiceResponse response, string? contentId)
    {
        output.Append("--").Append(boundary).Append("\r\n");
        output.Append("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        if (contentId is not null)
        {
            output.Append("Content-ID: ").Append(contentId).Append("\r\n");
        }

        output.Append("\r\n");
        output.Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(ReasonPhrase(response.Status)).Append("\r\n");
        // The headers as Microsoft's $batch examples show them: Content-Type (with a body), OData-Version, Location and
        // OData-EntityId (a create), then the rest; the service-wide x-ms-dop-hint belongs to the outer response only.
        var hasBody = response.Body is { Length: > 0 };
        if (hasBody)
        {
            output.Append("Content-Type: ").Append(response.ContentType ?? "application/json").Append("\r\n");
        }

        output.Append("OData-Version: 4.0\r\n");
        if (response.Headers.TryGetValue("OData-EntityId", out var entityId))
        {
            output.Append("Location: ").Append(entityId).Append("\r\n");
        }

        foreach (var (name, value) in response.Headers.Where(h => h.Key is not ("OData-Version" or "x-ms-dop-hint" or "Location")))
        {
            output.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (hasBody)
        {
            output.Append("\r\n");
            output.Append(Encoding.UTF8.GetString(response.Body!)).Append("\r\n");
        }
        else
        {
            // The blank line that ends the headers, then the CRLF that belongs to the next boundary delimiter (RFC 2046
            // §5.1.1), as in the $batch examples of Microsoft's documentation.
            output.Append("\r\n\r\n");
        }
    }

    // Every status's standard reason phrase (RFC 9110), as the service writes it in a $batch response's status lines.
    public static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Unknown";
}
