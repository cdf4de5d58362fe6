using System.Net;
using System.Text;
using System.Text.Json;
using CrmSync.Sandbox.Dataverse;

namespace CrmSync.Sandbox.Tests;

// Written from the Dataverse Web API documentation on batch operations (webapi/execute-batch-operations-using-web-api):
// the multipart layout, change sets, Content-ID references and the limits; the helpers build batches for other tests too.
public sealed class DataverseBatchContractTests
{
    [Fact]
    public async Task Batch_with_continue_on_error_runs_every_request_and_reports_the_failure_in_its_part()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var body = Batch("batch_1",
            Part("POST accounts HTTP/1.1", """{"name":"Batch A"}"""),
            Part("POST accounts HTTP/1.1", """{"name":"Batch B","nosuch":1}"""),
            Part("POST accounts HTTP/1.1", """{"name":"Batch C"}"""));

        var reply = await SendBatch(sbx, "batch_1", body, ("Prefer", "odata.continue-on-error"));
        var stopped = await SendBatch(sbx, "batch_1", body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.StartsWith("multipart/mixed; boundary=batchresponse_", reply.ContentType);
        Assert.Equal(new[] { "204", "400", "204" }, StatusLines(reply.Body));
        Assert.Contains("Invalid property 'nosuch'", reply.Body);
        Assert.Equal(new[] { "204", "400" }, StatusLines(stopped.Body));
        var names = (await sbx.Dataverse(HttpMethod.Get, "accounts?$select=name&$filter=startswith(name,'Batch')")).Values.Select(v => v.GetProperty("name").GetString()).Order();
        Assert.Equal(new[] { "Batch A", "Batch A", "Batch C" }, names);
    }

    [Fact]
    public async Task A_change_set_is_atomic_and_resolves_Content_ID_references()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var good = Batch("batch_2", ChangeSet("changeset_a",
            Part("POST accounts HTTP/1.1", """{"name":"ChangeSet Parent"}""", contentId: "1"),
            Part("POST contacts HTTP/1.1", """{"lastname":"ChangeSet Child","parentcustomerid_account@odata.bind":"$1"}""", contentId: "2")));
        var bad = Batch("batch_3", ChangeSet("changeset_b",
            Part("POST accounts HTTP/1.1", """{"name":"Rolled Back"}""", contentId: "1"),
            Part("POST accounts HTTP/1.1", """{"name":"Rolled Back 2","creditlimit":"lots"}""", contentId: "2")));

        var committed = await SendBatch(sbx, "batch_2", good);
        var rolledBack = await SendBatch(sbx, "batch_3", bad);

        Assert.Equal(new[] { "204", "204" }, StatusLines(committed.Body));
        Assert.Contains("Content-ID: 2", committed.Body);
        var child = Assert.Single((await sbx.Dataverse(HttpMethod.Get, "contacts?$select=_parentcustomerid_value&$filter=lastname eq 'ChangeSet Child'")).Values);
        Assert.NotEqual(JsonValueKind.Null, child.GetProperty("_parentcustomerid_value").ValueKind);
        Assert.Equal(new[] { "400" }, StatusLines(rolledBack.Body));
        Assert.Empty((await sbx.Dataverse(HttpMethod.Get, "accounts?$filter=startswith(name,'Rolled Back')")).Values);
    }

    [Fact]
    public async Task A_batch_over_1000_requests_and_a_GET_inside_a_change_set_are_refused()
    {
        await using var sbx = await SandboxClient.StartAsync();
        var tooMany = Batch("batch_4", Enumerable.Range(0, 1001).Select(_ => Part("GET WhoAmI HTTP/1.1", null)).ToArray());
        var getInChangeSet = Batch("batch_5", ChangeSet("changeset_c", Part("GET accounts HTTP/1.1", null)));

        Assert.Equal(HttpStatusCode.BadRequest, (await SendBatch(sbx, "batch_4", tooMany)).Status);
        Assert.Contains("not allowed inside a change set", (await SendBatch(sbx, "batch_5", getInChangeSet)).Body);
    }

    internal static string Part(string requestLine, string? body, string? contentId = null)
    {
        var text = new StringBuilder();
        text.Append("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        if (contentId is not null)
        {
            text.Append("Content-ID: ").Append(contentId).Append("\r\n");
        }

        text.Append("\r\n").Append(requestLine).Append("\r\n");
        if (body is not null)
        {
            text.Append("Content-Type: application/json\r\n\r\n").Append(body).Append("\r\n");
        }
        else
        {
            text.Append("\r\n");
        }

        return text.ToString();
    }

    internal static string ChangeSet(string boundary, params string[] parts) =>
        $"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n" + string.Concat(parts.Select(p => $"--{boundary}\r\n{p}")) + $"--{boundary}--\r\n";

    internal static string Batch(string boundary, params string[] parts) =>
        string.Concat(parts.Select(p => $"--{boundary}\r\n{p}")) + $"--{boundary}--\r\n";

    internal static Task<Reply> SendBatch(SandboxClient sbx, string boundary, string body, params (string, string)[] headers)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"multipart/mixed; boundary={boundary}");
        return sbx.SendAsync(HttpMethod.Post, sbx.Host.DataverseApiUrl + "$batch", content, sbx.Sample.SetupApp, headers);
    }

    internal static string[] StatusLines(string body) =>
        body.Split("\r\n").Where(l => l.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToArray();
}
