using System.Text.Json;

namespace Motif.Cli.Dev;

/// <summary>
/// What a running <c>motif dev</c> tells the other <c>motif dev</c> commands (<c>upload</c>, <c>recluster</c>): the
/// loopback ports of its Azurite, the URLs of its HTTP functions and worker, and the processes of the worker and of
/// Azurite (rewritten when either is restarted), in <c>&lt;out&gt;/dev.json</c>. Written
/// when everything is up, deleted on a clean stop; a file left by a killed session is recognised by its dead process.
/// </summary>
internal sealed record DevSession(int ProcessId, int BlobPort, int QueuePort, int TablePort, Uri Api, Uri Worker, int WorkerProcessId, int AzuriteProcessId)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public const string FileName = "dev.json";

    /// <summary>Azurite's connection string (the emulator's public development key, valid only against an emulator).</summary>
    public string StorageConnection => Motif.Storage.Azure.Azurite.AzuriteServer.ConnectionStringFor(BlobPort, QueuePort, TablePort);

    public static string PathIn(DirectoryInfo root) => Path.Combine(root.FullName, FileName);

    public void WriteTo(DirectoryInfo root)
    {
        var path = PathIn(root);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(this, Json));
        File.Move(temporary, path, overwrite: true);   // readers see the old file or the new one, never half of one
    }

    /// <summary>The session running on <paramref name="root"/>, or null with the reason in one line.</summary>
    public static (DevSession? Session, string? Problem) Find(DirectoryInfo root)
    {
        var path = PathIn(root);
        DevSession? session;
        try
        {
            session = JsonSerializer.Deserialize<DevSession>(File.ReadAllBytes(path), Json);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, $"No motif dev is running on {root.FullName}: start `motif dev --out {root}` first (in another terminal).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return (null, $"{path} cannot be read ({e.Message}).");
        }
        if (session is null || !IsAlive(session.ProcessId))
        {
            return (null, $"The motif dev that wrote {path} is no longer running: start `motif dev --out {root}` again.");
        }
        return (session, null);
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
