using System.Text;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Graph;
using CrmSync.Sandbox.Limits;
using CrmSync.Sandbox.Seed;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;
using AspNetWebApplication = Microsoft.AspNetCore.Builder.WebApplication;

namespace CrmSync.Sandbox.Hosting;

/// <summary>
/// The sandbox: Kestrel on 127.0.0.1 serving the Dataverse Web API (/dataverse/api/data/v9.2/), BC API
/// v2.0 (/bc/v2.0/{tenant}/{environment}/api/v2.0/), Microsoft Graph (/v1.0/, at the root as Graph serves it: the Graph SDK makes batch step URLs relative to it) and a token endpoint
/// (/token/{tenant}/oauth2/v2.0/token), with per-identity limits, latency, faults and counters.
/// </summary>
public sealed partial class SandboxHost : IAsyncDisposable
{
    private readonly AspNetWebApplication _app;

    /// <summary>
    /// One request per service is handled at a time: a service's work runs under its store's lock, so a second one would
    /// only block a pool thread on it — and while one request sorts a large table, two such threads starved Kestrel and
    /// the other services of a thread (a Dataverse GET of one row answered after 180 ms) until the pool added more.
    /// Requests over this wait without holding a thread; the services still work at the same time as each other.
    /// </summary>
    private readonly Dictionary<string, SemaphoreSlim> _handling = new(StringComparer.Ordinal)
    {
        [DataverseService.ServiceName] = new(1),
        [BcService.ServiceName] = new(1),
        [GraphService.ServiceName] = new(1),
    };
    private readonly Dictionary<string, (ServiceLimiter Limiter, FaultInjector Faults)> _protection;
    private RequestHold? _hold;

    private SandboxHost(AspNetWebApplication app, SandboxOptions options)
    {
        _app = app;
        Options = options;
        Identities = new IdentityDirectory();
        Dataverse = new DataverseService(Clock);
        BusinessCentral = new BcService(Clock);
        Graph = new GraphService(Clock, Identities);
        _protection = new Dictionary<string, (ServiceLimiter, FaultInjector)>
        {
            [DataverseService.ServiceName] = (new ServiceLimiter(options.Limits.Dataverse), new FaultInjector(options.DataverseFaults)),
            [BcService.ServiceName] = (new ServiceLimiter(options.Limits.BusinessCentral), new FaultInjector(options.BusinessCentralFaults)),
            [GraphService.ServiceName] = (new ServiceLimiter(options.Limits.Graph), new FaultInjector(options.GraphFaults)),
        };
        // Requests inside a $batch succeed or fail one by one (BC, Graph, Dataverse outside change sets): faults reach them one by one too.
        BusinessCentral.InnerFault = (method, url) => InnerFault(BcService.ServiceName, method, url);
        Graph.InnerFault = (method, url) => InnerFault(GraphService.ServiceName, method, url);
        Dataverse.InnerFault = (method, url) => InnerFault(DataverseService.ServiceName, method, url);
        Graph.LicenseChanged = (user, licensed) => _ = SyncUserToDataverseAsync(user, licensed);
        Graph.TenantId = TenantId;
    }

    public SandboxOptions Options { get; }

    public SandboxClock Clock { get; } = new();

    public IdentityDirectory Identities { get; }

    public DataverseService Dataverse { get; }

    public BcService BusinessCentral { get; }

    public GraphService Graph { get; }

    public SandboxCounters Counters { get; } = new();

    /// <summary>The sample data's well-known identities, company and records (null without seeding).</summary>
    public SampleData? Sample { get; private set; }

    public Guid TenantId { get; } = Guid.NewGuid();

    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>Dataverse environment URL (the Web API is at …/api/data/v9.2/).</summary>
    public string DataverseUrl => BaseUrl + "dataverse";

    public string DataverseApiUrl => DataverseUrl + "/api/data/v9.2/";

    /// <summary>BC API v2.0 root: …/bc/v2.0/{tenant}/{environment}/api/v2.0/.</summary>
    public string BusinessCentralApiUrl => $"{BaseUrl}bc/v2.0/{TenantId}/{Options.EnvironmentName}/api/v2.0/";

    /// <summary>Graph base URL (v1.0), for GraphServiceClient's baseUrl.</summary>
    public string GraphUrl => BaseUrl + "v1.0";

    public string TokenUrl => $"{BaseUrl}token/{TenantId}/oauth2/v2.0/token";

    /// <summary>HTTPS sandboxes: the Entra-style authority host (…/{tenant}/oauth2/v2.0/token, devicecode), for -AuthorityHost.</summary>
    public string? AuthorityHost => Options.Https ? BaseUrl : null;

    /// <summary>HTTPS sandboxes: the managed identity endpoint as App Service and Azure Automation expose it (IDENTITY_ENDPOINT).</summary>
    public string? ManagedIdentityEndpoint => Options.Https ? BaseUrl + "msi/token" : null;

