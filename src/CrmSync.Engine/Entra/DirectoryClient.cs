using CrmSync.Http;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.AssignLicense;
using Microsoft.Kiota.Abstractions.Authentication;

namespace CrmSync.Entra;

public sealed record DirectoryUser(Guid Id, string UserPrincipalName, string? DisplayName, string? UsageLocation, IReadOnlyList<Guid> LicenseSkuIds);

public sealed record NewDirectoryUser
{
    public required string UserPrincipalName { get; init; }

    public required string DisplayName { get; init; }

    public string? GivenName { get; init; }

    public string? Surname { get; init; }

    public string? UsageLocation { get; init; }

    public string? JobTitle { get; init; }

    public string? Department { get; init; }

    public string? OfficeLocation { get; init; }

    public string? BusinessPhone { get; init; }

    public string? MobilePhone { get; init; }

    public string? FaxNumber { get; init; }

    public string? AlternateEmail { get; init; }

    public string? StreetAddress { get; init; }

    public string? City { get; init; }

    public string? State { get; init; }

    public string? PostalCode { get; init; }

    public string? Country { get; init; }

    public required Auth.SecretText Password { get; init; }

    public bool ForceChangePasswordNextSignIn { get; init; } = true;
}

public sealed record LicenseSku(Guid SkuId, string SkuPartNumber, int Enabled, int Consumed)
{
    public int Available => Enabled - Consumed;
}

public sealed record DirectoryDomain(string Name, bool IsVerified, bool IsDefault);

public sealed record DirectoryOrganization(Guid TenantId, string DisplayName, string? CountryLetterCode);

/// <summary>
/// Microsoft Graph v1.0 through the Microsoft.Graph SDK (docs/reference/integration.md §F). Requests go through
/// CrmSync's <see cref="ServiceHandler"/>, which adds the token and handles throttling, so the SDK's own
/// authentication and retry middleware are not used (and loopback hosts work).
/// </summary>
public sealed class DirectoryClient
{
    /// <summary>Graph JSON $batch holds at most 20 requests (docs/reference/integration.md §F.4).</summary>
    public const int MaxBatchRequests = 20;

    private readonly GraphServiceClient _graph;
    private readonly HttpClient _http;

    internal DirectoryClient(HttpClient http, string baseUrl, string identity)
    {
        BaseUrl = baseUrl;
        Identity = identity;
        _http = http;
        _graph = new GraphServiceClient(http, new AnonymousAuthenticationProvider(), baseUrl);
    }

