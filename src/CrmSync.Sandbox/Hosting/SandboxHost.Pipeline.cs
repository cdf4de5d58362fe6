using System.Diagnostics;
using CrmSync.Sandbox.BusinessCentral;
using CrmSync.Sandbox.Dataverse;
using CrmSync.Sandbox.Graph;
using CrmSync.Sandbox.Limits;
using Microsoft.AspNetCore.Http;

namespace CrmSync.Sandbox.Hosting;

/// <summary>The HTTP pipeline: Kestrel routes, tokens, service protection and faults around each service's handler, the request log.</summary>
public sealed partial class SandboxHost
{
    // ---- HTTP pipeline --------------------------------------------------------------------------

    private async Task ServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith("/token/", StringComparison.Ordinal))
        {
            await TokenEndpoint.HandleAsync(this, context, path.Split('/')[2]).ConfigureAwait(false);
            return;
        }

        try
        {
            if (Options.Https && await TokenEndpoint.TryServeAuthorityAsync(this, context, path).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted)
        {
            // Never an empty 500: Entra's error body, naming what failed.
            await TokenEndpoint.ServerErrorAsync(context, ex).ConfigureAwait(false);
            return;
        }

        if (path == "/_sandbox/info")
        {
            // Discovery for Connect-CrmSync -SandboxUrl: the same description the program prints.
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(JsonSerializer.Serialize(Program.Describe(this))).ConfigureAwait(false);
            return;
        }

        if (path == "/_sandbox/statistics")
        {
            await ServeStatisticsAsync(context).ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/dataverse/api/data/v9.2/", StringComparison.Ordinal))
        {
            await ServeServiceAsync(context, DataverseService.ServiceName, SandboxAudience.Dataverse, path["/dataverse/api/data/v9.2/".Length..], DataverseApiUrl, Dataverse.Handle).ConfigureAwait(false);
            return;
        }

        var bcPrefix = $"/bc/v2.0/{TenantId}/{Options.EnvironmentName}/api/v2.0/";
        if (path.StartsWith(bcPrefix, StringComparison.OrdinalIgnoreCase))
        {
            await ServeServiceAsync(context, BcService.ServiceName, SandboxAudience.BusinessCentral, path[bcPrefix.Length..], BusinessCentralApiUrl, BusinessCentral.Handle).ConfigureAwait(false);
            return;
        }

        // BC names the tenant by id or by one of its domains: …/v2.0/contoso.onmicrosoft.com/{environment}/api/v2.0/.
        if (Graph.Domains.Where(d => d.IsVerified).Select(d => $"/bc/v2.0/{d.Name}/{Options.EnvironmentName}/api/v2.0/")
                .FirstOrDefault(prefix => path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) is { } domainPrefix)
        {
            await ServeServiceAsync(context, BcService.ServiceName, SandboxAudience.BusinessCentral, path[domainPrefix.Length..], BaseUrl + domainPrefix.TrimStart('/'), BusinessCentral.Handle).ConfigureAwait(false);
            return;
        }

        // BC also takes the tenant from the token: …/v2.0/{environment}/api/v2.0/.
        var tenantlessPrefix = $"/bc/v2.0/{Options.EnvironmentName}/api/v2.0/";
        if (path.StartsWith(tenantlessPrefix, StringComparison.OrdinalIgnoreCase))
        {
            await ServeServiceAsync(context, BcService.ServiceName, SandboxAudience.BusinessCentral, path[tenantlessPrefix.Length..], $"{BaseUrl}bc/v2.0/{Options.EnvironmentName}/api/v2.0/", BusinessCentral.Handle).ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/bc/", StringComparison.OrdinalIgnoreCase))
        {
            // Other BC APIs (automation, custom API pages, OData web services): refused in BC's own error format.
            context.Response.StatusCode = 404;
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                error = new
                {
                    code = "BadRequest_NotFound",
                    message = $"The sandbox emulates Business Central API v2.0 only ({bcPrefix} or /bc/v2.0/{Options.EnvironmentName}/api/v2.0/); '{path}' (the automation API, custom APIs, OData web services) is not emulated.",
                },
            })).ConfigureAwait(false);
            return;
        }

        if (path.StartsWith("/v1.0/", StringComparison.Ordinal))
        {
            await ServeServiceAsync(context, GraphService.ServiceName, SandboxAudience.Graph, path["/v1.0/".Length..], GraphUrl + "/", Graph.Handle).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 404;
        await context.Response.WriteAsync($"The sandbox serves /dataverse/api/data/v9.2/, {bcPrefix}, /v1.0/ (Microsoft Graph, at the host root as graph.microsoft.com serves it) and /token/{TenantId}/oauth2/v2.0/token.").ConfigureAwait(false);
    }

    // What a sync costs in API calls: GET the counters (per service and identity, with endpoints); DELETE starts counting anew.
    private async Task ServeStatisticsAsync(HttpContext context)
    {
        var method = context.Request.Method.ToUpperInvariant();
        if (method == "DELETE")
        {
            Counters.Reset();
            context.Response.StatusCode = 204;
            return;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        if (method != "GET")
        {
            context.Response.StatusCode = 405;
            context.Response.Headers.Allow = "GET, DELETE";
            await context.Response.WriteAsync("{\"error\":{\"code\":\"MethodNotAllowed\",\"message\":\"/_sandbox/statistics answers GET (the counters) and DELETE (start counting anew).\"}}").ConfigureAwait(false);
            return;
        }

        var statistics = Counters.Snapshot(id => Identities.Get(id)?.DisplayName);
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            since = Counters.Since,
            signIns = Counters.SignIns,
            faults = _protection.ToDictionary(p => p.Key, p => p.Value.Faults.Injected.Values.Sum()),
            services = statistics.Select(s => new
            {
                service = s.Service,
                identity = s.Identity,
                displayName = s.DisplayName,
                requests = s.Requests,
                throttled = s.Throttled,
                peakConcurrency = s.PeakConcurrency,
                endpoints = s.Endpoints,
            }),
        })).ConfigureAwait(false);
    }

    private async Task ServeServiceAsync(HttpContext context, string service, SandboxAudience audience, string path, string root, Func<ServiceRequest, ServiceResponse> handle)
    {
        var received = DateTimeOffset.UtcNow;
        var method = context.Request.Method.ToUpperInvariant();
        var endpoint = SandboxCounters.EndpointOf(method, path);
        var (identity, problem) = Identities.Validate(context.Request.Headers.Authorization.ToString(), audience);
        Counters.Arrive(service, identity?.ObjectId);
        var status = 0;
        TimeSpan? retryAfter = null;
        var counted = false;

        // Counted before the answer is written: a client that has read it sees it in the counters.
        void Count()
        {
            if (!counted)
            {
                counted = true;
                Counters.Complete(new RequestLogEntry(received, DateTimeOffset.UtcNow, service, identity?.ObjectId, method, endpoint, status, retryAfter));
            }
        }

        async Task AnswerAsync(ServiceResponse answer)
        {
            status = answer.Status;
            Count();
            await WriteAsync(context, answer).ConfigureAwait(false);
        }

        try
        {
            if (identity is null)
            {
                var unauthorized = Unauthorized(service, problem!);
                await AnswerAsync(unauthorized).ConfigureAwait(false);
                return;
            }

            var (limiter, faults) = _protection[service];
            var fault = faults.Next(method, path);
            switch (fault)
            {
                case FaultKind.ResetBeforeCommit:
                    context.Abort();
                    return;
                case FaultKind.ServerError or FaultKind.ThrottleWithoutRetryAfter or FaultKind.ThrottleWithRetryAfter:
                    retryAfter = FaultRetryAfter(fault.Value);
                    var answer = FaultAnswer(service, fault.Value, limiter.Limits);
                    await AnswerAsync(answer).ConfigureAwait(false);
                    return;
                case FaultKind.SlowResponse:
                    await Task.Delay(faults.Options.SlowResponseDelay, context.RequestAborted).ConfigureAwait(false);
                    break;
            }

            var decision = await limiter.EnterAsync(identity.ObjectId, context.RequestAborted).ConfigureAwait(false);
            if (!decision.Admitted)
            {
                var limits = limiter.Limits;
                retryAfter = limits.SendRetryAfter || decision.Breach == LimitBreach.QueueTimeout ? decision.RetryAfter : null;
                var refused = Throttled(service, decision.Breach, retryAfter, limits);
                await AnswerAsync(refused).ConfigureAwait(false);
                return;
            }

            var clock = Stopwatch.StartNew();
            ServiceResponse response;
            try
            {
                var limits = limiter.Limits;
                var request = await ReadRequestAsync(context, method, path, root, identity).ConfigureAwait(false);
                var held = Volatile.Read(ref _hold) is { } hold && hold.Matches(service, method, endpoint) ? hold.Enter(endpoint) : null;
                try
                {
                    if (held is { } wait && !await wait.Handle.ConfigureAwait(false))
                    {
                        // Dropped by the hold: nothing is written and the client never hears back.
                        context.Abort();
                        status = 499;
                        return;
                    }

                    // A held request is handled even if its client is gone meanwhile: a write that lands without an answer.
                    await _handling[service].WaitAsync(held is null ? context.RequestAborted : CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        response = handle(request);
                    }
                    finally
                    {
                        _handling[service].Release();
                    }
                }
                finally
                {
                    held?.Done.TrySetResult();
                }

                // The configured server time is what the request takes in all: the emulator's own work is part of it.
                var remaining = limits.LatencyPerRequest + limits.LatencyPerRecord * response.Records - clock.Elapsed;
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining, context.RequestAborted).ConfigureAwait(false);
                }
            }
            finally
            {
                limiter.Exit(identity.ObjectId, clock.Elapsed);
            }

            if (fault == FaultKind.ResetAfterCommit)
            {
                // The write happened; the client never hears about it.
                context.Abort();
                return;
            }

            await AnswerAsync(response).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted)
        {
            // A defect of the sandbox still answers in the service's own error format, never with an empty 500.
            await AnswerAsync(ServerError(service, $"The sandbox failed unexpectedly ({ex.GetType().Name}: {ex.Message}).")).ConfigureAwait(false);
        }
        finally
        {
            Count();
        }
    }

    private static async Task<ServiceRequest> ReadRequestAsync(HttpContext context, string method, string path, string root, SandboxIdentity identity)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.Headers)
        {
            headers[name] = value.ToString();
        }

        var query = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in context.Request.Query)
        {
            foreach (var value in values)
            {
                query.Add(new KeyValuePair<string, string>(key, value ?? string.Empty));
            }
        }

        return new ServiceRequest
        {
            Method = method,
            Path = Uri.UnescapeDataString(path),
            Query = query,
            Headers = headers,
            Body = buffer.ToArray(),
            Caller = identity,
            ServiceRoot = root,
        };
    }

    private static async Task WriteAsync(HttpContext context, ServiceResponse response)
    {
        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers)
        {
            context.Response.Headers[name] = value;
        }

        if (response.Body is { Length: > 0 } body)
        {
            context.Response.ContentType = response.ContentType ?? "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    // Each service answers auth failures, throttling and server faults in its own format (§D.9, §D.10, §E.5, §F.5).
    private ServiceResponse Unauthorized(string service, string problem) => service switch
    {
        DataverseService.ServiceName => ServiceResponse.Empty(401)
            .With("WWW-Authenticate", $"Bearer authorization_uri={BaseUrl}token/{TenantId}/oauth2/authorize, resource_id={DataverseUrl}")
            .With("x-ms-diagnostics", problem),
        BcService.ServiceName => BcService.Error(new ServiceException(401, "Authentication_InvalidCredentials", $"The server has rejected the client credentials. {problem}"))
            .With("WWW-Authenticate", $"Bearer authorization_uri=\"{BaseUrl}token/{TenantId}/oauth2/authorize\""),
        _ => GraphService.Error(new ServiceException(401, "InvalidAuthenticationToken", problem.Contains("no Authorization", StringComparison.Ordinal) ? "Access token is empty." : $"Access token validation failure. {problem}"))
            .With("WWW-Authenticate", $"Bearer realm=\"\", authorization_uri=\"{BaseUrl}token/{TenantId}/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
    };

    // A fault the service answers with its own error (5xx, or 429 with or without Retry-After), as a whole request gets it
    // and as a request inside a $batch gets it.
    private static ServiceResponse FaultAnswer(string service, FaultKind fault, ServiceLimits limits) => fault == FaultKind.ServerError
        ? ServerError(service)
        : Throttled(service, LimitBreach.RequestCount, FaultRetryAfter(fault), limits);

    private static TimeSpan? FaultRetryAfter(FaultKind fault) => fault == FaultKind.ThrottleWithRetryAfter ? TimeSpan.FromSeconds(1) : null;

    // The answer to one request inside a $batch when a fault hits it, or null to run it. Each such request is counted by
    // its own endpoint too, so a test can tell how many times a record was sent, whatever the batches looked like.
    private ServiceResponse? InnerFault(string service, string method, string url)
    {
        var relative = url;
        foreach (var root in new[] { "/api/v2.0/", "/api/data/v9.2/", "/v1.0/" })
        {
            if (relative.IndexOf(root, StringComparison.OrdinalIgnoreCase) is var at and >= 0)
            {
                relative = relative[(at + root.Length)..];
                break;
            }
        }

        Counters.CountInner(service, SandboxCounters.EndpointOf(method.ToUpperInvariant(), relative.TrimStart('/')));
        var (limiter, faults) = _protection[service];
        return faults.NextInner(method, url) is { } fault ? FaultAnswer(service, fault, limiter.Limits) : null;
    }

    private static ServiceResponse ServerError(string service, string? message = null) => service switch
    {
        DataverseService.ServiceName => DataverseService.Error(new ServiceException(500, "0x80040216", message ?? "An unexpected error occurred.")),
        BcService.ServiceName => BcService.Error(new ServiceException(500, "Internal_ServerError", message ?? "An unexpected error occurred on the server.")),
        _ => GraphService.Error(new ServiceException(message is null ? 503 : 500, message is null ? "serviceNotAvailable" : "generalException", message ?? "The service is temporarily unavailable. Please try again later.")),
    };

    // A 429 that no configured limit caused: the fault injector's (--fault-rate), said as such rather than as a limit of nothing.
    private const string InjectedThrottle = "Too many requests: the sandbox's fault injection throttled this request (fault rate). Retry after a cool-off period.";

    private static ServiceResponse Throttled(string service, LimitBreach breach, TimeSpan? retryAfter, ServiceLimits limits)
    {
        var window = (int)limits.Window.TotalSeconds;
        return service switch
        {
            DataverseService.ServiceName => DataverseService.Error(breach switch
            {
                LimitBreach.ExecutionTime => new ServiceException(429, "0x80072321",
                    $"Combined execution time of incoming requests exceeded limit of {(long)(limits.ExecutionTimeBudget ?? TimeSpan.Zero).TotalMilliseconds} milliseconds over time window of {window} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.", retryAfter),
                LimitBreach.Concurrency => new ServiceException(429, "0x80072326", $"Number of concurrent requests exceeded the limit of {limits.MaxConcurrent}.", retryAfter),
                _ => new ServiceException(429, "0x80072322", limits.RequestsPerWindow is { } perWindow
                    ? $"Number of requests exceeded the limit of {perWindow} over time window of {window} seconds."
                    : InjectedThrottle, retryAfter),
            }),
            BcService.ServiceName => BcService.Error(breach == LimitBreach.QueueTimeout
                ? new ServiceException(503, "Request_QueueTimeout", "The request waited too long in the queue and was not processed. Retry later.", retryAfter)
                : new ServiceException(429, "Request_TooManyRequests", breach == LimitBreach.QueueFull
                    ? $"Too many requests: the user has {limits.MaxConcurrent} requests processing and {limits.MaxQueued} queued."
                    : limits.RequestsPerWindow is { } perWindow
                        ? $"Too many requests: the limit of {perWindow} requests per {window} seconds was exceeded. Retry with a cool-off period."
                        : InjectedThrottle, retryAfter)),
            _ => GraphService.Error(new ServiceException(429, "TooManyRequests", "Too many requests from this application in this tenant. Retry after the Retry-After interval.", retryAfter)),
        };
    }

    // The environment's user sync: a licensed Entra user appears in Dataverse after a while (§F.3).
    private async Task SyncUserToDataverseAsync(Row user, bool licensed)
    {
        if (Options.DataverseUserSyncDelay > TimeSpan.Zero)
        {
            await Task.Delay(Options.DataverseUserSyncDelay).ConfigureAwait(false);
        }

        Sample?.SyncGraphUserToDataverse(user, licensed);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
