using System.Diagnostics;
using System.Text.RegularExpressions;
using Motif.Storage.Azure.Azurite;
using Motif.Testing;

namespace Motif.Deploy.Tests;

/// <summary>
/// No secret-looking value anywhere in the repository (tracked files and untracked ones git does not ignore): storage
/// account keys, SAS signatures, Service Bus keys, private keys, passwords. The one exception is Azurite's documented,
/// public development key, allowed only where Azurite is started.
/// </summary>
/// <remarks>
/// The patterns match values shaped like real credentials (an account key is 64 bytes in base64, a SAS signature is an
/// HMAC-SHA256 in base64), so the tests that prove such settings are refused may still use short fake ones
/// (<c>AccountKey=c2VjcmV0</c>, <c>sig=abc</c>).
/// </remarks>
public sealed partial class SecretScanTests
{
    /// <summary>Azurite's well-known account key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite), from the class that holds it.</summary>
    private static readonly string AzuriteKeyStart = AzuriteServer.AccountKey[..24];

    /// <summary>The only files that may hold it: the class that starts Azurite and builds its connection string.</summary>
    private static readonly string[] AzuriteKeyFiles = ["core/Motif.Storage.Azure/Azurite/AzuriteServer.cs"];

    [GeneratedRegex(@"AccountKey\s*=\s*[A-Za-z0-9+/]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex AccountKey();

    [GeneratedRegex(@"SharedAccessKey\s*=\s*[A-Za-z0-9+/]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex SharedAccessKey();

    [GeneratedRegex(@"[?&;]sig=[A-Za-z0-9%+/]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex SasSignature();

    // A 64-byte key in base64 (storage account keys, Service Bus and Event Grid keys); npm's sha512 integrity hashes
    // have the same shape and are not secrets.
    [GeneratedRegex(@"(?<![A-Za-z0-9+/=-])(?<!sha512-)[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")]
    private static partial Regex Base64Key();

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----")]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(password|pwd|client_?secret)\s*[=:]\s*[""']?[A-Za-z0-9~._!@#$%^&*+/-]{8,}", RegexOptions.IgnoreCase)]
    private static partial Regex Password();

    [Fact]
    public void No_secret_looking_value_is_in_the_repository()
    {
        var findings = new List<string>();
        foreach (var file in RepositoryFiles())
        {
            var path = Path.Combine(TestData.RepositoryRoot, file);
            if (!File.Exists(path) || new FileInfo(path).Length > 8 << 20)
            {
                continue;
            }
            var text = File.ReadAllText(path);
            foreach (var pattern in new[] { AccountKey(), SharedAccessKey(), SasSignature(), Base64Key(), PrivateKey(), Password() })
            {
                foreach (Match match in pattern.Matches(text))
                {
                    if (match.Value.Contains(AzuriteKeyStart, StringComparison.Ordinal) && AzuriteKeyFiles.Contains(file))
                    {
                        continue;
                    }
                    var line = text[..match.Index].Count(c => c == '\n') + 1;
                    findings.Add($"{file}:{line}: {match.Value[..Math.Min(match.Value.Length, 24)]}…");
                }
            }
        }
        Assert.True(findings.Count == 0, "secret-looking values:\n" + string.Join('\n', findings));
    }

    [Fact]
    public void Azurite_key_is_only_where_Azurite_starts()
    {
        var holders = RepositoryFiles().Where(f => File.Exists(Path.Combine(TestData.RepositoryRoot, f))
            && File.ReadAllText(Path.Combine(TestData.RepositoryRoot, f)).Contains(AzuriteKeyStart, StringComparison.Ordinal)).ToArray();
        Assert.Equal(AzuriteKeyFiles, holders);
    }

    [Fact]
    public void Scanner_finds_real_shaped_secrets()
    {
        // The patterns themselves, on values shaped like real ones (built here so this file holds none).
        var key = new string('k', 86) + "==";
        Assert.Matches(AccountKey(), "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + key);
        Assert.Matches(Base64Key(), "\"" + key + "\"");
        Assert.Matches(SharedAccessKey(), "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=" + key[..44]);
        Assert.Matches(SasSignature(), "https://a.blob.core.windows.net/c?sv=2024-01-01&sig=" + new string('s', 43) + "%3D");
        Assert.Matches(Password(), "password=" + "Hunter2Hunter2");
        Assert.DoesNotMatch(Base64Key(), "\"integrity\": \"sha512-" + key + "\"");
        Assert.DoesNotMatch(AccountKey(), "AccountKey=c2VjcmV0");
    }

    /// <summary>Tracked files and untracked ones git does not ignore, relative to the root, with '/' separators.</summary>
    private static string[] RepositoryFiles()
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = TestData.RepositoryRoot, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "ls-files", "--cached", "--others", "--exclude-standard", "-z" })
        {
            start.ArgumentList.Add(argument);
        }
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.Equal(0, git.ExitCode);
        return output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct().Order(StringComparer.Ordinal).ToArray();
    }
}
