using System.Net;
using System.Net.Http.Headers;
using CrmSync.Auth;
using Polly;
using Polly.Retry;

namespace CrmSync.Http;

/// <summary>Retry policy for one service (docs/reference/limits.md §1).</summary>
public sealed record RetrySettings
{
    public int MaxRetries { get; init; } = 6;

    /// <summary>First backoff when the service sends no Retry-After (doubles, with jitter).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long one attempt may wait for the service's answer (time in the throttling and concurrency queues does not
    /// count). Dataverse ends a request after 2 minutes itself; past this the attempt counts as a dropped connection.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// The one place where requests to a service get their token, wait for throttling to pass, stay within
/// the service's concurrency limit and are retried: 429 always (the request was not processed), 503
/// always (BC: not processed from the queue), other 5xx and connection failures only when the request is
/// safe to repeat (idempotent, or marked safe: client-supplied ids, If-Match). Retry-After is honoured;
/// without it the delay backs off exponentially with jitter.
/// </summary>
public sealed class ServiceHandler : DelegatingHandler
{
    /// <summary>Marks a request as safe (or unsafe) to send again after a failure whose outcome is unknown.</summary>
    public static readonly HttpRequestOptionsKey<bool> SafeToRetry = new("CrmSync.SafeToRetry");

    /// <summary>Set on the request by the handler: the identity it was sent as (a pool has several).</summary>
    public static readonly HttpRequestOptionsKey<string> SentAs = new("CrmSync.SentAs");

    private static readonly ResiliencePropertyKey<bool> SafeKey = new("CrmSync.SafeToRetry");
    private static readonly ResiliencePropertyKey<string> RequestKey = new("CrmSync.Request");

    private readonly TokenSource _tokens;
    private readonly string _scope;
    private readonly ThrottleGate _gate;
    private readonly ConcurrencyGate _concurrency;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly int _maxConcurrency;
    private readonly TimeSpan _attemptTimeout;

    /// <param name="time">The clock of Retry-After waits and backoff (tests pass a fake one; default: the system's).</param>
    public ServiceHandler(ServiceKind service, TokenSource tokens, string scope, int maxConcurrency, RetrySettings retry, HttpMessageHandler inner, TimeProvider? time = null)
        : base(inner)
    {
        Time = time ?? TimeProvider.System;
        _gate = new ThrottleGate(Time);
        Service = service;
        _tokens = tokens;
        _scope = scope;
        _maxConcurrency = maxConcurrency;
        _attemptTimeout = retry.AttemptTimeout;
        _concurrency = new ConcurrencyGate(maxConcurrency);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = Time };
        if (retry.MaxRetries <= 0)
        {
            _pipeline = builder.Build();
            return;
        }

        _pipeline = builder
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retry.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    // Everyone waits, not just this request: nothing is sent before Retry-After expires.
                    _gate.Block(args.RetryDelay);
                    var what = args.Outcome.Result is { } result ? $"answered {(int)result.StatusCode}" : $"failed ({args.Outcome.Exception?.GetType().Name}: {args.Outcome.Exception?.Message})";
                    CallLog.Current.Verbose($"{Service.Display()} {what} for {args.Context.Properties.GetValue(RequestKey, "a request")}; retry {args.AttemptNumber + 1} of {retry.MaxRetries} in {args.RetryDelay.TotalSeconds:0.#} s.");
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public ServiceKind Service { get; }

    internal TimeProvider Time { get; }

    /// <summary>Requests sent to the service so far, retries included (what the service's limits count).</summary>
    public int RequestsSent => Volatile.Read(ref _sent);

    private int _sent;

    /// <summary>Requests allowed in flight now (Dataverse adapts it to x-ms-dop-hint, never above the configured maximum).</summary>
    public int ConcurrencyLimit => _concurrency.Limit;

    /// <summary>When the current throttling period ends (MinValue when not throttled).</summary>
    public DateTimeOffset ThrottledUntil => _gate.NotBefore;

    public string Identity => _tokens.Identity;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        request.Options.Set(SentAs, _tokens.Identity);
        var safe = request.Options.TryGetValue(SafeToRetry, out var marked) ? marked : IsIdempotent(request.Method);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(SafeKey, safe);
        context.Properties.Set(RequestKey, $"{request.Method} {request.RequestUri?.AbsolutePath}");
        try
        {
            return await _pipeline.ExecuteAsync(
                async ctx => await SendOnceAsync(request, body, ctx.CancellationToken).ConfigureAwait(false),
                context).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage original, byte[]? body, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _concurrency.EnterAsync(cancellationToken).ConfigureAwait(false);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_attemptTimeout);
        try
        {
            var response = await SendWithTokenAsync(original, body, attempt.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                // An expired or revoked token: acquire a fresh one once before giving up.
                response.Dispose();
                _tokens.Invalidate(_scope);
                response = await SendWithTokenAsync(original, body, attempt.Token).ConfigureAwait(false);
            }

            if (Service == ServiceKind.Dataverse && response.Headers.TryGetValues("x-ms-dop-hint", out var hints) && int.TryParse(hints.FirstOrDefault(), out var hint))
            {
                _concurrency.Limit = Math.Clamp(hint, 1, _maxConcurrency);
            }

            return response;
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The service may still be working on it: retried only when the request is safe to repeat, like a dropped connection.
            throw new TimeoutException($"{Service.Display()} did not answer {original.Method} {original.RequestUri?.AbsolutePath} within {_attemptTimeout.TotalSeconds:0.#} s.");
        }
        finally
        {
            _concurrency.Exit();
        }
    }

    private async Task<HttpResponseMessage> SendWithTokenAsync(HttpRequestMessage original, byte[]? body, CancellationToken cancellationToken)
    {
        using var attempt = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
        foreach (var header in original.Headers)
        {
            attempt.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (body is not null)
        {
            attempt.Content = new ByteArrayContent(body);
            foreach (var header in original.Content!.Headers)
            {
                attempt.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        attempt.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _tokens.GetTokenAsync(_scope, cancellationToken).ConfigureAwait(false));
        Interlocked.Increment(ref _sent);
        return await base.SendAsync(attempt, cancellationToken).ConfigureAwait(false);
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        var safe = context.Properties.GetValue(SafeKey, false);
        if (outcome.Exception is { } exception)
        {
            if (context.CancellationToken.IsCancellationRequested || ServiceErrors.LastingTransportFailure(exception, string.Empty) is not null)
            {
                return false;
            }

            // A token that could not be had for a passing reason: the request itself was never sent.
            return exception is Auth.TokenUnavailableException { Transient: true } ||
                   (safe && (ServiceErrors.IsTransportFailure(exception) || exception is TaskCanceledException));
        }

        return outcome.Result!.StatusCode switch
        {
            HttpStatusCode.TooManyRequests => true,
            HttpStatusCode.ServiceUnavailable => true,
            HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout => safe,
            _ => false,
        };
    }

    internal static TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static bool IsIdempotent(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Put || method == HttpMethod.Delete || method == HttpMethod.Options;
}
