using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CrmSync.Http;

/// <summary>A request a service refused, with the service's own code and message.</summary>
public class ServiceRequestException : CrmSyncException
{
    public ServiceRequestException(string errorId, CrmSyncErrorKind kind, ServiceKind service, int statusCode, string? serviceCode, string serviceMessage, string request, string? identity)
        : base(errorId, kind, $"{service.Display()} refused {request} ({statusCode}{(serviceCode is null ? string.Empty : " " + serviceCode)}): {serviceMessage}", request)
    {
        Service = service;
        StatusCode = statusCode;
        ServiceCode = serviceCode;
        ServiceMessage = serviceMessage;
        Request = request;
        Identity = identity;
    }

    public ServiceKind Service { get; }

    public int StatusCode { get; }

    /// <summary>The service's error code (Dataverse hex code, BC/Graph code names).</summary>
    public string? ServiceCode { get; }

    public string ServiceMessage { get; }

    /// <summary>"METHOD path" of the refused request (no query string, no secrets).</summary>
    public string Request { get; }

    /// <summary>The identity the request was made as.</summary>
    public string? Identity { get; }
}

/// <summary>The record changed since it was read (412 on a stale If-Match).</summary>
public sealed class ConcurrencyConflictException(ServiceKind service, int status, string? code, string message, string request, string? identity)
    : ServiceRequestException("ServiceConcurrencyConflict", CrmSyncErrorKind.InvalidOperation, service, status, code, message, request, identity);

/// <summary>The record does not exist (404).</summary>
public sealed class RecordNotFoundException(ServiceKind service, int status, string? code, string message, string request, string? identity)
    : ServiceRequestException("ServiceRecordNotFound", CrmSyncErrorKind.ObjectNotFound, service, status, code, message, request, identity);

/// <summary>A record with the same key exists already.</summary>
public sealed class DuplicateRecordException(ServiceKind service, int status, string? code, string message, string request, string? identity)
    : ServiceRequestException("ServiceDuplicateRecord", CrmSyncErrorKind.InvalidData, service, status, code, message, request, identity);

/// <summary>The caller lacks a privilege (403); <see cref="Privilege"/> names it when the service does.</summary>
public sealed class MissingPrivilegeException(ServiceKind service, int status, string? code, string message, string request, string? identity, string? privilege)
    : ServiceRequestException("ServiceMissingPrivilege", CrmSyncErrorKind.PermissionDenied, service, status, code, message, request, identity)
{
    public string? Privilege { get; } = privilege;
}

/// <summary>The identity signed in, but Dataverse has no user for it (0x80072560): its application user was never created.</summary>
public sealed class ApplicationUserMissingException(ServiceKind service, int status, string? code, string message, string request, string? identity)
    : ServiceRequestException("ApplicationUserMissing", CrmSyncErrorKind.PermissionDenied, service, status, code,
        $"{identity ?? "The identity"} has no user in this Dataverse environment ({message}). Add it as an application user with a security role " +
        "(Power Platform admin center > the environment > Settings > Users + permissions > Application users); for the integration identity, New-IntegrationUser -ApplicationId creates it.",
        request, identity);

/// <summary>The service rejected the identity's credentials or token (401).</summary>
public sealed class AuthenticationFailedException(ServiceKind service, int status, string? code, string message, string request, string? identity)
    : ServiceRequestException("ServiceAuthenticationFailed", CrmSyncErrorKind.PermissionDenied, service, status, code,
        $"{service.Display()} rejected the identity {identity ?? "(unknown)"}: {message}", request, identity);

/// <summary>Still throttled after every retry the policy allows.</summary>
public sealed class ThrottledException(ServiceKind service, int status, string? code, string message, string request, string? identity, TimeSpan? retryAfter)
    : ServiceRequestException("ServiceThrottled", CrmSyncErrorKind.LimitsExceeded, service, status, code, message, request, identity)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Turns an error response of any of the three services into the matching typed exception.</summary>
public static partial class ServiceErrors
{
    /// <summary>The request never got an answer: the connection failed, dropped, or the attempt timed out (ServiceHandler).</summary>
    public static bool IsTransportFailure(Exception ex) => ex is HttpRequestException or TimeoutException or IOException;

    /// <summary>The error for a request that got no answer; what it did at the service is unknown.</summary>
    public static CrmSyncException Unreachable(ServiceKind service, string request, Exception ex) =>
        LastingTransportFailure(ex, service.Display()) is { } lasting
            ? new CrmSyncException(lasting.ErrorId, CrmSyncErrorKind.ConnectionError, $"{service.Display()} could not be reached for {request}: {lasting.Cause}", request, ex)
            : new CrmSyncException("ServiceUnreachable", CrmSyncErrorKind.ConnectionError, $"{service.Display()} could not be reached for {request}: {ex.Message}", request, ex);

