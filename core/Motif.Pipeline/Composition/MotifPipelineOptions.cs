using Microsoft.Extensions.Configuration;
using Motif.Core.Manifests;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Composition;

/// <summary>Which adapters the pipeline's ports get.</summary>
public enum PipelineStorage
{
    /// <summary>A local folder (<c>blobs/</c>, <c>uploads/</c>) and one SQLite file (catalog and queue): <c>motif run</c>, <c>make demo</c>.</summary>
    Embedded,

    /// <summary>Blob, Table and Queue Storage (or Service Bus for the jobs) from the <c>MotifStorage</c>/<c>MotifServiceBus</c> connections: Azure, or Azurite.</summary>
    Azure,
}

/// <summary>How the signing loop's decode threads share the cores with its inference thread (<c>Motif__DecodeCores</c>).</summary>
public enum DecodeCores
{
    /// <summary>
    /// <see cref="LeaveInferenceCore"/> when the embedder computes on an accelerator
    /// (<see cref="Imaging.ISignatureEmbedder.OnAccelerator"/>), <see cref="TakeTurns"/> when it computes on the CPU.
    /// </summary>
    Auto,

    /// <summary>
    /// Decode on <see cref="MotifPipelineOptions.Threads"/> threads. On a CPU the forward pass runs on the same cores:
    /// the next batch is decoded on them while it runs, and neither half could use a core the other leaves idle.
    /// </summary>
    Shared,

    /// <summary>
    /// Decode on <see cref="MotifPipelineOptions.Threads"/> − 1 threads (at least one): the inference thread keeps a core
    /// to launch kernels and copy batches, so a GPU never waits for its own feeder (measured on an H200 with 16 decode
    /// threads on 16 cores: a 48 ms forward pass took 100–230 ms).
    /// </summary>
    LeaveInferenceCore,

    /// <summary>
    /// Decode on <see cref="MotifPipelineOptions.Threads"/> threads, but never while a forward pass runs (receiving,
    /// lookups, downloads and commits still overlap it). On a CPU both need every core, and decoding beside the forward
    /// pass costs it more than the decoding itself: libtorch splits each operation evenly across its threads and waits
    /// for the one a decoder holds up. Measured with 2 threads on 2 cores (ResNet-50, batch 16): shared, the loop signed
    /// at 0.88× of the engine alone, where the two halves one after the other allow 0.95×.
    /// </summary>
    TakeTurns,
}

/// <summary>
/// The pipeline's settings, the same for every host. Read from the <c>Motif</c> section of configuration
/// (<c>Motif__Storage</c>, <c>Motif__Workspace</c>, … as app settings or environment variables); the Azure connections
/// themselves are the Functions-style <c>MotifStorage__…</c> and <c>MotifServiceBus__…</c> settings.
/// </summary>
public sealed record MotifPipelineOptions
{
    public const string Section = "Motif";

    /// <summary>The version of the packaged ResNet-50's fp32 signatures at 224 px, what <c>motif run</c> computes by default.</summary>
    public const string DefaultModelVersion = "resnet50-imagenet@1.0.4 224px";

    /// <summary>The container museums upload into, watched by IngestImage (a folder of that name in an embedded workspace).</summary>
    public const string DefaultUploadsContainer = "uploads";

    public PipelineStorage Storage { get; init; } = PipelineStorage.Embedded;

    /// <summary>The workspace folder of <see cref="PipelineStorage.Embedded"/> storage.</summary>
    public string? Workspace { get; init; }

    /// <summary>
    /// The model whose signatures intake asks for and reclustering reads. A host that signs (the worker, the CLI)
    /// must run exactly this model: <see cref="SignatureService"/> refuses to start on any other.
    /// </summary>
    public string ModelVersion { get; init; } = DefaultModelVersion;

    public ClusteringParameters Clustering { get; init; } = DefaultClustering;

    /// <summary>Threads for preprocessing and for building the neighbour graph.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>How many of <see cref="Threads"/> decode the signing loop's batches: <see cref="Composition.DecodeCores"/>.</summary>
    public DecodeCores DecodeCores { get; init; } = DecodeCores.Auto;

    /// <summary>Signature jobs taken per receive and embedded in one forward pass.</summary>
    public int BatchSize { get; init; } = 16;

    public string UploadsContainer { get; init; } = DefaultUploadsContainer;

    /// <summary>
    /// Azure storage only: the container, catalog table and signature queue names (<c>motif</c>, <c>catalog</c>,
    /// <c>signatures</c> by default, as main.bicep creates them). Tests give each fixture its own names on one Azurite.
    /// </summary>
    public AzureStorageNames AzureNames { get; init; } = new();

    /// <summary>
    /// Lock and delivery limits of the signature queue. The lock (<c>Motif__SignatureLockSeconds</c>, 15 to 300 s; 5 minutes
    /// by default) is how long a job taken by a worker that then dies stays invisible: the worker renews it every third of
    /// it while the job waits or runs, so a short lock costs renewals, not safety. Queue Storage and SQLite use it as the
    /// receiver's visibility timeout; on Service Bus the queue's own lock duration (main.bicep) applies.
    /// </summary>
    public WorkQueueOptions SignatureJobs { get; init; } = new() { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 5 };

    /// <summary>Lock and delivery limits of the training queue, as main.bicep sets the Service Bus queue: a 5-minute lock
    /// that the training job renews while it runs, three deliveries (a run resumes from its stored epochs on each).</summary>
    public WorkQueueOptions TrainingJobs { get; init; } = new() { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 3 };

