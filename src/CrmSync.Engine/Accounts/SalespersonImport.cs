using CrmSync.Auth;
using CrmSync.BusinessCentral;
using CrmSync.Connections;
using CrmSync.Dataverse;
using CrmSync.Entra;
using CrmSync.Mapping;
using CrmSync.State;

namespace CrmSync.Accounts;

public sealed record SalespersonImportOptions
{
    /// <summary>The license to assign: the Customer Engagement plan by default (docs/reference/integration.md §F.2).</summary>
    public string SkuPartNumber { get; init; } = "DYN365_ENTERPRISE_PLAN1";

    /// <summary>Usage location for rows without a 'Usage Location' column or a known country name.</summary>
    public string? UsageLocation { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    public bool ReturnPasswords { get; init; }
}

/// <summary>One imported row: each step's outcome.</summary>
public sealed record SalespersonImportResult
{
    public int RowNumber { get; init; }

    public required string UserPrincipalName { get; init; }

    public string? DisplayName { get; init; }

    public Guid? EntraObjectId { get; init; }

    public Guid? SystemUserId { get; init; }

    public string? SalespersonCode { get; init; }

    public IReadOnlyList<SetupStep> Steps { get; init; } = Array.Empty<SetupStep>();

    /// <summary>The generated password of a new user, only when asked for.</summary>
    public string? Password { get; init; }

    public bool Succeeded => Steps.All(s => s.Outcome is StepOutcome.Done or StepOutcome.AlreadyDone or StepOutcome.WouldDo);
}

/// <summary>
/// Import-Salesperson: salespeople from the Microsoft 365 "Import multiple users" CSV — created in Entra (Graph $batch),
/// licensed, waited for in Dataverse, given the Salesperson role and coupled to BC salespeople (docs/reference/integration.md §F).
/// </summary>
internal sealed class SalespersonImport(DataverseClient dataverse, DirectoryClient directory, BusinessCentralClient businessCentral, CouplingStore couplings, ISetupObserver observer)
{
    private readonly UserProvisioning _provisioning = new UserProvisioning(dataverse, directory, observer);

    /// <summary>The import into a connection's services, coupling in its state file.</summary>
    public static SalespersonImport For(CrmSyncConnection connection, ISetupObserver observer) =>
        new(connection.Dataverse, connection.Directory, connection.BusinessCentral, connection.Store.Couplings, observer);

    /// <summary>
    /// Imports salespeople from the Microsoft 365 CSV rows: validates every row first, checks free seats,
    /// creates missing users (Graph $batch), licenses them, waits for them in Dataverse, gives them the
    /// Salesperson role in their business unit and couples them to BC salespeople. Bad rows are reported
    /// through <paramref name="rowError"/> and left out; re-running does nothing new.
    /// </summary>
    public async Task<IReadOnlyList<SalespersonImportResult>> ImportAsync(IReadOnlyList<SalespersonRow> rows, SalespersonImportOptions options, Action<SalespersonRowException> rowError, CancellationToken cancellationToken)
    {
        var domains = await directory.GetDomainsAsync(cancellationToken).ConfigureAwait(false);
        var valid = Validate(rows, domains, options, rowError);
        if (valid.Count == 0)
        {
            return Array.Empty<SalespersonImportResult>();
        }

        // Rows are independent: their requests go out together, and each service's handler keeps to its concurrency limit.
        observer.Progress("Importing salespeople", $"Looking up {valid.Count} users", 0);
        var work = (await Task.WhenAll(valid.Select(async v =>
                new ImportItem(v.Row, v.UsageLocation, await directory.FindUserAsync(v.Row[SalespersonCsv.UserName]!, cancellationToken).ConfigureAwait(false))))
            .ConfigureAwait(false)).ToList();

        // Seats first: never a silent partial result (docs/reference/integration.md §F.2).
        var sku = await _provisioning.FindSkuAsync(options.SkuPartNumber, cancellationToken).ConfigureAwait(false);
        var needing = work.Count(w => w.User is null || !w.User.LicenseSkuIds.Contains(sku.SkuId));
        if (needing > sku.Available)
        {
            throw new CrmSyncException("NotEnoughLicenses", CrmSyncErrorKind.LimitsExceeded,
                $"{needing} users need a {sku.SkuPartNumber} license, but only {sku.Available} of {sku.Enabled} are free. Nothing was created: free or buy {needing - sku.Available} more, or import fewer rows.", sku.SkuPartNumber);
        }

        await CreateUsersAsync(work, cancellationToken).ConfigureAwait(false);
        observer.Progress("Importing salespeople", "Assigning licenses", 30);
        var licensed = work.Where(w => w.User is not null).ToList();
        var licenses = await Task.WhenAll(licensed.Select(item => _provisioning.EnsureLicenseAsync(item.User!, sku, item.UsageLocation, cancellationToken))).ConfigureAwait(false);
        foreach (var (item, license) in licensed.Zip(licenses))
        {
            item.Steps.Add(license);
            if (license.Outcome == StepOutcome.WouldDo)
            {
                item.WhatIf = true;
                item.Steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.WouldDo, "What if: not done."));
            }
        }

