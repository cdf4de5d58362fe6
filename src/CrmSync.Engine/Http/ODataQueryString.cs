namespace CrmSync.Http;

/// <summary>Builds the $select/$filter/$orderby query string both OData services take.</summary>
internal static class ODataQueryString
{
    public static string Build(IReadOnlyList<string>? select, string? filter, string? orderBy)
    {
        var parts = new List<string>();
        if (select is { Count: > 0 })
        {
            parts.Add("$select=" + string.Join(',', select));
        }

        if (!string.IsNullOrWhiteSpace(filter))
        {
            parts.Add("$filter=" + Uri.EscapeDataString(filter));
        }

        if (!string.IsNullOrWhiteSpace(orderBy))
        {
            parts.Add("$orderby=" + Uri.EscapeDataString(orderBy));
        }

        return string.Join('&', parts);
    }
}
