using CrmSync.Accounts;

namespace CrmSync.Engine.Tests.Accounts;

/// <summary>An account-setup observer that answers yes to every ShouldProcess and ignores progress.</summary>
internal sealed class AcceptAllSetupObserver : ISetupObserver
{
    public bool ShouldProcess(string target, string action) => true;
    public void Verbose(string message)
    {
    }

    public void Warning(string message)
    {
    }

    public void Progress(string activity, string status, int percent)
    {
    }
}

/// <summary>Rows of the Microsoft 365 CSV as tests write them: every template column, a user, a display name and the country.</summary>
internal static class SalespersonTestRows
{
    public static Dictionary<string, string?> Values(string userName, string displayName) =>
        SalespersonCsv.Headers.ToDictionary(h => h, h => (string?)(h switch
        {
            SalespersonCsv.UserName => userName,
            SalespersonCsv.DisplayName => displayName,
            SalespersonCsv.Country => "United States",
            _ => null,
        }));

    public static SalespersonRow Row(int rowNumber, string userName, string displayName) => new(rowNumber, Values(userName, displayName));
}
