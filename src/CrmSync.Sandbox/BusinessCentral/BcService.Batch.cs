
namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>JSON $batch (§E.4): each request run in turn, inside the company of the batch's URL.</summary>
public sealed partial class BcService
{
    // ---- JSON $batch (§E.4) ---------------------------------------------------------------------

    private ServiceResponse ExecuteBatch(ServiceRequest request)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        if (!body.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            throw new ServiceException(400, "BadRequest_InvalidRequestBody", "A $batch body must be {\"requests\": [ {\"id\", \"method\", \"url\", \"headers\", \"body\"}, … ]}.");
        }

        var items = requests.EnumerateArray().ToList();
        if (items.Count > MaxBatchOperations)
        {
            throw new ServiceException(400, "BadRequest", $"The $batch request has {items.Count} operations; the maximum is {MaxBatchOperations}.");
        }

        if (items.FirstOrDefault(i => i.ValueKind == JsonValueKind.Object && i.TryGetProperty("atomicityGroup", out _)) is { ValueKind: JsonValueKind.Object } grouped)
        {
            // BC documents transactions in a JSON $batch only through Isolation: snapshot; ignoring the group would keep
            // half of what the client asked to be all or nothing.
            throw new ServiceException(400, "BadRequest_NotSupported", $"The sandbox does not emulate atomicityGroup in a Business Central $batch (request '{(grouped.TryGetProperty("id", out var id) ? id.ToString() : "?")}'): Business Central makes a batch transactional with the header Isolation: snapshot. Send the grouped requests as a batch of their own with that header.");
        }

        var snapshot = string.Equals(request.Header("Isolation"), "snapshot", StringComparison.OrdinalIgnoreCase);
        var results = new List<(string Id, ServiceResponse Response)>();
        if (snapshot)
        {
            // Isolation: snapshot runs the batch in one transaction (use-odata-batch.md): when one request fails, every change
            // is reverted "as if the batch request never happened" — so the batch answers with that request's error, and no
            // response claims a record that was rolled back.
            try
            {
                lock (Store.Sync)
                {
                    Store.Atomic(() =>
                    {
                        results.AddRange(items.Select(item => ExecuteItem(request, item)));
                        return results.Any(r => r.Response.Status >= 400) ? throw new SnapshotRolledBack() : true;
                    });
                }
            }
            catch (SnapshotRolledBack)
            {
                return results.First(r => r.Response.Status >= 400).Response;
            }
        }
        else
        {
            results.AddRange(items.Select(item => ExecuteItem(request, item)));
        }

        return JsonBatch.Respond(results, lowerCaseHeaders: true, "application/json; odata.metadata=minimal");
    }

    /// <summary>The fault answer to one request inside a $batch (method, url), or null to run it; set by the host.</summary>
    public Func<string, string, ServiceResponse?>? InnerFault { get; set; }

    private (string Id, ServiceResponse Response) ExecuteItem(ServiceRequest batch, JsonElement element)
    {
        var item = JsonBatch.Parse(element);
        if (InnerFault?.Invoke(item.Method, item.Url) is { } fault)
        {
            // In BC each request of a $batch succeeds or fails on its own.
            return (item.Id, fault);
        }

        if (item.Url.StartsWith('$'))
        {
            return (item.Id, Error(new ServiceException(400, "BadRequest_NotSupported",
                $"The sandbox does not emulate referring to an earlier request's result ('{item.Url}') in a $batch: address the entity by its id (companies(<id>)/customers(<id>)), or send the requests one after the other.")));
        }

        try
        {
            item = WithCompany(item);
        }
        catch (ServiceException ex)
        {
            return (item.Id, Error(ex));
        }

        return (item.Id, Handle(JsonBatch.ToRequest(item, batch, "/api/v2.0/")));
    }

    // An inner URL relative to the company ("customers(…)", as in Microsoft's batch example) names its company in a
    // Company header (the company's name): it becomes companies(<id>)/customers(…).
    private JsonBatch.Item WithCompany(JsonBatch.Item item)
    {
        var url = item.Url.TrimStart('/');
        if (url.StartsWith("companies", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http", StringComparison.OrdinalIgnoreCase) || url.Contains("/api/v2.0/", StringComparison.OrdinalIgnoreCase))
        {
            return item;
        }

        if (!item.Headers.TryGetValue("Company", out var name))
        {
            throw new ServiceException(400, "BadRequest_NoCompany", $"The request '{item.Url}' names no company: write companies(<id>)/{url}, or add a Company header with the company's name.");
        }

        var nameIndex = _companies.Schema.IndexOf("name");
        Row? found;
        lock (Store.Sync)
        {
            found = _companies.Rows.FirstOrDefault(r => string.Equals(r.Values[nameIndex] as string, name, StringComparison.OrdinalIgnoreCase));
        }

        var company = found
            ?? throw new ServiceException(404, "Internal_CompanyNotFound", $"Cannot process the request because the company '{name}' cannot be found.");
        return item with { Url = $"companies({company.Values[_companies.Schema.KeyIndex]})/{url}" };
    }

    private sealed class SnapshotRolledBack : Exception
    {
    }
}
