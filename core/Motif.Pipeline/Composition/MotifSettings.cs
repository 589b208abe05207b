namespace Motif.Pipeline.Composition;

/// <summary>Which deployed app reads a setting.</summary>
[Flags]
public enum SettingReaders
{
    /// <summary>No app.</summary>
    None = 0,

    /// <summary>The Functions app (IngestImage, Recluster, the HTTP API).</summary>
    Functions = 1,

    /// <summary>The GPU worker container (and the training job, which runs its image).</summary>
    Worker = 2,

    /// <summary>Both apps.</summary>
    Both = Functions | Worker,
}

/// <summary>One setting the code reads, by its configuration key (<c>Motif:MaxEps</c>).</summary>
/// <param name="Key">The configuration key, sections separated by <c>:</c>.</param>
/// <param name="ReadBy">The apps that read it.</param>
/// <param name="RequiredBy">The apps a deployment must provide it to (elsewhere the default is right in Azure too).</param>
/// <param name="Purpose">What it is, in a few words.</param>
public sealed record MotifSetting(string Key, SettingReaders ReadBy, SettingReaders RequiredBy, string Purpose)
{
    /// <summary>The app setting or environment variable name: <c>Motif__MaxEps</c>.</summary>
    public string AppSettingName => Key.Replace(":", "__", StringComparison.Ordinal);
}

/// <summary>
/// The one list of the settings Motif's hosts read, as app settings or environment variables. The option readers
/// (<see cref="MotifPipelineOptions"/>, the Functions app's and the worker's options) read these keys, and main.bicep
/// must provide every setting to the apps in its <see cref="MotifSetting.RequiredBy"/>: the configuration
/// contract test (tests/Motif.Deploy.Tests) checks the compiled template against <see cref="All"/>.
/// </summary>
/// <remarks>
/// The connection names are literals here, not read from Motif.Storage.Azure's options: an embedded host must never
/// load an Azure assembly (the contract test checks they are equal).
/// </remarks>
public static class MotifSettings
{
    // Keys inside the Motif section (Motif:<key>, app setting Motif__<key>).
    public const string Storage = "Storage";
    public const string Workspace = "Workspace";
    public const string ModelVersion = "ModelVersion";
    public const string MaxEps = "MaxEps";
    public const string MinSamples = "MinSamples";
    public const string Xi = "Xi";
    public const string Threads = "Threads";
    public const string DecodeCores = "DecodeCores";
    public const string BatchSize = "BatchSize";
    public const string SignatureLockSeconds = "SignatureLockSeconds";
    public const string UploadsContainer = "UploadsContainer";
    public const string Container = "Container";
    public const string CatalogTable = "CatalogTable";
    public const string SignatureQueue = "SignatureQueue";
    public const string TrainingQueue = "TrainingQueue";
    public const string ReclusterSchedule = "ReclusterSchedule";
    public const string WorkerSearchUri = "WorkerSearchUri";
    public const string LocalAnnotator = "LocalAnnotator";
    public const string PublicBaseUrl = "PublicBaseUrl";
    public const string Model = "Model";
    public const string Precision = "Precision";
    public const string Device = "Device";

    // Keys inside Motif:Worker.
    public const string WorkerSection = "Worker";
    public const string WorkerUrls = "Urls";
    public const string WorkerReceiveWaitSeconds = "ReceiveWaitSeconds";
    public const string WorkerGraphUpdateSeconds = "GraphUpdateSeconds";
    public const string WorkerShutdownTimeoutSeconds = "ShutdownTimeoutSeconds";
    public const string WorkerMaxSearchBytes = "MaxSearchBytes";
    public const string WorkerBatchFillSeconds = "BatchFillSeconds";
    public const string WorkerPreparedBatches = "PreparedBatches";

    /// <summary>The storage connection (Motif.Storage.Azure's <c>MotifAzureStorageOptions.StorageConnection</c>, IngestImage's <c>Connection</c>).</summary>
    public const string StorageConnection = "MotifStorage";

    /// <summary>The Service Bus connection (<c>MotifAzureStorageOptions.ServiceBusConnection</c>).</summary>
    public const string ServiceBusConnection = "MotifServiceBus";

    /// <summary>The full key of <paramref name="key"/> in the Motif section: <c>Motif:MaxEps</c>.</summary>
    public static string InMotif(string key) => $"{MotifPipelineOptions.Section}:{key}";

    /// <summary>The full key of <paramref name="key"/> in the worker's section: <c>Motif:Worker:Urls</c>.</summary>
    public static string InWorker(string key) => $"{MotifPipelineOptions.Section}:{WorkerSection}:{key}";

