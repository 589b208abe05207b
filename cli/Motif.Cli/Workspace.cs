using Motif.Storage;

namespace Motif.Cli;

/// <summary>
/// The embedded adapters behind one <c>--out</c> folder: a local-folder blob store (<c>blobs/</c>) and one SQLite
/// file (<c>motif.db</c>) holding the catalog and the signature queue. This is DESIGN.md's "embedded default":
/// no cloud, no Azurite, the same ports the Functions and the worker use.
/// </summary>
internal sealed class Workspace : IDisposable
{
    public const string DefaultFolder = "motif-data";

    private Workspace(DirectoryInfo root)
    {
        Root = root;
        Blobs = new LocalFolderBlobStore(Path.Combine(root.FullName, "blobs"));
        var database = Path.Combine(root.FullName, "motif.db");
        Catalog = new SqliteImageCatalog(database);
        SignatureJobs = new SqliteWorkQueue(database, "signatures", new WorkQueueOptions { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 5 });
    }

    public DirectoryInfo Root { get; }

    public LocalFolderBlobStore Blobs { get; }

    public SqliteImageCatalog Catalog { get; }

    public SqliteWorkQueue SignatureJobs { get; }

    /// <summary>Opens the workspace in <paramref name="root"/>, creating it.</summary>
    public static Workspace Create(DirectoryInfo root)
    {
        root.Create();
        return new Workspace(root);
    }

    /// <summary>Opens an existing workspace, or returns null when <paramref name="root"/> holds none.</summary>
    public static Workspace? OpenExisting(DirectoryInfo root) =>
        File.Exists(Path.Combine(root.FullName, "motif.db")) ? new Workspace(root) : null;

    public void Dispose()
    {
        SignatureJobs.Dispose();
        Catalog.Dispose();
        Blobs.Dispose();
    }
}
