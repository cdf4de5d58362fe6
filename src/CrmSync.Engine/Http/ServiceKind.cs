namespace CrmSync.Http;

/// <summary>The three services CrmSync talks to.</summary>
public enum ServiceKind
{
    Dataverse,
    BusinessCentral,
    Graph,
}

public static class ServiceKindNames
{
    public static string Display(this ServiceKind service) => service switch
    {
        ServiceKind.Dataverse => "Dataverse",
        ServiceKind.BusinessCentral => "Business Central",
        _ => "Microsoft Graph",
    };
}
