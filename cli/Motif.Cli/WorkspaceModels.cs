using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Cli;

/// <summary>The model a command chose: the name or file to open, the version it is, and why it was chosen.</summary>
/// <param name="Model">What <see cref="ModelCatalog.Open"/> takes: the packaged network's name or a local weights file.</param>
/// <param name="Version">The model version (<see cref="ModelCatalog.VersionOf"/> of <paramref name="Model"/>).</param>
/// <param name="State">Its state in the workspace's registry, or null when --model gave it.</param>
internal sealed record ModelChoice(string Model, string Version, ModelVersionState? State)
{
    /// <summary>Set by <c>motif run</c> when the run completed a rollout: the pending version now serves.</summary>
    public bool Switched { get; init; }
}

/// <summary>
/// The CLI's side of the workspace's model registry (<see cref="ModelRegistry"/>): which version a command uses when no
/// --model is given, where a registered version's weights are put to be opened, and what a rollout means for a
/// process that signs and clusters in one run.
/// </summary>
internal static class WorkspaceModels
{
    /// <summary>The registry of a workspace as every host opens it (<see cref="ModelRegistry.ForWorkspace"/>); the packaged
    /// network serves until a promotion completes.</summary>
    public static ModelRegistry Registry(IBlobStore blobs) => ModelRegistry.ForWorkspace(blobs);

    /// <summary>Where downloaded versions are kept between runs (a version's weights never change, so they are reused once
    /// their hash checks out).</summary>
    private static string CacheFolder => Path.Combine(Path.GetTempPath(), "motif-models");

    /// <summary>
    /// The version to use when no --model was given: the serving one, or for a command that signs the collection
    /// (<paramref name="forSigning"/>, <c>motif run</c>) the pending one during a rollout, since signing under it is the
    /// rollout's work. A workspace without a registry (every workspace from before it) gets the packaged network, as before.
    /// </summary>
    public static async Task<ModelChoice> ChooseAsync(ModelRegistry registry, bool forSigning, CancellationToken cancellationToken)
    {
        var (pointer, _) = await registry.ReadPointerAsync(cancellationToken);
        var version = forSigning && pointer.Pending is { } pending ? pending : pointer.Serving;
        return new ModelChoice(await OpenableAsync(registry, version, cancellationToken), version, ModelRegistry.StateOf(version, pointer));
    }

    /// <summary>What <see cref="ModelCatalog.Open"/> takes for <paramref name="version"/>: the packaged network by name, or
    /// the registered weights downloaded (once) to a local file whose name is a hash of the version, never the version
    /// text itself (the pointer is read from storage and is not trusted as a path).</summary>
    public static async Task<string> OpenableAsync(ModelRegistry registry, string version, CancellationToken cancellationToken)
    {
        if (version == registry.InitialVersion)
        {
            return ModelCatalog.PackagedResNet50;
        }
        Directory.CreateDirectory(CacheFolder);
        var file = Path.Combine(CacheFolder, CollectionBlobs.KeyOf(version) + ".ckpt");
        if (!File.Exists(file) || ModelCatalog.VersionOf(file) != version)
        {
            await registry.DownloadWeightsAsync(version, file, cancellationToken);
        }
        return file;
    }
}

/// <summary>
/// A rollout as the CLI runs it: there is no separate worker, so "re-signing" is the next <c>motif run</c>, which signs
/// every image missing a signature under the pending version (as it signs any model's missing ones) and then advances the
/// rollout before it clusters, so it clusters under the version that serves.
/// </summary>
internal sealed class CommandLineRollout(IImageCatalog catalog, Precision precision) : IModelRolloutSteps
{
    public string SignatureVersionOf(string modelVersion) => EngineSignatureEmbedder.VersionOf(modelVersion, precision: precision);

    /// <summary>Nothing to send: the next <c>motif run</c> finds these images unsigned. Returns how many there are.</summary>
    public async Task<int> EnqueueResigningAsync(string modelVersion, CancellationToken cancellationToken) =>
        (await catalog.ListUnsignedAsync(SignatureVersionOf(modelVersion), cancellationToken)).Count;

    /// <summary>Nothing to ask: the run that switched clusters next, under the new serving version.</summary>
    public Task RequestReclusterAsync(string modelVersion, CancellationToken cancellationToken) => Task.CompletedTask;
}
