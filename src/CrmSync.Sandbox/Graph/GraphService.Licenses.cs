using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace CrmSync.Sandbox.Graph;

/// <summary>Licenses (§F.2): subscribed SKUs, assignLicense with its checks, licenseDetails.</summary>
public sealed partial class GraphService
{
    // ---- Licenses (§F.2) ------------------------------------------------------------------------

    private ServiceResponse AssignLicense(ServiceRequest request, Row user)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest", message));
        var missing = new[] { "addLicenses", "removeLicenses" }.Where(p => !body.TryGetProperty(p, out var v) || v.ValueKind != JsonValueKind.Array).ToList();
        if (missing.Count > 0)
        {
            // The real service requires both arrays, even empty (§F.2; msgraph-sdk-powershell #3231).
            throw new ServiceException(400, "Request_BadRequest",
                $"One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: {string.Join(", ", missing)}.");
        }

        var usageLocation = user.Values[UserSchema.IndexOf("usageLocation")] as string;
        var add = body.GetProperty("addLicenses").EnumerateArray().Select(a =>
        {
            var skuText = a.TryGetProperty("skuId", out var s) ? s.GetString() : null;
            return Guid.TryParse(skuText, out var sku) ? sku : throw new ServiceException(400, "Request_BadRequest", $"Invalid value specified for property 'skuId' of resource 'AssignedLicense': '{skuText}'.");
        }).ToList();
        var remove = body.GetProperty("removeLicenses").EnumerateArray().Select(r => Guid.TryParse(r.GetString(), out var g) ? g : Guid.Empty).ToList();
        var current = ((JsonArray?)user.Values[UserSchema.IndexOf("assignedLicenses")] ?? new JsonArray())
            .Select(n => Guid.Parse(n!["skuId"]!.GetValue<string>())).ToList();

        if (add.Count > 0 && string.IsNullOrEmpty(usageLocation))
        {
            throw new ServiceException(400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.");
        }

        var newlyAdded = add.Where(s => !current.Contains(s)).Distinct().ToList();
        foreach (var skuId in newlyAdded)
        {
            var sku = Skus.FirstOrDefault(s => s.SkuId == skuId) ?? throw new ServiceException(400, "Request_BadRequest", $"License {skuId} does not correspond to a valid company License.");
            if (sku.Consumed >= sku.Enabled)
            {
                throw new ServiceException(400, "Request_BadRequest", $"Subscription {sku.SkuPartNumber} ({skuId}) does not have any available licenses: {sku.Consumed} of {sku.Enabled} are assigned.");
            }
        }

        var removed = remove.Where(current.Contains).Distinct().ToList();
        foreach (var skuId in newlyAdded)
        {
            Skus.First(s => s.SkuId == skuId).Consumed++;
        }

        foreach (var skuId in removed)
        {
            if (Skus.FirstOrDefault(s => s.SkuId == skuId) is { } sku)
            {
                sku.Consumed--;
            }
        }

        var licenses = new JsonArray();
        foreach (var skuId in current.Except(removed).Concat(newlyAdded))
        {
            licenses.Add(new JsonObject { ["disabledPlans"] = new JsonArray(), ["skuId"] = skuId.ToString() });
        }

        var values = (object?[])user.Values.Clone();
        values[UserSchema.IndexOf("assignedLicenses")] = licenses;
        var row = new Row(values, Store.NextVersion(), request.Caller.ObjectId);
        Users.Put(row);
        var before = current.Any(GrantsDataverse);
        var after = current.Except(removed).Concat(newlyAdded).Any(GrantsDataverse);
        if (before != after)
        {
            LicenseChanged?.Invoke(row, after);
        }

        return UserResponse(request, row, 200, readSelect: false);
    }

    private bool GrantsDataverse(Guid skuId) => Skus.Any(s => s.SkuId == skuId && s.GrantsDataverseAccess);

    /// <summary>An unpaged collection: the context, then each item as an object.</summary>
    // Subscribed SKUs, the organization and domains come whole: a query option would be ignored, so it is refused.
    private static ServiceResponse Collection<T>(ServiceRequest request, string entitySet, IReadOnlyCollection<T> items, Action<Utf8JsonWriter, T> writeItem) =>
        request.Query.Any()
            ? throw new ServiceException(400, "BadRequest", $"The sandbox does not emulate query options on /{entitySet} ({string.Join(", ", request.Query.Select(q => q.Key))}): it returns the whole collection only.")
            : WholeCollection(request, entitySet, items, writeItem);

