using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Models;

/// <summary>
/// The rollout steps of a deployment with a signing worker (Azure, <c>motif dev</c>): re-signing is one
/// <see cref="SignatureJob"/> per unsigned image that names the pending version, on the signature queue every worker
/// replica consumes; the recluster is the Recluster timer's, which advances the rollout before it clusters.
/// </summary>
/// <remarks>
/// The jobs name the version (<see cref="SignatureJob.ModelVersion"/>) instead of asking the workers to follow the
/// pending pointer: see <see cref="ModelVersionEmbedders"/> for why. Signature versions are derived from the deployment's
/// <c>Motif__ModelVersion</c> (<see cref="SignatureVersions"/>), so the Functions app, which has no engine, keys them as the
/// worker does. <see cref="SignatureVersionOf"/> is the one place that rule is written: the Recluster timer (which graph
/// to cluster), the worker's graph updates (which graphs to keep) and the rollout's count of unsigned images all ask it.
/// </remarks>
/// <param name="catalog">The catalog: which images lack a signature under a version.</param>
/// <param name="signatureJobs">The signature queue.</param>
/// <param name="configuredSignatureVersion"><c>Motif__ModelVersion</c>: the input size and precision the deployment signs at.</param>
/// <param name="initialVersion">The registry's initial version (<see cref="ModelRegistry.InitialVersion"/>): what serves
/// before any promotion, signed by the deployment's configured model.</param>
public sealed class QueuedRolloutSteps(IImageCatalog catalog, IWorkQueue signatureJobs, string configuredSignatureVersion, string initialVersion) : IModelRolloutSteps
{
    /// <summary>Jobs sent per batch send (the Service Bus and Queue Storage adapters split further as they must).</summary>
    private const int SendChunk = 256;

    /// <summary>
    /// The registry's initial version signs under <c>Motif__ModelVersion</c> itself: it is what unversioned jobs (intake's,
    /// and every job queued before versions were named) have always signed, so its signatures are already there under
    /// that key, whatever the configured model is called. Any other version signs under
    /// <see cref="SignatureVersions.Of"/>(version, <c>Motif__ModelVersion</c>). Without the first rule a rollback to the
    /// initial version would count its images under a key nothing signs, and never switch.
    /// </summary>
    public string SignatureVersionOf(string modelVersion) =>
        modelVersion == initialVersion ? configuredSignatureVersion : SignatureVersions.Of(modelVersion, configuredSignatureVersion);

    /// <summary>
    /// Sends a job naming <paramref name="modelVersion"/> for every catalogued image with no signature (and no recorded
    /// failure) under it. Safe to repeat: a job for content already signed is completed without work (the catalog keeps
    /// signing exactly-once), so a sweep that re-sends jobs still queued wastes a lookup each, nothing more.
    /// </summary>
    public async Task<int> EnqueueResigningAsync(string modelVersion, CancellationToken cancellationToken)
    {
        var unsigned = await catalog.ListUnsignedAsync(SignatureVersionOf(modelVersion), cancellationToken).ConfigureAwait(false);
        foreach (var chunk in unsigned.Chunk(SendChunk))
        {
            await signatureJobs.SendBatchAsync([.. chunk.Select(i => SignatureJob.For(i.ImageId, i.ContentHash!, modelVersion).ToMessage())], cancellationToken)
                .ConfigureAwait(false);
        }
        return unsigned.Count;
    }

    /// <summary>Nothing to send: only the Recluster timer advances a rollout in a deployment, and it clusters under the new
    /// serving version right after the switch.</summary>
    public Task RequestReclusterAsync(string modelVersion, CancellationToken cancellationToken) => Task.CompletedTask;
}