    /// <summary>
    /// A failure to connect that waiting cannot heal — the host name does not resolve, nothing listens at the port, the
    /// TLS certificate is not trusted — with its error id and the cause and fix in words; null for one worth retrying
    /// (a dropped connection, a timeout). Such failures are never retried: an admin with a typo learns it at once.
    /// </summary>
    public static (string ErrorId, string Cause)? LastingTransportFailure(Exception ex, string what)
    {
        (string, string) HostNotFound(string detail) => ("HostNotFound", $"the host name does not resolve ({detail}). Check the URL given for {what}.");
        (string, string) TlsFailure(string detail) => ("TlsFailure",
            $"the TLS connection failed ({detail}); the server's certificate is not trusted or not valid for its name. Trust the certificate (for a sandbox: SSL_CERT_FILE or the root store) or fix the URL of {what}.");

        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } http:
                    return HostNotFound(http.Message);
                case HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } http:
                    return TlsFailure(http.Message);
                case System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData } socket:
                    return HostNotFound(socket.Message);
                case System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } socket:
                    return ("ConnectionRefused", $"nothing accepts connections there ({socket.Message}). Check the host and port of the URL given for {what}, and that the service runs.");
                case System.Security.Authentication.AuthenticationException tls:
                    return TlsFailure(tls.Message);
            }
        }

        return null;
    }

    public static ServiceRequestException FromResponse(ServiceKind service, HttpStatusCode status, string? body, string request, string? identity, string? authenticateHeader = null, TimeSpan? retryAfter = null)
    {
        var (code, message) = ParseBody(body);
        if (message is null)
        {
            message = status == HttpStatusCode.Unauthorized && authenticateHeader is not null
                ? "the token was not accepted (" + authenticateHeader.Split(',')[0] + ")"
                : $"HTTP {(int)status} {status}";
        }

        var numeric = (int)status;
        return (status, service, code) switch
        {
            (HttpStatusCode.Unauthorized, _, _) => new AuthenticationFailedException(service, numeric, code, message, request, identity),
            (HttpStatusCode.Forbidden, ServiceKind.Dataverse, "0x80072560") => new ApplicationUserMissingException(service, numeric, code, message, request, identity),
            (HttpStatusCode.Forbidden, _, _) => new MissingPrivilegeException(service, numeric, code, message, request, identity, PrivilegeIn(message)),
            (HttpStatusCode.NotFound, _, _) => new RecordNotFoundException(service, numeric, code, message, request, identity),
            (HttpStatusCode.TooManyRequests, _, _) => new ThrottledException(service, numeric, code, message, request, identity, retryAfter),
            (_, ServiceKind.Dataverse, "0x80040237") => new DuplicateRecordException(service, numeric, code, message, request, identity),
            (_, ServiceKind.BusinessCentral, "Internal_EntityWithSameKeyExists") => new DuplicateRecordException(service, numeric, code, message, request, identity),
            (_, _, "Request_BadRequest") when message.Contains("already exists", StringComparison.OrdinalIgnoreCase) => new DuplicateRecordException(service, numeric, code, message, request, identity),
            (HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict, _, _) => new ConcurrencyConflictException(service, numeric, code, message, request, identity),
            (_, ServiceKind.BusinessCentral, "Internal_RecordNotFound") => new RecordNotFoundException(service, numeric, code, message, request, identity),
            _ => new ServiceRequestException("ServiceRequestFailed", numeric >= 500 ? CrmSyncErrorKind.ResourceUnavailable : CrmSyncErrorKind.InvalidData, service, numeric, code, message, request, identity),
        };
    }

    /// <summary>All three services answer {"error":{"code","message"}}.</summary>
    public static (string? Code, string? Message) ParseBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return (error.TryGetProperty("code", out var c) ? c.GetString() : null, error.TryGetProperty("message", out var m) ? m.GetString() : null);
            }
        }
        catch (JsonException)
        {
        }

        return (null, body.Length > 500 ? body[..500] : body);
    }

    private static string? PrivilegeIn(string message) => PrivilegePattern().Match(message) is { Success: true } match ? match.Groups[1].Value : null;

    [GeneratedRegex(@"missing (prv\w+) privilege")]
    private static partial Regex PrivilegePattern();
}
