using System.Text;
using System.Text.RegularExpressions;

namespace CrmSync.Dataverse;

/// <summary>Writes multipart/mixed $batch requests and reads their responses (docs/reference/integration.md §D.6).</summary>
internal static partial class DataverseMultipart
{
    public sealed record PartResponse(int Status, string? EntityId, string? Body);

    public static string Write(string boundary, IReadOnlyList<DataverseBatchOperation> operations, bool changeSet, string apiUrl)
    {
        var text = new StringBuilder();
        var changeSetBoundary = "changeset_" + Guid.NewGuid().ToString("N");
        if (changeSet)
        {
            text.Append("--").Append(boundary).Append("\r\n");
            text.Append("Content-Type: multipart/mixed; boundary=").Append(changeSetBoundary).Append("\r\n\r\n");
        }

        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            text.Append("--").Append(changeSet ? changeSetBoundary : boundary).Append("\r\n");
            text.Append("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
            if (changeSet)
            {
                text.Append("Content-ID: ").Append(i + 1).Append("\r\n");
            }

            text.Append("\r\n");
            text.Append(operation.Method).Append(' ').Append(apiUrl).Append(operation.Url).Append(" HTTP/1.1\r\n");
            if (operation.IfMatch is not null)
            {
                text.Append("If-Match: ").Append(operation.IfMatch).Append("\r\n");
            }

            if (operation.ReturnRepresentation)
            {
                text.Append("Prefer: return=representation\r\n");
            }

            if (operation.Body is not null)
            {
                text.Append("Content-Type: application/json\r\n\r\n").Append(operation.Body.ToJsonString()).Append("\r\n");
            }
            else
            {
                text.Append("\r\n");
            }
        }

        if (changeSet)
        {
            text.Append("--").Append(changeSetBoundary).Append("--\r\n");
        }

        text.Append("--").Append(boundary).Append("--\r\n");
        return text.ToString();
    }

    /// <summary>The HTTP responses inside a batch response, in order (change set responses flattened).</summary>
    public static List<PartResponse> ReadResponses(string body, string? contentType)
    {
        var boundary = BoundaryPattern().Match(contentType ?? string.Empty) is { Success: true } m ? m.Groups[1].Value.Trim('"') : null;
        if (boundary is null)
        {
            throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, "Dataverse answered a $batch without a multipart boundary.");
        }

        var results = new List<PartResponse>();
        foreach (var part in Split(body, boundary))
        {
            var headerEnd = part.IndexOf("\n\n", StringComparison.Ordinal);
            var headers = headerEnd >= 0 ? part[..headerEnd] : part;
            var rest = headerEnd >= 0 ? part[(headerEnd + 2)..] : string.Empty;
            var nested = BoundaryPattern().Match(headers);
            if (headers.Contains("multipart/mixed", StringComparison.OrdinalIgnoreCase) && nested.Success)
            {
                results.AddRange(ReadResponses(rest, "multipart/mixed; boundary=" + nested.Groups[1].Value));
                continue;
            }

            var statusLine = StatusPattern().Match(rest);
            if (!statusLine.Success)
            {
                continue;
            }

            var afterStatus = rest[(statusLine.Index + statusLine.Length)..];
            var split = afterStatus.IndexOf("\n\n", StringComparison.Ordinal);
            var responseHeaders = split >= 0 ? afterStatus[..split] : afterStatus;
            var responseBody = split >= 0 ? afterStatus[(split + 2)..].Trim() : null;
            var entityId = EntityIdPattern().Match(responseHeaders) is { Success: true } e ? e.Groups[1].Value.Trim() : null;
            results.Add(new PartResponse(int.Parse(statusLine.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), entityId, string.IsNullOrEmpty(responseBody) ? null : responseBody));
        }

        return results;
    }

    private static IEnumerable<string> Split(string body, string boundary)
    {
        var text = body.Replace("\r\n", "\n");
        foreach (var section in text.Split("--" + boundary).Skip(1))
        {
            if (section.StartsWith("--", StringComparison.Ordinal))
            {
                yield break;
            }

            yield return section.TrimStart('\n');
        }
    }

    [GeneratedRegex(@"boundary=([^;\s]+)", RegexOptions.IgnoreCase)]
    private static partial Regex BoundaryPattern();

    [GeneratedRegex(@"HTTP/1\.1 (\d{3})[^\n]*\n?")]
    private static partial Regex StatusPattern();

    [GeneratedRegex(@"OData-EntityId:\s*([^\n]+)", RegexOptions.IgnoreCase)]
    private static partial Regex EntityIdPattern();
}
