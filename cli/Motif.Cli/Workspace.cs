using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

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
/// The pipeline's services over one workspace, composed by <see cref="MotifPipeline"/> exactly as the Functions app and
/// the worker compose them. Embedded (DESIGN.md's default) is a local-folder blob store (<c>blobs/</c>) and one SQLite
/// file (<c>motif.db</c>) holding the catalog and the queue; Azurite and Azure are the Azure adapters
/// (<see cref="AzureWorkspace"/>), which the embedded path never loads.
/// </summary>
internal sealed class Workspace : IAsyncDisposable
{
    public const string DefaultFolder = "motif-data";

    private readonly ServiceProvider _services;
    private readonly Func<ValueTask>? _afterDispose;

    internal Workspace(string description, ServiceProvider services, Func<ValueTask>? afterDispose = null)
    {
        (Description, _services, _afterDispose) = (description, services, afterDispose);
    }

    /// <summary>Where the state is, in words, for reports.</summary>
    public string Description { get; }

    /// <summary>The composed services: the ports, IngestService, ReclusterService, and SignatureService when a model was registered.</summary>
    public IServiceProvider Services => _services;

    public IBlobStore Blobs => _services.GetRequiredService<IBlobStore>();

    public IImageCatalog Catalog => _services.GetRequiredService<IImageCatalog>();

    public IWorkQueue SignatureJobs => _services.GetRequiredService<IWorkQueue>();

    /// <summary>
    /// Opens the workspace of <paramref name="root"/>, creating it; null when <paramref name="create"/> is false and there
    /// is none. <paramref name="options"/> (default: the pipeline's defaults) sets the model and parameters; its storage
    /// and workspace are set here. <paramref name="configure"/> adds what the command brings, e.g. the model.
    /// </summary>
    /// <exception cref="WorkspaceUnavailableException">Its storage cannot be reached or is not configured (one-line message).</exception>
    public static async Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, CancellationToken cancellationToken,
        MotifPipelineOptions? options = null, Action<IServiceCollection>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new MotifPipelineOptions();
        if (storage != StorageKind.Embedded)
        {
            return await AzureWorkspace.OpenAsync(root, storage, create, options, configure, cancellationToken);
        }
        if (!create && !File.Exists(Path.Combine(root.FullName, "motif.db")))
        {
            return null;
        }
        var services = Compose(options with { Storage = PipelineStorage.Embedded, Workspace = root.FullName }, new ConfigurationBuilder().Build(), configure);
        return new Workspace($"{root.FullName} (embedded: folder and SQLite)", services);
    }

    /// <summary>The pipeline's one composition, plus what the command adds.</summary>
    internal static ServiceProvider Compose(MotifPipelineOptions options, IConfiguration configuration, Action<IServiceCollection>? configure)
    {
        var services = new ServiceCollection().AddMotifPipeline(options, configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = false, ValidateScopes = true });
    }

    /// <summary>
    /// Makes a crashed run's jobs receivable at once, where the queue allows it (SQLite: the run holding the workspace
    /// lease is its sole consumer). Azure's queues cannot release another receiver's locks: those jobs come back when
    /// their locks lapse, and meanwhile the catalog re-queues whatever is unsigned. Returns how many were released.
    /// </summary>
    public int ReleaseLocks() => _services.GetService<SqliteWorkQueue>()?.ReleaseLocks() ?? 0;

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_afterDispose is not null)
        {
            await _afterDispose();
        }
    }
}

/// <summary>The workspace's storage cannot be used; the message says why in one line.</summary>
public sealed class WorkspaceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
