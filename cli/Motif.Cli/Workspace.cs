using Motif.Storage;

namespace Motif.Cli;

/// <summary>Where a workspace keeps its state (<c>--storage</c>).</summary>
public enum StorageKind
{
    /// <summary>A local-folder blob store and one SQLite file in the <c>--out</c> folder: no cloud, no emulator.</summary>
    Embedded,

    /// <summary>Azure Storage's emulator: the one <c>MotifStorage</c> names, or one started for the command with its data in <c>--out</c>.</summary>
    Azurite,

    /// <summary>An Azure Storage account (and Service Bus, if configured) from identity-based <c>MotifStorage__…</c> settings.</summary>
    Azure,
}

/// <summary>
/// The storage behind one workspace: a blob store, a catalog and the signature queue, through the same ports the
/// Functions and the worker use. Embedded (DESIGN.md's default) is a local-folder blob store (<c>blobs/</c>) and one
/// SQLite file (<c>motif.db</c>) holding the catalog and the queue; Azurite and Azure are the Azure adapters
/// (<see cref="AzureWorkspace"/>), which the embedded path never loads.
/// </summary>
internal sealed class Workspace : IAsyncDisposable
{
    public const string DefaultFolder = "motif-data";

    private readonly Func<int> _releaseLocks;
    private readonly Func<ValueTask> _dispose;

    internal Workspace(string description, IBlobStore blobs, IImageCatalog catalog, IWorkQueue signatureJobs, Func<int> releaseLocks, Func<ValueTask> dispose)
    {
        (Description, Blobs, Catalog, SignatureJobs) = (description, blobs, catalog, signatureJobs);
        (_releaseLocks, _dispose) = (releaseLocks, dispose);
    }

    /// <summary>Where the state is, in words, for reports.</summary>
    public string Description { get; }

    public IBlobStore Blobs { get; }

    public IImageCatalog Catalog { get; }

    public IWorkQueue SignatureJobs { get; }

    /// <summary>Opens the workspace of <paramref name="root"/>, creating it; null when <paramref name="create"/> is false and there is none.</summary>
    /// <exception cref="WorkspaceUnavailableException">Its storage cannot be reached or is not configured (one-line message).</exception>
    public static async Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (storage != StorageKind.Embedded)
        {
            return await AzureWorkspace.OpenAsync(root, storage, create, cancellationToken);
        }
        if (!create && !File.Exists(Path.Combine(root.FullName, "motif.db")))
        {
            return null;
        }
        root.Create();
        var blobs = new LocalFolderBlobStore(Path.Combine(root.FullName, "blobs"));
        var database = Path.Combine(root.FullName, "motif.db");
        var catalog = new SqliteImageCatalog(database);
        var queue = new SqliteWorkQueue(database, "signatures", new WorkQueueOptions { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 5 });
        return new Workspace($"{root.FullName} (embedded: folder and SQLite)", blobs, catalog, queue, queue.ReleaseLocks, () =>
        {
            queue.Dispose();
            catalog.Dispose();
            blobs.Dispose();
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>
    /// Makes a crashed run's jobs receivable at once, where the queue allows it (SQLite: the run holding the workspace
    /// lease is its sole consumer). Azure's queues cannot release another receiver's locks: those jobs come back when
    /// their locks lapse, and meanwhile the catalog re-queues whatever is unsigned. Returns how many were released.
    /// </summary>
    public int ReleaseLocks() => _releaseLocks();

    public ValueTask DisposeAsync() => _dispose();
}

/// <summary>The workspace's storage cannot be used; the message says why in one line.</summary>
public sealed class WorkspaceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