    /// <summary>Creates users through Graph JSON $batch, 20 per request; each result is the user or the error for it.</summary>
    public async Task<IReadOnlyList<(NewDirectoryUser Request, DirectoryUser? User, ServiceRequestException? Error)>> CreateUsersAsync(IReadOnlyList<NewDirectoryUser> users, CancellationToken cancellationToken = default)
    {
        var results = new List<(NewDirectoryUser, DirectoryUser?, ServiceRequestException?)>();
        foreach (var chunk in users.Chunk(MaxBatchRequests))
        {
            var requests = new System.Text.Json.Nodes.JsonArray();
            for (var i = 0; i < chunk.Length; i++)
            {
                requests.Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["id"] = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["method"] = "POST",
                    ["url"] = "/users",
                    ["headers"] = new System.Text.Json.Nodes.JsonObject { ["Content-Type"] = "application/json" },
                    ["body"] = UserBody(chunk[i]),
                });
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, BaseUrl.TrimEnd('/') + "/$batch")
            {
                Content = new StringContent(new System.Text.Json.Nodes.JsonObject { ["requests"] = requests }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            };
            // A retried create would meet "already exists"; the caller looks users up first, so a lost answer is recovered next run.
            request.Options.Set(ServiceHandler.SafeToRetry, false);
            HttpResponseMessage response;
            string text;
            try
            {
                response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ServiceErrors.IsTransportFailure(ex))
            {
                // Whether Graph created the users is unknown: the next run looks them up before creating any.
                throw ServiceErrors.Unreachable(ServiceKind.Graph, $"POST /$batch ({chunk.Length} users)", ex);
            }

            using var answered = response;
            if (!response.IsSuccessStatusCode)
            {
                throw ServiceErrors.FromResponse(ServiceKind.Graph, response.StatusCode, text, "POST /$batch", Identity);
            }

            var answers = System.Text.Json.Nodes.JsonNode.Parse(text)!["responses"]!.AsArray()
                .ToDictionary(r => r!["id"]!.GetValue<string>(), r => r!.AsObject());
            for (var i = 0; i < chunk.Length; i++)
            {
                var answer = answers[(i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)];
                var status = answer["status"]!.GetValue<int>();
                var body = answer["body"] as System.Text.Json.Nodes.JsonObject;
                if (status >= 400)
                {
                    results.Add((chunk[i], null, ServiceErrors.FromResponse(ServiceKind.Graph, (System.Net.HttpStatusCode)status, body?.ToJsonString(), $"POST /users ({chunk[i].UserPrincipalName})", Identity)));
                    continue;
                }

                results.Add((chunk[i], new DirectoryUser(Guid.Parse(body!["id"]!.GetValue<string>()), body["userPrincipalName"]?.GetValue<string>() ?? chunk[i].UserPrincipalName,
                    body["displayName"]?.GetValue<string>(), chunk[i].UsageLocation, Array.Empty<Guid>()), null));
            }
        }

