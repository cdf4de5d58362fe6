using System.Text;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Sandbox.Core;

/// <summary>The OData JSON $batch format shared by BC (§E.4) and Graph (§F.4): parsing items and writing responses.</summary>
internal static class JsonBatch
{
    public sealed record Item(string Id, string Method, string Url, Dictionary<string, string> Headers, byte[] Body, IReadOnlyList<string> DependsOn);

    public static Item Parse(JsonElement item)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (item.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in h.EnumerateObject())
            {
                headers[header.Name] = header.Value.ToString();
            }
        }

        return new Item(
            item.TryGetProperty("id", out var id) ? id.ToString() : string.Empty,
            (item.TryGetProperty("method", out var m) ? m.GetString() : null)?.ToUpperInvariant() ?? "GET",
            item.TryGetProperty("url", out var u) ? u.GetString() ?? string.Empty : string.Empty,
            headers,
            item.TryGetProperty("body", out var b) && b.ValueKind != JsonValueKind.Null ? Encoding.UTF8.GetBytes(b.GetRawText()) : Array.Empty<byte>(),
            item.TryGetProperty("dependsOn", out var d) && d.ValueKind == JsonValueKind.Array ? d.EnumerateArray().Select(x => x.GetString() ?? string.Empty).ToList() : Array.Empty<string>());
    }

    /// <summary>The item as a request to the same service; <paramref name="apiMarker"/> strips absolute URLs down to the service root.</summary>
    public static ServiceRequest ToRequest(Item item, ServiceRequest batch, string? apiMarker) =>
        SubRequest(batch, item.Method, item.Url, apiMarker, item.Headers, item.Body);

    /// <summary>A request inside a batch: its URL (absolute, root-relative or relative) resolved against the batch's service root.</summary>
    public static ServiceRequest SubRequest(ServiceRequest batch, string method, string url, string? apiMarker, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        var relative = url;
        if (relative.StartsWith(batch.ServiceRoot, StringComparison.OrdinalIgnoreCase))
        {
            relative = relative[batch.ServiceRoot.Length..];
        }
        else if (apiMarker is not null && relative.IndexOf(apiMarker, StringComparison.OrdinalIgnoreCase) is var index && index >= 0)
        {
            relative = relative[(index + apiMarker.Length)..];
        }

        var query = string.Empty;
        var question = relative.IndexOf('?');
        if (question >= 0)
        {
            query = relative[(question + 1)..];
            relative = relative[..question];
        }

        return new ServiceRequest
        {
            Method = method,
            Path = Uri.UnescapeDataString(relative.TrimStart('/')),
            Query = Multipart.ParseQuery(query),
            Headers = headers,
            Body = body,
            Caller = batch.Caller,
            ServiceRoot = batch.ServiceRoot,
        };
    }

    public static ServiceResponse Respond(IReadOnlyList<(string Id, ServiceResponse Response)> results, bool lowerCaseHeaders, string contentType) =>
        ServiceResponse.Json(200, w =>
        {
            string Name(string header) => lowerCaseHeaders ? header.ToLowerInvariant() : header;
            w.WriteStartObject();
            w.WriteStartArray("responses");
            foreach (var (id, response) in results)
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteNumber("status", response.Status);
                w.WriteStartObject("headers");
                if (response.ContentType is not null)
                {
                    w.WriteString(Name("Content-Type"), response.ContentType);
                }

                foreach (var (name, value) in response.Headers)
                {
                    w.WriteString(Name(name), value);
                }

                w.WriteEndObject();
                if (response.Body is { Length: > 0 })
                {
                    w.WritePropertyName("body");
                    using var document = JsonDocument.Parse(response.Body);
                    document.RootElement.WriteTo(w);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }, results.Sum(r => r.Response.Records), contentType);
}
