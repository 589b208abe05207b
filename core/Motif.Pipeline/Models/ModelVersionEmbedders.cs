using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Imaging;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Models;

/// <summary>Opens a model version as a network that signs, for <see cref="ModelVersionEmbedders"/> (the engine lives in
/// the hosts that sign, not in the pipeline), at the host's input size and precision.</summary>
public interface ISignatureEmbedderFactory
{
    /// <summary>Opens <paramref name="version"/>.</summary>
    /// <param name="version">The model version (a registered one: the registry's initial version is the host's configured
    /// model, never opened here).</param>
    /// <param name="weightsFile">Its weights, downloaded from the registry and checked against the version's hash.</param>
    /// <returns>The embedder and what to dispose when it is no longer used.</returns>
    /// <exception cref="InvalidDataException">The weights cannot be opened as a network.</exception>
    (ISignatureEmbedder Embedder, IDisposable Owner) Open(string version, string weightsFile);
}

/// <summary>A model version a job named cannot sign: not registered, or its weights cannot be opened. The job is
/// dead-lettered with <see cref="ReasonCode"/>; redelivering it would fail the same way.</summary>
public sealed class ModelVersionUnavailableException(string reasonCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>"unknown-model-version" or "model-version-unloadable".</summary>
    public string ReasonCode { get; } = reasonCode;
}

/// <summary>Options of <see cref="ModelVersionEmbedders"/>.</summary>
public sealed record ModelVersionEmbeddersOptions
{
    /// <summary>Where registered versions' weights are downloaded (a version's weights never change, so a file whose
    /// hash checks out is reused); a folder of the host's temporary files unless set.</summary>
    public string CacheFolder { get; init; } = Path.Combine(Path.GetTempPath(), "motif-models");
}

/// <summary>
/// The networks of the model versions signature jobs name (<see cref="SignatureJob.ModelVersion"/>) and search embeds
/// queries with (<see cref="ServingAsync"/>): the host's configured model as it is, every other version opened once from
/// the registry and kept for the life of the process.
/// </summary>
/// <remarks>
/// <para><b>Why a job names its version</b> rather than the worker following the registry's pending pointer: a message
/// then means the same thing whenever it is delivered (a job sent for a rollout that was meanwhile superseded still signs
/// what it asked for, and the catalog keys the result by that version), every replica signs the same jobs the same way
/// without reading the pointer per batch, and the jobs already in a queue when this was deployed (with no version) keep
/// meaning the configured model.</para>
/// <para><b>The registry's initial version is the configured model</b>, as <see cref="QueuedRolloutSteps.SignatureVersionOf"/>
/// keys it: unversioned jobs have always signed it with the configured network, so a job or a search naming it uses that
/// network and its signatures, not a second copy opened under another key.</para>
/// <para><b>Why versions are kept, not evicted.</b> Only registered versions load (a name that is not in the registry is
/// refused before anything is downloaded), and jobs name a version only while it is being rolled out, so a process
/// holds the configured model and in practice one more. Disposing a network while a prepared batch may still embed with it
/// would need reference counting that this bound does not justify; the worker scales to zero between bursts anyway.</para>
/// </remarks>
public sealed class ModelVersionEmbedders(ModelRegistry registry, ISignatureEmbedderFactory factory, ISignatureEmbedder configured, string configuredVersion,
    ModelVersionEmbeddersOptions? options = null, ILogger<ModelVersionEmbedders>? logger = null) : IDisposable
{
    private readonly ModelVersionEmbeddersOptions _options = options ?? new ModelVersionEmbeddersOptions();
    private readonly ILogger _logger = logger ?? NullLogger<ModelVersionEmbedders>.Instance;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (ISignatureEmbedder Embedder, IDisposable Owner)> _opened = new(StringComparer.Ordinal);

    /// <summary>The host's configured model: what a job without a version means.</summary>
    public ISignatureEmbedder Configured { get; } = configured ?? throw new ArgumentNullException(nameof(configured));

    /// <summary>The model version of <see cref="Configured"/> (the registry's id for its weights).</summary>
    public string ConfiguredVersion { get; } = configuredVersion;

    /// <summary>The network of <paramref name="modelVersion"/>, opened on first use.</summary>
    /// <exception cref="ModelVersionUnavailableException">The version is not registered, or its weights are damaged or
    /// cannot be opened.</exception>
    /// <remarks>Storage failures other than these propagate: they are not the job's fault, and the job is given back.</remarks>
    public async Task<ISignatureEmbedder> GetAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelVersion);
        if (modelVersion == ConfiguredVersion || modelVersion == registry.InitialVersion)
        {
            return Configured;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_opened.TryGetValue(modelVersion, out var opened))
            {
                return opened.Embedder;
            }
            opened = await OpenAsync(modelVersion, cancellationToken).ConfigureAwait(false);
            _opened.Add(modelVersion, opened);
            _logger.LogInformation("Opened model version {Version} for the jobs that name it ({SignatureVersion} signatures)", modelVersion, opened.Embedder.ModelVersion);
            return opened.Embedder;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The network of the version the registry serves now: what search embeds a query with, so that it ranks against the
    /// signatures the published clusters were made from. The pointer is read on every call (one small blob read), so a
    /// switch moves search at once on every replica, without a redeployment.
    /// </summary>
    /// <exception cref="ModelVersionUnavailableException">The serving version cannot be opened here, or the pointer is
    /// unreadable.</exception>
    public async Task<ISignatureEmbedder> ServingAsync(CancellationToken cancellationToken = default)
    {
        ServingPointer pointer;
        try
        {
            (pointer, _) = await registry.ReadPointerAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new ModelVersionUnavailableException("model-version-unloadable", e.Message, e);
        }
        return await GetAsync(pointer.Serving, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(ISignatureEmbedder, IDisposable)> OpenAsync(string modelVersion, CancellationToken cancellationToken)
    {
        ModelVersionRecord? record;
        try
        {
            record = await registry.GetAsync(modelVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new ModelVersionUnavailableException("model-version-unloadable", $"The record of model version '{modelVersion}' is unreadable: {e.Message}", e);
        }
        if (record is null)
        {
            throw new ModelVersionUnavailableException("unknown-model-version", $"No registered model version '{modelVersion}'.");
        }
        Directory.CreateDirectory(_options.CacheFolder);
        // Named by a hash of the version, never by its text: the name came in a message and is not trusted as a path.
        var file = Path.Combine(_options.CacheFolder, CollectionBlobs.KeyOf(modelVersion) + ".ckpt");
        try
        {
            // Downloaded every time the process opens it: the download checks the hash, which a cached file would skip.
            await registry.DownloadWeightsAsync(modelVersion, file, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new ModelVersionUnavailableException("model-version-unloadable", e.Message, e);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            throw new ModelVersionUnavailableException("model-version-unloadable", $"The weights of model version '{modelVersion}' ({record.Weights}) are missing.", e);
        }
        try
        {
            return factory.Open(modelVersion, file);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException or InvalidOperationException)
        {
            throw new ModelVersionUnavailableException("model-version-unloadable", $"Model version '{modelVersion}' cannot be opened: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var (_, owner) in _opened.Values)
        {
            owner.Dispose();
        }
        _opened.Clear();
        _gate.Dispose();
    }
}