        return results;
    }

    private static System.Text.Json.Nodes.JsonObject UserBody(NewDirectoryUser user)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["accountEnabled"] = true,
            ["userPrincipalName"] = user.UserPrincipalName,
            ["mailNickname"] = user.UserPrincipalName.Split('@')[0],
            ["displayName"] = user.DisplayName,
            ["passwordProfile"] = new System.Text.Json.Nodes.JsonObject { ["password"] = user.Password.Reveal(), ["forceChangePasswordNextSignIn"] = user.ForceChangePasswordNextSignIn },
        };
        void Optional(string name, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                body[name] = value;
            }
        }

        Optional("givenName", user.GivenName);
        Optional("surname", user.Surname);
        Optional("usageLocation", user.UsageLocation);
        Optional("jobTitle", user.JobTitle);
        Optional("department", user.Department);
        Optional("officeLocation", user.OfficeLocation);
        Optional("mobilePhone", user.MobilePhone);
        Optional("faxNumber", user.FaxNumber);
        Optional("streetAddress", user.StreetAddress);
        Optional("city", user.City);
        Optional("state", user.State);
        Optional("postalCode", user.PostalCode);
        Optional("country", user.Country);
        if (!string.IsNullOrWhiteSpace(user.BusinessPhone))
        {
            body["businessPhones"] = new System.Text.Json.Nodes.JsonArray(user.BusinessPhone);
        }

        if (!string.IsNullOrWhiteSpace(user.AlternateEmail))
        {
            body["otherMails"] = new System.Text.Json.Nodes.JsonArray(user.AlternateEmail);
        }

        return body;
    }

    /// <summary>Sets a user's usage location (needed before a license can be assigned).</summary>
    public Task SetUsageLocationAsync(Guid userId, string usageLocation, CancellationToken cancellationToken = default) => Call("PATCH /users/{id}", async () =>
    {
        await _graph.Users[userId.ToString()].PatchAsync(new User { UsageLocation = usageLocation }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    });

    public string BaseUrl { get; }

    public string Identity { get; }

    public Task<DirectoryOrganization> GetOrganizationAsync(CancellationToken cancellationToken = default) => Call("GET /organization", async () =>
    {
        var organization = (await _graph.Organization.GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false))?.Value?.FirstOrDefault()
            ?? throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, "Microsoft Graph returned no organization.");
        return new DirectoryOrganization(Guid.Parse(organization.Id!), organization.DisplayName ?? string.Empty, organization.CountryLetterCode);
    });

    public Task<DirectoryUser?> FindUserAsync(string userPrincipalName, CancellationToken cancellationToken = default) => Call("GET /users/{upn}", async () =>
    {
        try
        {
            var user = await _graph.Users[userPrincipalName].GetAsync(r => r.QueryParameters.Select = new[] { "id", "userPrincipalName", "displayName", "usageLocation", "assignedLicenses" }, cancellationToken).ConfigureAwait(false);
            return user is null ? null : ToUser(user);
        }
        catch (ODataError error) when (error.ResponseStatusCode == 404)
        {
            return null;
        }
    });

    public async Task<DirectoryUser> CreateUserAsync(NewDirectoryUser user, CancellationToken cancellationToken = default)
    {
        var (_, created, error) = (await CreateUsersAsync(new[] { user }, cancellationToken).ConfigureAwait(false))[0];
        return created ?? throw error!;
    }

    public Task<IReadOnlyList<LicenseSku>> GetSubscribedSkusAsync(CancellationToken cancellationToken = default) => Call("GET /subscribedSkus", async () =>
    {
        var skus = await _graph.SubscribedSkus.GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return (IReadOnlyList<LicenseSku>)(skus?.Value ?? new List<SubscribedSku>())
            .Select(s => new LicenseSku(s.SkuId ?? Guid.Empty, s.SkuPartNumber ?? string.Empty, s.PrepaidUnits?.Enabled ?? 0, s.ConsumedUnits ?? 0))
            .ToList();
    });

    public Task<IReadOnlyList<DirectoryDomain>> GetDomainsAsync(CancellationToken cancellationToken = default) => Call("GET /domains", async () =>
    {
        var domains = await _graph.Domains.GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return (IReadOnlyList<DirectoryDomain>)(domains?.Value ?? new List<Domain>())
            .Select(d => new DirectoryDomain(d.Id ?? string.Empty, d.IsVerified ?? false, d.IsDefault ?? false))
            .ToList();
    });

    /// <summary>Adds a license; both addLicenses and removeLicenses are always sent (§F.2).</summary>
    public Task AssignLicenseAsync(Guid userId, Guid skuId, CancellationToken cancellationToken = default) => Call("POST /users/{id}/assignLicense", async () =>
    {
        await _graph.Users[userId.ToString()].AssignLicense.PostAsync(new AssignLicensePostRequestBody
        {
            AddLicenses = new List<AssignedLicense> { new() { SkuId = skuId, DisabledPlans = new List<Guid?>() } },
            RemoveLicenses = new List<Guid?>(),
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    });

    private static DirectoryUser ToUser(User user) => new(
        Guid.Parse(user.Id!),
        user.UserPrincipalName ?? string.Empty,
        user.DisplayName,
        user.UsageLocation,
        (user.AssignedLicenses ?? new List<AssignedLicense>()).Select(l => l.SkuId ?? Guid.Empty).ToList());

    private async Task<T> Call<T>(string request, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ODataError error)
        {
            throw ServiceErrors.FromResponse(ServiceKind.Graph, (System.Net.HttpStatusCode)error.ResponseStatusCode,
                System.Text.Json.JsonSerializer.Serialize(new { error = new { code = error.Error?.Code, message = error.Error?.Message ?? error.Message } }), request, Identity);
        }
        catch (Microsoft.Kiota.Abstractions.ApiException error)
        {
            throw ServiceErrors.FromResponse(ServiceKind.Graph, (System.Net.HttpStatusCode)error.ResponseStatusCode, null, request, Identity);
        }
        catch (Exception ex) when (ServiceErrors.IsTransportFailure(ex))
        {
            throw ServiceErrors.Unreachable(ServiceKind.Graph, request, ex);
        }
    }
}