    /// <summary>Whether the signing loop decodes while a forward pass runs, for an embedder that does or does not compute on an accelerator (<see cref="DecodeCores"/>).</summary>
    public bool DecodeBesideForwardPass(bool embedderOnAccelerator) => (DecodeCores, embedderOnAccelerator) is not ((DecodeCores.TakeTurns, _) or (DecodeCores.Auto, false));

    /// <summary>The signing loop's decode threads for an embedder that does or does not compute on an accelerator (<see cref="DecodeCores"/>).</summary>
    public int DecodeThreads(bool embedderOnAccelerator) =>
        (DecodeCores, embedderOnAccelerator) switch
        {
            (DecodeCores.LeaveInferenceCore, _) or (DecodeCores.Auto, true) => Math.Max(1, Threads - 1),
            _ => Threads,
        };

    /// <summary>OPTICS as <c>motif run</c> runs it by default: max_eps 0.13 (the research's radius), min_samples 2, xi 0.05.</summary>
    public static ClusteringParameters DefaultClustering { get; } = new(0.13, 2, Extraction.Xi, 0.05, null, PredecessorCorrection: true, null);

    /// <summary>The options in <paramref name="configuration"/>'s <c>Motif</c> section; what is absent keeps its default.</summary>
    /// <exception cref="PipelineConfigurationException">A setting is malformed (the message names it).</exception>
    public static MotifPipelineOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var defaults = new MotifPipelineOptions();
        var storage = section[MotifSettings.Storage] switch
        {
            null or "" => defaults.Storage,
            var s when s.Equals("embedded", StringComparison.OrdinalIgnoreCase) => PipelineStorage.Embedded,
            var s when s.Equals("azure", StringComparison.OrdinalIgnoreCase) => PipelineStorage.Azure,
            var s => throw new PipelineConfigurationException($"{Section}__Storage must be 'embedded' or 'azure', not '{s}'."),
        };
        var workspace = section[MotifSettings.Workspace];
        if (storage == PipelineStorage.Embedded && string.IsNullOrWhiteSpace(workspace))
        {
            throw new PipelineConfigurationException($"{Section}__Workspace (a folder) is required with {Section}__Storage=embedded.");
        }
        var clustering = defaults.Clustering with
        {
            MaxEps = SettingValues.Number(section, MotifSettings.MaxEps, defaults.Clustering.MaxEps!.Value, min: 0, max: 2),
            MinSamples = SettingValues.Number(section, MotifSettings.MinSamples, defaults.Clustering.MinSamples, min: 1, max: 1e6),
            Xi = SettingValues.Number(section, MotifSettings.Xi, defaults.Clustering.Xi!.Value, min: 0, max: 1),
        };
        return new MotifPipelineOptions
        {
            Storage = storage,
            Workspace = workspace,
            ModelVersion = string.IsNullOrWhiteSpace(section[MotifSettings.ModelVersion]) ? defaults.ModelVersion : section[MotifSettings.ModelVersion]!,
            Clustering = clustering,
            Threads = (int)SettingValues.Number(section, MotifSettings.Threads, defaults.Threads, min: 1, max: 1024),
            DecodeCores = section[MotifSettings.DecodeCores] switch
            {
                null or "" => defaults.DecodeCores,
                var s when s.Equals("auto", StringComparison.OrdinalIgnoreCase) => DecodeCores.Auto,
                var s when s.Equals("shared", StringComparison.OrdinalIgnoreCase) => DecodeCores.Shared,
                var s when s.Equals("leave-inference-core", StringComparison.OrdinalIgnoreCase) => DecodeCores.LeaveInferenceCore,
                var s when s.Equals("take-turns", StringComparison.OrdinalIgnoreCase) => DecodeCores.TakeTurns,
                var s => throw new PipelineConfigurationException($"{Section}__{MotifSettings.DecodeCores} must be 'auto', 'shared', 'leave-inference-core' or 'take-turns', not '{s}'."),
            },
            BatchSize = (int)SettingValues.Number(section, MotifSettings.BatchSize, defaults.BatchSize, min: 1, max: 4096),
            UploadsContainer = SettingValues.Text(section, MotifSettings.UploadsContainer, defaults.UploadsContainer),
            SignatureJobs = defaults.SignatureJobs with
            {
                LockDuration = TimeSpan.FromSeconds(SettingValues.Number(section, MotifSettings.SignatureLockSeconds, defaults.SignatureJobs.LockDuration.TotalSeconds, min: 15, max: 300)),
            },
            AzureNames = new AzureStorageNames
            {
                Container = SettingValues.Text(section, MotifSettings.Container, defaults.AzureNames.Container),
                CatalogTable = SettingValues.Text(section, MotifSettings.CatalogTable, defaults.AzureNames.CatalogTable),
                SignatureQueue = SettingValues.Text(section, MotifSettings.SignatureQueue, defaults.AzureNames.SignatureQueue),
                TrainingQueue = SettingValues.Text(section, MotifSettings.TrainingQueue, defaults.AzureNames.TrainingQueue),
            },
        };
    }
}

/// <summary>Where the Azure adapters keep their state (<c>Motif__Container</c>, <c>Motif__CatalogTable</c>, <c>Motif__SignatureQueue</c>, <c>Motif__TrainingQueue</c>).</summary>
public sealed record AzureStorageNames
{
    public string Container { get; init; } = "motif";

    public string CatalogTable { get; init; } = "catalog";

    public string SignatureQueue { get; init; } = "signatures";

    /// <summary>The queue of training jobs (<c>Motif__TrainingQueue</c>; main.bicep's trainingQueue).</summary>
    public string TrainingQueue { get; init; } = "training";
}

/// <summary>A pipeline setting is missing or malformed; the message names it, in one line.</summary>
public sealed class PipelineConfigurationException(string message) : Exception(message);
