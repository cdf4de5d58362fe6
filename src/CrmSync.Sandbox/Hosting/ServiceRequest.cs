using System.Text;

namespace CrmSync.Sandbox.Hosting;

/// <summary>
/// A request to one emulated service, independent of ASP.NET so that batch parts run through the same
/// handler as top-level requests.
/// </summary>
public sealed class ServiceRequest
{
    public required string Method { get; init; }

    /// <summary>Path relative to the service root, without leading slash, percent-decoded (e.g. accounts(…)).</summary>
    public required string Path { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Query { get; init; } = Array.Empty<KeyValuePair<string, string>>();

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public byte[] Body { get; init; } = Array.Empty<byte>();

    public required SandboxIdentity Caller { get; init; }

    /// <summary>Absolute URL of the service root, ending with '/'.</summary>
    public required string ServiceRoot { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The query string as sent (for next links).</summary>
    public string QueryString => string.Join('&', Query.Where(q => q.Key != "$skiptoken").Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));

    public bool Prefers(string preference) =>
        Header("Prefer") is { } prefer && prefer.Split(',').Any(p => p.Trim().StartsWith(preference, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Refuses a documented preference the sandbox does not emulate (change tracking: odata.track-changes), so the client
    /// never takes a plain answer for the one it asked for. Unknown preferences are ignored, as HTTP (RFC 7240) and the
    /// services do; Preference-Applied says what was honoured.
    /// </summary>
    public void RefuseNotEmulatedPreferences(Func<string, Exception> refusal)
    {
        foreach (var preference in NotEmulatedPreferences)
        {
            if (Prefers(preference))
            {
                throw refusal($"The sandbox does not emulate the preference '{preference}' (change tracking and delta links); read changes with a $filter on the modified-on column instead (about_CrmSyncSandbox).");
            }
        }
    }

    /// <summary>Documented preferences that the sandbox refuses (about_CrmSyncSandbox lists them).</summary>
    public static IReadOnlyList<string> NotEmulatedPreferences { get; } = new[] { "odata.track-changes", "respond-async" };

    public int? PreferredMaxPageSize()
    {
        var prefer = Header("Prefer");
        if (prefer is null)
        {
            return null;
        }

        foreach (var part in prefer.Split(','))
        {
            var item = part.Trim();
            if (item.StartsWith("odata.maxpagesize=", StringComparison.OrdinalIgnoreCase) && int.TryParse(item["odata.maxpagesize=".Length..], out var size) && size > 0)
            {
                return size;
            }
        }

        return null;
    }

    public JsonElement ReadJsonObject(Func<string, Exception> invalid)
    {
        if (Body.Length == 0)
        {
            throw invalid("The request body is empty; a JSON object is required.");
        }

        try
        {
            using var document = JsonDocument.Parse(Body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw invalid("The request body must be a JSON object.");
            }

            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw invalid($"The request body is not valid JSON: {ex.Message}");
        }
    }
}

/// <summary>A service's answer.</summary>
public sealed class ServiceResponse
{
    public int Status { get; init; }

    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public byte[]? Body { get; init; }

    public string? ContentType { get; set; }

    /// <summary>Records read or written (drives per-record latency).</summary>
    public int Records { get; init; }

    // Services write quotes in etags as \" and non-ASCII text as is, not as \uXXXX escapes.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static ServiceResponse Empty(int status, int records = 0) => new() { Status = status, Records = records };

    public static ServiceResponse Json(int status, Action<Utf8JsonWriter> write, int records = 0, string contentType = "application/json; odata.metadata=minimal")
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return new ServiceResponse { Status = status, Body = buffer.ToArray(), ContentType = contentType, Records = records };
    }

    public ServiceResponse With(string header, string value)
    {
        Headers[header] = value;
        return this;
    }

    public string BodyText => Body is null ? string.Empty : Encoding.UTF8.GetString(Body);
}