    private static ServiceResponse WholeCollection<T>(ServiceRequest request, string entitySet, IReadOnlyCollection<T> items, Action<Utf8JsonWriter, T> writeItem) => ServiceResponse.Json(200, w =>
    {
        w.WriteStartObject();
        w.WriteString("@odata.context", $"{request.ServiceRoot}$metadata#{entitySet}");
        w.WriteStartArray("value");
        foreach (var item in items)
        {
            w.WriteStartObject();
            writeItem(w, item);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }, items.Count);

    /// <summary>GET users/$count: the number of users as plain text; like every $count on directory objects it needs ConsistencyLevel: eventual.</summary>
    private ServiceResponse CountUsers(ServiceRequest request)
    {
        if (!string.Equals(request.Header("ConsistencyLevel"), "eventual", StringComparison.OrdinalIgnoreCase))
        {
            throw new ServiceException(400, "Request_BadRequest", "Count is not currently supported without the ConsistencyLevel: eventual header.");
        }

        var options = QueryOptions.Parse(request.Query, new HashSet<string> { "$filter" }, key => new ServiceException(400, "BadRequest", $"Query option '{key}' is not allowed with $count."));
        var matches = QueryRunner.Predicate(options.Filter, new FilterCompiler(PlainProperties.For(UserSchema), UnknownProperty));
        return new ServiceResponse { Status = 200, Body = Encoding.UTF8.GetBytes(Users.Rows.Count(matches).ToString(CultureInfo.InvariantCulture)), ContentType = "text/plain" };
    }

    /// <summary>GET users/{id}/licenseDetails: one entry per assigned license, with the SKU's service plans.</summary>
    private ServiceResponse LicenseDetails(ServiceRequest request, Row user)
    {
        if (request.Query.Count > 0)
        {
            throw new ServiceException(400, "BadRequest", $"The sandbox does not emulate query options on licenseDetails ({string.Join(", ", request.Query.Select(q => q.Key))}).");
        }

        var assigned = ((JsonArray?)user.Values[UserSchema.IndexOf("assignedLicenses")] ?? new JsonArray())
            .Select(n => Guid.Parse(n!["skuId"]!.GetValue<string>()))
            .Select(id => Skus.FirstOrDefault(s => s.SkuId == id))
            .OfType<SubscribedSku>()
            .ToList();
        var userId = (Guid)user.Values[UserSchema.KeyIndex]!;
        return WholeCollection(request, $"users('{userId}')/licenseDetails", assigned, (w, sku) =>
        {
            w.WriteString("id", $"{userId:N}{sku.SkuId:N}");
            w.WriteString("skuId", sku.SkuId);
            w.WriteString("skuPartNumber", sku.SkuPartNumber);
            WriteServicePlans(w, sku);
        });
    }

    private static void WriteServicePlans(Utf8JsonWriter w, SubscribedSku sku)
    {
        w.WriteStartArray("servicePlans");
        foreach (var (id, name) in sku.ServicePlans)
        {
            w.WriteStartObject();
            w.WriteString("servicePlanId", id);
            w.WriteString("servicePlanName", name);
            w.WriteString("provisioningStatus", "Success");
            w.WriteString("appliesTo", "User");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private ServiceResponse ListSkus(ServiceRequest request) => Collection(request, "subscribedSkus", Skus, (w, sku) =>
    {
        w.WriteString("capabilityStatus", "Enabled");
        w.WriteNumber("consumedUnits", sku.Consumed);
        w.WriteString("id", $"{Guid.Empty}_{sku.SkuId}");
        w.WriteString("skuId", sku.SkuId);
        w.WriteString("skuPartNumber", sku.SkuPartNumber);
        w.WriteString("appliesTo", "User");
        w.WriteStartObject("prepaidUnits");
        w.WriteNumber("enabled", sku.Enabled);
        w.WriteNumber("suspended", 0);
        w.WriteNumber("warning", 0);
        w.WriteNumber("lockedOut", 0);
        w.WriteEndObject();
        WriteServicePlans(w, sku);
    });

    private ServiceResponse Organization(ServiceRequest request) => Collection(request, "organization", new[] { TenantId }, (w, tenantId) =>
    {
        w.WriteString("id", tenantId);
        w.WriteString("displayName", OrganizationName);
        w.WriteString("countryLetterCode", CountryLetterCode);
        w.WriteStartArray("verifiedDomains");
        foreach (var domain in Domains.Where(d => d.IsVerified))
        {
            w.WriteStartObject();
            w.WriteString("name", domain.Name);
            w.WriteBoolean("isDefault", domain.IsDefault);
            w.WriteBoolean("isInitial", domain.IsInitial);
            w.WriteString("type", "Managed");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private ServiceResponse ListDomains(ServiceRequest request) => Collection(request, "domains", Domains, (w, domain) =>
    {
        w.WriteString("authenticationType", "Managed");
        w.WriteString("id", domain.Name);
        w.WriteBoolean("isDefault", domain.IsDefault);
        w.WriteBoolean("isInitial", domain.IsInitial);
        w.WriteBoolean("isVerified", domain.IsVerified);
    });
}
