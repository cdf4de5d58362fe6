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

public sealed record DirectoryOrganization(Guid TenantId, string DisplayName);

/// <summary>
/// Microsoft Graph v1.0 through the Microsoft.Graph SDK (reference/domain.md §F). Requests go through
/// CrmSync's <see cref="ServiceHandler"/>, which adds the token and handles throttling, so the SDK's own
/// authentication and retry middleware are not used (and loopback hosts work).
/// </summary>
public sealed class DirectoryClient
{
    private readonly GraphServiceClient _graph;

    internal DirectoryClient(HttpClient http, string baseUrl, string identity)
    {
        BaseUrl = baseUrl;
        Identity = identity;
        _graph = new GraphServiceClient(http, new AnonymousAuthenticationProvider(), baseUrl);
    }

    public string BaseUrl { get; }

    public string Identity { get; }

    public Task<DirectoryOrganization> GetOrganizationAsync(CancellationToken cancellationToken = default) => Call("GET /organization", async () =>
    {
        var organization = (await _graph.Organization.GetAsync(cancellationToken: cancellationToken).ConfigureAwait(false))?.Value?.FirstOrDefault()
            ?? throw new CrmSyncException("ServiceResponseInvalid", CrmSyncErrorKind.InvalidData, "Microsoft Graph returned no organization.");
        return new DirectoryOrganization(Guid.Parse(organization.Id!), organization.DisplayName ?? string.Empty);
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

    public Task<DirectoryUser> CreateUserAsync(NewDirectoryUser user, CancellationToken cancellationToken = default) => Call("POST /users", async () =>
    {
        var created = await _graph.Users.PostAsync(new User
        {
            AccountEnabled = true,
            UserPrincipalName = user.UserPrincipalName,
            MailNickname = user.UserPrincipalName.Split('@')[0],
            DisplayName = user.DisplayName,
            GivenName = user.GivenName,
            Surname = user.Surname,
            UsageLocation = user.UsageLocation,
            JobTitle = user.JobTitle,
            Department = user.Department,
            OfficeLocation = user.OfficeLocation,
            BusinessPhones = user.BusinessPhone is null ? null : new List<string> { user.BusinessPhone },
            MobilePhone = user.MobilePhone,
            FaxNumber = user.FaxNumber,
            OtherMails = user.AlternateEmail is null ? null : new List<string> { user.AlternateEmail },
            StreetAddress = user.StreetAddress,
            City = user.City,
            State = user.State,
            PostalCode = user.PostalCode,
            Country = user.Country,
            PasswordProfile = new PasswordProfile { Password = user.Password.Reveal(), ForceChangePasswordNextSignIn = user.ForceChangePasswordNextSignIn },
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return ToUser(created!);
    });

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
        catch (HttpRequestException ex)
        {
            throw new CrmSyncException("ServiceUnreachable", CrmSyncErrorKind.ConnectionError, $"Microsoft Graph could not be reached for {request}: {ex.Message}", request, ex);
        }
    }
}