        await WaitInDataverseAsync(work, options, cancellationToken).ConfigureAwait(false);
        var salespeople = await LoadSalespeopleAsync(businessCentral, cancellationToken).ConfigureAwait(false);
        observer.Progress("Importing salespeople", "Assigning the Salesperson role", 80);
        var roles = await Task.WhenAll(work.Select(item => item.SystemUser is { } user
            ? _provisioning.EnsureRolesAsync(user, item.Upn, new[] { SecurityRoles.SalespersonRole }, "Assign the Salesperson role", cancellationToken)
            : Task.FromResult<SetupStep>(null!))).ConfigureAwait(false);
        for (var i = 0; i < work.Count; i++)
        {
            var item = work[i];
            observer.Progress("Importing salespeople", $"Coupling: {item.Upn}", 90 + 10 * i / work.Count);
            if (item.SystemUser is { } systemUser)
            {
                item.Steps.Add(roles[i]);
                item.Steps.Add(Couple(item, systemUser, salespeople));
            }
            else
            {
                item.Steps.Add(new SetupStep("Assign the Salesperson role", item.WhatIf ? StepOutcome.WouldDo : StepOutcome.NotReached, item.WhatIf ? "What if: not done." : "Not reached: the user is not in Dataverse yet."));
                item.Steps.Add(new SetupStep("Couple to the BC salesperson", item.WhatIf ? StepOutcome.WouldDo : StepOutcome.NotReached, item.WhatIf ? "What if: not done." : "Not reached: the user is not in Dataverse yet."));
            }
        }