    /// <summary>The secret a managed identity request must carry (IDENTITY_HEADER, sent as X-IDENTITY-HEADER).</summary>
    public string ManagedIdentityHeader { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>HTTPS sandboxes: the PEM of the TLS certificate, to trust as a development certificate (SSL_CERT_FILE, or the user's root store).</summary>
    public string? TlsCertificatePath => Options.Https ? Path.Combine(Options.CertificateFolder, SandboxCertificates.TlsPem) : null;

    /// <summary>Device codes issued and not yet redeemed (Entra's device authorization grant).</summary>
    internal DeviceCodes DeviceCodes { get; } = new();

    public int ProcessId => Environment.ProcessId;

    public static async Task<SandboxHost> StartAsync(SandboxOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SandboxOptions();
        var builder = AspNetWebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "CrmSync.Sandbox" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = 350L * 1024 * 1024;
            kestrel.Listen(System.Net.IPAddress.Loopback, options.Port, listen =>
            {
                if (options.Https)
                {
                    listen.UseHttps(SandboxCertificates.LoadOrCreateTls(options.CertificateFolder));
                }
            });
        });
        var app = builder.Build();
        var host = new SandboxHost(app, options);
        app.Run(host.ServeAsync);
        if (options.SeedSample)
        {
            host.Sample = SampleData.Seed(host, options.ExtraCustomers, options.ExtraAccounts, options.ExtraSalespeople, options.IntegrationApps);
            if (options.Https)
            {
                // Each application gets a certificate registered with it, as an admin uploads one to an app registration.
                foreach (var registered in new[] { host.Sample.SetupApp }.Concat(host.Sample.IntegrationApps))
                {
                    (registered.Certificate, registered.CertificatePath) = SandboxCertificates.CreateForApplication(host.Options.CertificateFolder, registered.ClientId!.Value, registered.DisplayName);
                }
            }
        }

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetService(typeof(IServer)) is IServer server ? server.Features.Get<IServerAddressesFeature>()?.Addresses.First() : null;
        host.BaseUrl = (address ?? throw new InvalidOperationException("Kestrel did not report its address.")).TrimEnd('/') + "/";
        return host;
    }

    /// <summary>
    /// Holds the <paramref name="nth"/> request that <paramref name="matches"/> (service, method, endpoint such as
    /// "POST $batch") and every matching one after it, until the hold is released: in-process callers act at that exact
    /// moment of a client's run (a kill test kills the sync while its write is in flight). One hold at a time.
    /// </summary>
    public RequestHold Hold(Func<string, string, string, bool> matches, int nth)
    {
        var hold = new RequestHold(matches, nth, h => Interlocked.CompareExchange(ref _hold, null, h));
        if (Interlocked.CompareExchange(ref _hold, hold, null) is not null)
        {
            throw new InvalidOperationException("A request hold is already set; release or dispose it first.");
        }

        return hold;
    }

    /// <summary>Requests of a service waiting in its queue for a slot (Business Central queues beyond its concurrency).</summary>
    public int Queued(string service) => _protection[service].Limiter.Queued;

    /// <summary>Changes a service's limits on the running sandbox.</summary>
    public void SetLimits(string service, ServiceLimits limits) => _protection[service].Limiter.Limits = limits;

    public FaultInjector Faults(string service) => _protection[service].Faults;

    public string IssueToken(SandboxIdentity identity, SandboxAudience audience = SandboxAudience.All) =>
        Identities.IssueToken(identity, audience).AccessToken;

    /// <summary>Sends a request to a service as <paramref name="caller"/> without HTTP, limits or faults (tests changing data "as user X").</summary>
    public ServiceResponse Invoke(string service, SandboxIdentity caller, string method, string pathAndQuery, object? body = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        var question = pathAndQuery.IndexOf('?');
        var request = new ServiceRequest
        {
            Method = method,
            Path = question >= 0 ? pathAndQuery[..question] : pathAndQuery,
            Query = question >= 0 ? Multipart.ParseQuery(pathAndQuery[(question + 1)..]) : Array.Empty<KeyValuePair<string, string>>(),
            Headers = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase),
            Body = body switch
            {
                null => Array.Empty<byte>(),
                string text => Encoding.UTF8.GetBytes(text),
                _ => JsonSerializer.SerializeToUtf8Bytes(body),
            },
            Caller = caller,
            ServiceRoot = RootOf(service),
        };
        return service switch
        {
            DataverseService.ServiceName => Dataverse.Handle(request),
            BcService.ServiceName => BusinessCentral.Handle(request),
            GraphService.ServiceName => Graph.Handle(request),
            _ => throw new ArgumentException($"Unknown service {service}."),
        };
    }

    private string RootOf(string service) => service switch
    {
        DataverseService.ServiceName => DataverseApiUrl,
        BcService.ServiceName => BusinessCentralApiUrl,
        _ => GraphUrl + "/",
    };

}
