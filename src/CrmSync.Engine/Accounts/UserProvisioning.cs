using System.Security.Cryptography;
using CrmSync.Dataverse;
using CrmSync.Entra;

namespace CrmSync.Accounts;

/// <summary>
/// The steps every account setup shares: license an Entra user (Graph), wait until the environment's user sync adds
/// it to Dataverse, and give it security roles in its business unit. Each step is idempotent and asks ShouldProcess.
/// </summary>
internal sealed class UserProvisioning(DataverseClient dataverse, DirectoryClient directory, ISetupObserver observer)
{
    // The roles of a business unit, read once per setup call (an import gives hundreds of users the same role).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, Task<IReadOnlyList<DataverseRole>>> _rolesByBusinessUnit = new();

    public async Task<SetupStep> EnsureLicenseAsync(DirectoryUser user, string skuPartNumber, string? usageLocation, CancellationToken cancellationToken) =>
        await EnsureLicenseAsync(user, await FindSkuAsync(skuPartNumber, cancellationToken).ConfigureAwait(false), usageLocation, cancellationToken).ConfigureAwait(false);

    /// <summary>Assigns a license of a subscription already read (an import checks the free seats once, for every row).</summary>
    public async Task<SetupStep> EnsureLicenseAsync(DirectoryUser user, LicenseSku sku, string? usageLocation, CancellationToken cancellationToken)
    {
        const string name = "Assign the license";
        if (user.LicenseSkuIds.Contains(sku.SkuId))
        {
            return new SetupStep(name, StepOutcome.AlreadyDone, $"{user.UserPrincipalName} has {sku.SkuPartNumber}.");
        }

        if (sku.Available <= 0)
        {
            return new SetupStep(name, StepOutcome.Failed, $"No {sku.SkuPartNumber} license is free ({sku.Consumed} of {sku.Enabled} assigned). Free or buy one, then run again.");
        }

        if (!observer.ShouldProcess(user.UserPrincipalName, $"Assign the {sku.SkuPartNumber} license"))
        {
            return new SetupStep(name, StepOutcome.WouldDo, $"{sku.SkuPartNumber} would be assigned.");
        }

        if (string.IsNullOrEmpty(user.UsageLocation))
        {
            // Like the admin center, default to the tenant's country.
            usageLocation ??= (await directory.GetOrganizationAsync(cancellationToken).ConfigureAwait(false)).CountryLetterCode;
            if (string.IsNullOrEmpty(usageLocation))
            {
                return new SetupStep(name, StepOutcome.Failed, $"{user.UserPrincipalName} has no usage location, which a license needs, and the tenant has no country. Give -UsageLocation (a two-letter country code).");
            }

            await directory.SetUsageLocationAsync(user.Id, usageLocation, cancellationToken).ConfigureAwait(false);
        }

        await directory.AssignLicenseAsync(user.Id, sku.SkuId, cancellationToken).ConfigureAwait(false);
        return new SetupStep(name, StepOutcome.Done, $"Assigned {sku.SkuPartNumber}.");
    }

    public async Task<LicenseSku> FindSkuAsync(string skuPartNumber, CancellationToken cancellationToken)
    {
        var skus = await directory.GetSubscribedSkusAsync(cancellationToken).ConfigureAwait(false);
        return skus.FirstOrDefault(s => string.Equals(s.SkuPartNumber, skuPartNumber, StringComparison.OrdinalIgnoreCase))
            ?? throw new CrmSyncException("LicenseNotInTenant", CrmSyncErrorKind.ObjectNotFound,
                $"The tenant has no {skuPartNumber} subscription. Its subscriptions: {string.Join(", ", skus.Select(s => $"{s.SkuPartNumber} ({s.Available} free)"))}. Use -SkuPartNumber.", skuPartNumber);
    }

    /// <summary>
    /// Polls Dataverse until each Entra user appears (the environment's user sync adds licensed users) or the
    /// timeout passes; <paramref name="waiting"/> hears how many are missing after how long, between polls.
    /// </summary>
    public async Task<Dictionary<Guid, DataverseUser>> WaitForDataverseUsersAsync(IReadOnlyCollection<Guid> entraIds, TimeSpan timeout, TimeSpan pollInterval, Action<int, TimeSpan> waiting, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, DataverseUser>();
        var started = DateTimeOffset.UtcNow;
        while (true)
        {
            foreach (var id in entraIds.Where(id => !found.ContainsKey(id)).ToList())
            {
                if (await dataverse.FindUserAsync($"azureactivedirectoryobjectid eq {id}", cancellationToken).ConfigureAwait(false) is { } user)
                {
                    found[id] = user;
                }
            }

            var missing = entraIds.Count(id => !found.ContainsKey(id));
            var waited = DateTimeOffset.UtcNow - started;
            if (missing == 0 || waited >= timeout)
            {
                return found;
            }

            waiting(missing, waited);
            await Task.Delay(pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives a user roles by name, using the copy of each role in the user's business unit (§D.8).</summary>
    public async Task<SetupStep> EnsureRolesAsync(DataverseUser user, string target, IReadOnlyList<string> roleNames, string stepName, CancellationToken cancellationToken)
    {
        var held = await dataverse.GetUserRoleNamesAsync(user.SystemUserId, cancellationToken).ConfigureAwait(false);
        var missing = roleNames.Where(r => !held.Contains(r, StringComparer.OrdinalIgnoreCase)).ToList();
        if (missing.Count == 0)
        {
            return new SetupStep(stepName, StepOutcome.AlreadyDone, $"Holds {string.Join(", ", roleNames)}.");
        }

        if (!observer.ShouldProcess(target, $"Assign the role(s) {string.Join(", ", missing)}"))
        {
            return new SetupStep(stepName, StepOutcome.WouldDo, $"{string.Join(", ", missing)} would be assigned.");
        }

        var roles = await _rolesByBusinessUnit.GetOrAdd(user.BusinessUnitId, unit => dataverse.GetRolesAsync(unit, cancellationToken: cancellationToken)).ConfigureAwait(false);
        foreach (var name in missing)
        {
            var role = roles.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new CrmSyncException("RoleNotFound", CrmSyncErrorKind.ObjectNotFound,
                    $"The business unit {user.BusinessUnitId} of {target} has no role '{name}'. Roles there: {string.Join(", ", roles.Select(r => r.Name).Distinct())}.", name);
            await dataverse.AssociateRoleAsync(user.SystemUserId, role.RoleId, cancellationToken).ConfigureAwait(false);
        }

        return new SetupStep(stepName, StepOutcome.Done, $"Assigned {string.Join(", ", missing)} (the copies of the user's business unit).");
    }

    /// <summary>16 characters from four classes (Entra's complexity rules).</summary>
    public static string GeneratePassword()
    {
        const string upper = "ABCDEFGHJKLMNPQRSTUVWXYZ", lower = "abcdefghijkmnopqrstuvwxyz", digits = "23456789", symbols = "!@#$%^&*-_=+";
        var all = upper + lower + digits + symbols;
        var chars = new[] { upper, lower, digits, symbols }.Select(set => set[RandomNumberGenerator.GetInt32(set.Length)])
            .Concat(Enumerable.Range(0, 12).Select(_ => all[RandomNumberGenerator.GetInt32(all.Length)])).ToArray();
        RandomNumberGenerator.Shuffle(chars.AsSpan());
        return new string(chars);
    }


    /// <summary>A string as an OData literal: quoted, with quotes doubled.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