        observer.Progress("Importing salespeople", "Done", 100);
        return work.Select(w => new SalespersonImportResult
        {
            RowNumber = w.Row.RowNumber, UserPrincipalName = w.Upn, DisplayName = w.Row[SalespersonCsv.DisplayName], EntraObjectId = w.User?.Id,
            SystemUserId = w.SystemUser?.SystemUserId, SalespersonCode = w.SalespersonCode, Steps = w.Steps, Password = options.ReturnPasswords ? w.Password : null,
        }).ToList();
    }

    private sealed class ImportItem(SalespersonRow row, string usageLocation, DirectoryUser? user)
    {
        public SalespersonRow Row { get; } = row;

        public string Upn => Row[SalespersonCsv.UserName]!;

        public string UsageLocation { get; } = usageLocation;

        public DirectoryUser? User { get; set; } = user;

        public DataverseUser? SystemUser { get; set; }

        public string? SalespersonCode { get; set; }

        public string? Password { get; set; }

        public bool WhatIf { get; set; }

        public List<SetupStep> Steps { get; } = new();
    }

    private static List<(SalespersonRow Row, string UsageLocation)> Validate(IReadOnlyList<SalespersonRow> rows, IReadOnlyList<DirectoryDomain> domains, SalespersonImportOptions options, Action<SalespersonRowException> rowError)
    {
        var valid = new List<(SalespersonRow, string)>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var verified = domains.Where(d => d.IsVerified).Select(d => d.Name).ToList();
        foreach (var row in rows)
        {
            var upn = row[SalespersonCsv.UserName];
            SalespersonRowException? problem = null;
            if (row.Values.Where(v => !string.IsNullOrWhiteSpace(v.Value)).Select(v => (v.Key, Cell: SalespersonCsv.CellProblem(v.Key, v.Value!))).FirstOrDefault(c => c.Cell is not null) is { Cell: { } cell } bad)
            {
                problem = new SalespersonRowException(row.RowNumber, bad.Key, cell.Problem, cell.Fix);
            }
            else if (upn is null)
            {
                problem = new SalespersonRowException(row.RowNumber, SalespersonCsv.UserName, "is empty.", "Every row needs the user's sign-in name, e.g. chris@contoso.com.");
            }
            else if (!SalespersonCsv.UpnPattern().IsMatch(upn))
            {
                problem = new SalespersonRowException(row.RowNumber, SalespersonCsv.UserName, $"'{upn}' is not a user principal name.", "Write it as name@domain, e.g. chris@contoso.com.");
            }
            else if (!verified.Contains(upn[(upn.IndexOf('@') + 1)..], StringComparer.OrdinalIgnoreCase))
            {
                problem = new SalespersonRowException(row.RowNumber, SalespersonCsv.UserName, $"the domain of '{upn}' is not a verified domain of the tenant.",
                    $"Use one of the verified domains: {string.Join(", ", verified)} (or verify the domain in the Microsoft 365 admin center).");
            }
            else if (seen.TryGetValue(upn, out var first))
            {
                problem = new SalespersonRowException(row.RowNumber, SalespersonCsv.UserName, $"'{upn}' is already in row {first}.", "Remove the duplicate row.");
            }
            else if (row[SalespersonCsv.DisplayName] is null)
            {
                problem = new SalespersonRowException(row.RowNumber, SalespersonCsv.DisplayName, "is empty.", "Every row needs a display name, e.g. Chris Green.");
            }

            var location = row[SalespersonCsv.UsageLocationColumn] is { } explicitLocation ? SalespersonCsv.CountryCode(explicitLocation) : options.UsageLocation ?? SalespersonCsv.CountryCode(row[SalespersonCsv.Country]);
            if (problem is null && location is null)
            {
                problem = new SalespersonRowException(row.RowNumber, row[SalespersonCsv.UsageLocationColumn] is null ? SalespersonCsv.Country : SalespersonCsv.UsageLocationColumn,
                    $"'{row[SalespersonCsv.UsageLocationColumn] ?? row[SalespersonCsv.Country]}' gives no usage location, which a license needs.",
                    "Add a 'Usage Location' column with two-letter country codes (e.g. US), or pass -UsageLocation.");
            }

            if (upn is not null)
            {
                seen.TryAdd(upn, row.RowNumber);
            }

            if (problem is not null)
            {
                rowError(problem);
                continue;
            }

            valid.Add((row, location!));
        }

        return valid;
    }

    private async Task CreateUsersAsync(List<ImportItem> work, CancellationToken cancellationToken)
    {
        var toCreate = new List<(ImportItem Item, NewDirectoryUser User)>();
        foreach (var item in work)
        {
            if (item.User is not null)
            {
                item.Steps.Add(new SetupStep("Create the Entra user", StepOutcome.AlreadyDone, $"{item.Upn} exists ({item.User.Id})."));
                continue;
            }

            if (!observer.ShouldProcess(item.Upn, "Create the Entra user"))
            {
                item.WhatIf = true;
                item.Steps.Add(new SetupStep("Create the Entra user", StepOutcome.WouldDo, "What if: not done."));
                item.Steps.Add(new SetupStep("Assign the license", StepOutcome.WouldDo, "What if: not done."));
                item.Steps.Add(new SetupStep("Wait for the user in Dataverse", StepOutcome.WouldDo, "What if: not done."));
                continue;
            }

            var row = item.Row;
            item.Password = UserProvisioning.GeneratePassword();
            toCreate.Add((item, new NewDirectoryUser
            {
                UserPrincipalName = item.Upn, DisplayName = row[SalespersonCsv.DisplayName]!, GivenName = row[SalespersonCsv.FirstName], Surname = row[SalespersonCsv.LastName],
                JobTitle = row[SalespersonCsv.JobTitle], Department = row[SalespersonCsv.Department], OfficeLocation = row[SalespersonCsv.OfficeNumber],
                BusinessPhone = row[SalespersonCsv.OfficePhone], MobilePhone = row[SalespersonCsv.MobilePhone], FaxNumber = row[SalespersonCsv.Fax],
                AlternateEmail = row[SalespersonCsv.AlternateEmail], StreetAddress = row[SalespersonCsv.Address], City = row[SalespersonCsv.City],
                State = row[SalespersonCsv.State], PostalCode = row[SalespersonCsv.PostalCode], Country = row[SalespersonCsv.Country],
                UsageLocation = item.UsageLocation, Password = new SecretText(item.Password),
            }));
        }

        if (toCreate.Count == 0)
        {
            return;
        }

        observer.Progress("Importing salespeople", $"Creating {toCreate.Count} users", 10);
        var created = await directory.CreateUsersAsync(toCreate.Select(t => t.User).ToList(), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < created.Count; i++)
        {
            var item = toCreate[i].Item;
            if (created[i].Error is { } error)
            {
                item.Password = null;
                item.Steps.Add(new SetupStep("Create the Entra user", StepOutcome.Failed, error.ServiceMessage));
                continue;
            }

            item.User = created[i].User;
            item.Steps.Add(new SetupStep("Create the Entra user", StepOutcome.Done, $"Created {item.Upn} ({item.User!.Id})."));
        }
    }

    private async Task WaitInDataverseAsync(List<ImportItem> work, SalespersonImportOptions options, CancellationToken cancellationToken)
    {
        var pending = work.Where(w => w.User is not null && !w.WhatIf && w.Steps.Last().Outcome is StepOutcome.Done or StepOutcome.AlreadyDone).ToList();
        var appeared = await _provisioning.WaitForDataverseUsersAsync(pending.Select(p => p.User!.Id).ToList(), options.Timeout, options.PollInterval, (waiting, waited) =>
            observer.Progress("Importing salespeople", $"Waiting for {waiting} users in Dataverse ({waited.TotalSeconds:0} of {options.Timeout.TotalSeconds:0} s)", 40 + (int)(40 * waited.TotalSeconds / options.Timeout.TotalSeconds)), cancellationToken).ConfigureAwait(false);
        foreach (var item in pending)
        {
            item.SystemUser = appeared.GetValueOrDefault(item.User!.Id);
        }

        foreach (var item in work.Where(w => w.User is not null && !w.WhatIf))
        {
            item.Steps.Add(item.SystemUser is { } user
                ? new SetupStep("Wait for the user in Dataverse", StepOutcome.AlreadyDone, $"systemuser {user.SystemUserId}.")
                : new SetupStep("Wait for the user in Dataverse", StepOutcome.Failed, pending.Contains(item)
                    ? $"Not in Dataverse after {options.Timeout.TotalSeconds:0} s. Run Import-Salesperson again later; it continues where it stopped."
                    : "Not reached: the user is not licensed."));
        }
    }

    /// <summary>Every BC salesperson's id, code and e-mail (what coupling by code or e-mail needs).</summary>
    internal static async Task<List<(Guid Id, string Code, string Email)>> LoadSalespeopleAsync(BusinessCentralClient businessCentral, CancellationToken cancellationToken)
    {
        var salespeople = new List<(Guid, string, string)>();
        await foreach (var row in businessCentral.ListAsync("salespeoplePurchasers", new BcQuery { Select = new[] { "id", "code", "email" } }, cancellationToken).ConfigureAwait(false))
        {
            salespeople.Add((Guid.Parse(row["id"]!.GetValue<string>()), row["code"]?.GetValue<string>() ?? string.Empty, row["email"]?.GetValue<string>() ?? string.Empty));
        }

        return salespeople;
    }

    // Couple through the SALESPEOPLE mapping's couplings: by an explicit code, else by e-mail (§F.3).
    private SetupStep Couple(ImportItem item, DataverseUser systemUser, List<(Guid Id, string Code, string Email)> salespeople)
    {
        const string name = "Couple to the BC salesperson";
        var code = item.Row[SalespersonCsv.SalespersonCodeColumn];
        var emails = new[] { item.Upn, item.Row[SalespersonCsv.AlternateEmail] }.OfType<string>().ToList();
        var matches = code is not null
            ? salespeople.Where(s => string.Equals(s.Code, code, StringComparison.OrdinalIgnoreCase)).ToList()
            : salespeople.Where(s => emails.Contains(s.Email, StringComparer.OrdinalIgnoreCase)).ToList();
        if (matches.Count != 1)
        {
            return new SetupStep(name, StepOutcome.Failed, code is not null
                ? $"There is no Business Central salesperson with code '{code}'. Fix the 'Salesperson Code' column."
                : matches.Count == 0
                    ? $"No Business Central salesperson has the e-mail {string.Join(" or ", emails)}. Add a 'Salesperson Code' column, or set the salesperson's e-mail in Business Central."
                    : $"{matches.Count} Business Central salespeople have the e-mail {item.Upn}. Add a 'Salesperson Code' column to say which.");
        }

        var salesperson = matches[0];
        item.SalespersonCode = salesperson.Code;
        var byUser = couplings.GetByDataverseId(StandardMappings.Salespeople, systemUser.SystemUserId);
        var bySalesperson = couplings.GetByBcId(StandardMappings.Salespeople, salesperson.Id);
        if (byUser is not null && byUser.BcId == salesperson.Id)
        {
            return new SetupStep(name, StepOutcome.AlreadyDone, $"Coupled to {salesperson.Code}.");
        }

        if (byUser is not null || bySalesperson is not null)
        {
            return new SetupStep(name, StepOutcome.Failed, byUser is not null
                ? $"{item.Upn} is already coupled to another salesperson. Remove-IntegrationCoupling SALESPEOPLE -DataverseId {systemUser.SystemUserId} first."
                : $"Salesperson {salesperson.Code} is already coupled to another user. Remove-IntegrationCoupling SALESPEOPLE -BcId {salesperson.Id} first.");
        }

        if (!observer.ShouldProcess(item.Upn, $"Couple to Business Central salesperson {salesperson.Code}"))
        {
            return new SetupStep(name, StepOutcome.WouldDo, $"Would couple to {salesperson.Code}.");
        }

        // Dataverse's side is left "changed" so the next SALESPEOPLE synchronization brings name, e-mail and phone to BC.
        couplings.Save(new IntegrationCoupling { MappingName = StandardMappings.Salespeople, BcId = salesperson.Id, DataverseId = systemUser.SystemUserId, CoupledAt = DateTimeOffset.UtcNow });
        return new SetupStep(name, StepOutcome.Done, $"Coupled to {salesperson.Code}.");
    }
}
