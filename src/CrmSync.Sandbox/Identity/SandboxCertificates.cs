using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CrmSync.Sandbox.Identity;

/// <summary>
/// The certificates of a sandbox serving HTTPS: its TLS certificate for 127.0.0.1 and localhost (kept in a folder and
/// reused while valid, so a user trusts it once, as a development certificate), and one certificate per application of
/// the sample tenant, registered with the application the way an admin uploads a public key to an app registration.
/// </summary>
public static class SandboxCertificates
{
    /// <summary>The TLS certificate's file names in the folder: the PFX the sandbox serves with and the PEM users trust.</summary>
    public const string TlsPfx = "sandbox-https.pfx";
    public const string TlsPem = "sandbox-https.crt";

    /// <summary>Loads the folder's TLS certificate, or makes (and saves) a new one when there is none or it expires within a week.</summary>
    public static X509Certificate2 LoadOrCreateTls(string folder)
    {
        Directory.CreateDirectory(folder);
        var pfx = Path.Combine(folder, TlsPfx);
        if (File.Exists(pfx))
        {
            try
            {
                var existing = new X509Certificate2(pfx, (string?)null, X509KeyStorageFlags.Exportable);
                if (existing.NotAfter > DateTime.Now.AddDays(7))
                {
                    File.WriteAllText(Path.Combine(folder, TlsPem), existing.ExportCertificatePem());
                    return existing;
                }
            }
            catch (CryptographicException)
            {
                // Unreadable: replaced below.
            }
        }

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=CrmSync sandbox (localhost)", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new("1.3.6.1.5.5.7.3.1") }, false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        WritePrivate(pfx, created.Export(X509ContentType.Pfx));
        File.WriteAllText(Path.Combine(folder, TlsPem), created.ExportCertificatePem());
        return new X509Certificate2(created.Export(X509ContentType.Pfx), (string?)null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>A new certificate for an application (its private key saved as &lt;folder&gt;/&lt;client id&gt;.pfx, no password); returns its public part and the file.</summary>
    public static (X509Certificate2 PublicPart, string PfxPath) CreateForApplication(string folder, Guid clientId, string displayName)
    {
        Directory.CreateDirectory(folder);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={displayName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(folder, $"{clientId}.pfx");
        WritePrivate(path, created.Export(X509ContentType.Pfx));
        return (new X509Certificate2(created.Export(X509ContentType.Cert)), path);
    }

    // Private keys readable by their owner only.
    private static void WritePrivate(string path, byte[] content)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(content);
    }
}
