using Motif.Storage.Azure.Azurite;
using Motif.Testing;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// One Azurite for the whole test run, started on first use from node_modules on free loopback ports with a temp-folder
/// location, and stopped when the test process exits. Tests share it safely because each creates its own container,
/// queue or table under a fresh name (<see cref="UniqueName"/>). Tests that kill the emulator start their own
/// (<see cref="StartPrivateAsync"/>).
/// </summary>
public static class SharedAzurite
{
    private static readonly Lazy<Task<AzuriteServer>> Server = new(StartSharedAsync);

    /// <summary>The shared emulator, started if it is not running yet.</summary>
    public static Task<AzuriteServer> GetAsync() => Server.Value;

    /// <summary>An emulator of the caller's own, in a folder of its own; the caller disposes it.</summary>
    public static Task<AzuriteServer> StartPrivateAsync(string location) =>
        AzuriteServer.StartAsync(new AzuriteOptions { Script = AzuriteOptions.ScriptBelow(TestData.RepositoryRoot), Location = location });

    /// <summary>A name valid for a container, a queue and a table: lowercase letters and digits, starting with a letter.</summary>
    public static string UniqueName(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 20, 63)];

    private static async Task<AzuriteServer> StartSharedAsync()
    {
        var location = Directory.CreateTempSubdirectory("motif-azurite-").FullName;
        var server = await StartPrivateAsync(location);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.Kill();
            try
            {
                Directory.Delete(location, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is not worth failing a test run over.
            }
        };
        return server;
    }
}
