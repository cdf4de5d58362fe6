namespace CrmSync.Sandbox.Core;

/// <summary>A failure the emulated service answers with its own error body (status, code, message).</summary>
public sealed class ServiceException : Exception
{
    public ServiceException(int status, string code, string message, TimeSpan? retryAfter = null)
        : base(message)
    {
        Status = status;
        Code = code;
        RetryAfter = retryAfter;
    }

    public int Status { get; }

    public string Code { get; }

    public TimeSpan? RetryAfter { get; }
}