    /// <summary>Every setting the hosts read.</summary>
    public static IReadOnlyList<MotifSetting> All { get; } =
    [
        new(InMotif(Storage), SettingReaders.Both, SettingReaders.Both, "embedded | azure"),
        new(InMotif(Workspace), SettingReaders.Both, SettingReaders.None, "the workspace folder of embedded storage"),
        new(InMotif(ModelVersion), SettingReaders.Both, SettingReaders.Both, "the signatures intake asks for and the worker computes: equal in both apps"),
        new(InMotif(MaxEps), SettingReaders.Both, SettingReaders.Both, "OPTICS max_eps: the graph's radius (worker) and clustering's (Recluster)"),
        new(InMotif(MinSamples), SettingReaders.Both, SettingReaders.Both, "OPTICS min_samples"),
        new(InMotif(Xi), SettingReaders.Both, SettingReaders.Both, "OPTICS xi"),
        new(InMotif(Threads), SettingReaders.Both, SettingReaders.None, "preprocessing and graph threads (default: processor count)"),
        new(InMotif(DecodeCores), SettingReaders.Worker, SettingReaders.None, "decode threads beside inference: auto | shared | leave-inference-core | take-turns"),
        new(InMotif(BatchSize), SettingReaders.Worker, SettingReaders.None, "signature jobs per forward pass"),
        new(InMotif(SignatureLockSeconds), SettingReaders.Both, SettingReaders.None, "Queue Storage visibility timeout (Service Bus: the queue's lock)"),
        new(InMotif(UploadsContainer), SettingReaders.Both, SettingReaders.None, "the uploads container (default uploads, IngestImage's trigger path)"),
        new(InMotif(Container), SettingReaders.Both, SettingReaders.None, "the data container (default motif)"),
        new(InMotif(CatalogTable), SettingReaders.Both, SettingReaders.None, "the catalog table (default catalog)"),
        new(InMotif(SignatureQueue), SettingReaders.Both, SettingReaders.None, "the signature job queue (default signatures)"),
        new(InMotif(TrainingQueue), SettingReaders.Both, SettingReaders.None, "the training job queue (default training): POST /api/train sends, the training job receives"),
        new(InMotif(ReclusterSchedule), SettingReaders.Functions, SettingReaders.Functions, "Recluster's NCRONTAB; the host refuses to index Recluster without it"),
        new(InMotif(WorkerSearchUri), SettingReaders.Functions, SettingReaders.Functions, "the worker's POST /search (search answers 503 without it)"),
        new(InMotif(PublicBaseUrl), SettingReaders.Functions, SettingReaders.Functions, "the app's own https://host/, root of the IIIF ids and image URLs (main.bicep: the app's default host name; never the request's Host)"),
        new(InMotif(LocalAnnotator), SettingReaders.Functions, SettingReaders.None, "local use only (motif dev, motif serve): annotator of annotations posted without a sign-in; never set in Azure"),
        new(InMotif(Model), SettingReaders.Worker, SettingReaders.None, "the packaged network or a checkpoint"),
        new(InMotif(Precision), SettingReaders.Worker, SettingReaders.Worker, "fp32 | bf16 (part of the model version)"),
        new(InMotif(Device), SettingReaders.Worker, SettingReaders.Worker, "cpu | cuda | cuda:N"),
        new(InWorker(WorkerUrls), SettingReaders.Worker, SettingReaders.Worker, "where the worker listens (a container must listen beyond loopback)"),
        new(InWorker(WorkerReceiveWaitSeconds), SettingReaders.Worker, SettingReaders.None, "receive long-poll"),
        new(InWorker(WorkerGraphUpdateSeconds), SettingReaders.Worker, SettingReaders.None, "graph update interval while busy"),
        new(InWorker(WorkerShutdownTimeoutSeconds), SettingReaders.Worker, SettingReaders.None, "grace period after SIGTERM"),
        new(InWorker(WorkerMaxSearchBytes), SettingReaders.Worker, SettingReaders.None, "largest search image"),
        new(InWorker(WorkerBatchFillSeconds), SettingReaders.Worker, SettingReaders.None, "time to fill a partial batch"),
        new(InWorker(WorkerPreparedBatches), SettingReaders.Worker, SettingReaders.None, "batches prepared ahead of the forward pass"),
        // Identity-based connections (Motif.Storage.Azure's AzureConnection reads them as the Functions host does).
        new($"{StorageConnection}:blobServiceUri", SettingReaders.Both, SettingReaders.Both, "Blob service URI"),
        new($"{StorageConnection}:queueServiceUri", SettingReaders.Both, SettingReaders.Functions, "Queue service URI (the blob trigger's connection)"),
        new($"{StorageConnection}:tableServiceUri", SettingReaders.Both, SettingReaders.Both, "Table service URI (the catalog)"),
        new($"{StorageConnection}:accountName", SettingReaders.Both, SettingReaders.None, "instead of the three URIs"),
        new($"{StorageConnection}:credential", SettingReaders.Both, SettingReaders.Both, "managedidentity"),
        new($"{StorageConnection}:clientId", SettingReaders.Both, SettingReaders.Both, "the user-assigned identity's client id"),
        new($"{ServiceBusConnection}:fullyQualifiedNamespace", SettingReaders.Both, SettingReaders.Both, "Service Bus namespace: jobs go through Service Bus when set"),
        new($"{ServiceBusConnection}:credential", SettingReaders.Both, SettingReaders.Both, "managedidentity"),
        new($"{ServiceBusConnection}:clientId", SettingReaders.Both, SettingReaders.Both, "the user-assigned identity's client id"),
        // Telemetry (FunctionsTelemetry, the worker's Program).
        new("APPLICATIONINSIGHTS_CONNECTION_STRING", SettingReaders.Functions, SettingReaders.Functions, "Application Insights (Entra ID authentication)"),
        new("AZURE_CLIENT_ID", SettingReaders.Both, SettingReaders.Both, "the identity DefaultAzureCredential uses (exporters)"),
        new("OTEL_EXPORTER_OTLP_ENDPOINT", SettingReaders.Both, SettingReaders.None, "an OTLP collector"),
    ];
}
