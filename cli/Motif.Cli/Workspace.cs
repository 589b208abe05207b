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
    public static Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, CancellationToken cancellationToken,
        MotifPipelineOptions? options = null, Action<IServiceCollection>? configure = null) =>
        OpenAsync(root, storage, create, new WorkspaceComposition(options ?? new MotifPipelineOptions(), configure), choose: null, cancellationToken);

    /// <summary>
    /// Opens the workspace of <paramref name="root"/> as the other overload does, composed with what <paramref name="choose"/>
    /// decides from the workspace's blobs. <c>motif run</c> reads the model registry's pointer this way: the model version
    /// is fixed when the pipeline is composed, and reading the pointer through a workspace of its own reached the storage
    /// twice (with <c>--storage azurite</c>, two Azurites started one after the other). Here the storage is reached once,
    /// and only its blob store is composed before the choice.
    /// </summary>
    /// <exception cref="WorkspaceUnavailableException">Its storage cannot be reached or is not configured (one-line message).</exception>
    public static Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, ChooseComposition choose, CancellationToken cancellationToken) =>
        OpenAsync(root, storage, create, given: null, choose, cancellationToken);

    private static async Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, WorkspaceComposition? given, ChooseComposition? choose,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (storage != StorageKind.Embedded)
        {
            return await AzureWorkspace.OpenAsync(root, storage, create, given, choose, cancellationToken);
        }
        if (!create && !File.Exists(Path.Combine(root.FullName, "motif.db")))
        {
            return null;
        }
        var where = new MotifPipelineOptions { Storage = PipelineStorage.Embedded, Workspace = root.FullName };
        var services = await ComposeAsync(where, new ConfigurationBuilder().Build(), create, given, choose, cancellationToken);
        return new Workspace($"{root.FullName} (embedded: folder and SQLite)", services);
    }

    /// <summary>
    /// Composes the pipeline over storage that is reachable: <paramref name="where"/>'s storage and workspace with the
    /// options and additions of <paramref name="given"/>, or of what <paramref name="choose"/> decides from the blob store
    /// (composed on its own for the choice, then disposed). Creates what the storage needs when <paramref name="create"/>.
    /// </summary>
    internal static async Task<ServiceProvider> ComposeAsync(MotifPipelineOptions where, IConfiguration configuration, bool create,
        WorkspaceComposition? given, ChooseComposition? choose, CancellationToken cancellationToken)
    {
        if (given is null)
        {
            ArgumentNullException.ThrowIfNull(choose);
            await using var storage = Compose(where, configuration, configure: null);
            if (create)
            {
                await MotifPipeline.EnsureStorageAsync(storage, cancellationToken);
            }
            given = await choose(storage.GetRequiredService<IBlobStore>(), cancellationToken);
            create = false;   // done above
        }
        var services = Compose(given.Options with { Storage = where.Storage, Workspace = where.Workspace }, configuration, given.Configure);
        try
        {
            if (create)
            {
                await MotifPipeline.EnsureStorageAsync(services, cancellationToken);
            }
            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
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

/// <summary>What a command composes the pipeline with over a workspace: the options (model, parameters; the storage and
/// workspace are the workspace's) and what it adds, e.g. the model (<see cref="Workspace.Compose"/>).</summary>
internal sealed record WorkspaceComposition(MotifPipelineOptions Options, Action<IServiceCollection>? Configure = null);

/// <summary>Decides a workspace's composition from what its blob store holds, e.g. the model registry's pointer.</summary>
internal delegate Task<WorkspaceComposition> ChooseComposition(IBlobStore blobs, CancellationToken cancellationToken);

/// <summary>The workspace's storage cannot be used; the message says why in one line.</summary>
public sealed class WorkspaceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
