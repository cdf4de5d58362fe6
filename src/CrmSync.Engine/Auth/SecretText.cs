namespace CrmSync.Auth;

/// <summary>
/// A secret (client secret, certificate password) that never prints: ToString, records and error messages
/// show asterisks. Only the credential that sends it reads the value.
/// </summary>
public sealed class SecretText
{
    private readonly string _value;

    public SecretText(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _value = value;
    }

    internal string Reveal() => _value;

    public override string ToString() => "********";

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
}
