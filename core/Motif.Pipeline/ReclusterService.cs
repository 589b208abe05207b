using System.Diagnostics;
using System.Text;
using Motif.Core;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Storage;

namespace Motif.Pipeline;

/// <summary>What a reclustering did, with the time of each stage.</summary>
public sealed record ReclusterResult(
    PublishedManifest? Manifest,
    bool Published,
    SignatureSet Signatures,
    long NeighbourPairs,
    int GraphRowsKept,
    int GraphRowsAppended,
    TimeSpan Load,
    TimeSpan Graph,
    TimeSpan Optics,
    TimeSpan Publish);

/// <summary>
/// The Recluster step (the nightly timer Function, and the last stage of <c>motif run</c>): load the signatures,
/// update the stored cosine neighbour graph within max_eps (only pairs with new images are computed, see
/// <see cref="NeighbourGraphStore"/>), run OPTICS, extract clusters, and publish a manifest whose
/// cluster ids are inherited from the previous one. Nothing is published when neither the input (image ids and
/// their contents) nor the model nor the parameters changed since the latest manifest.
/// </summary>
public sealed class ReclusterService(IBlobStore blobs, IImageCatalog catalog, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ManifestPublisher _publisher = new(blobs);
    private readonly NeighbourGraphStore _graphs = new(blobs);

    /// <summary>Reclusters the signatures of <paramref name="modelVersion"/>; <paramref name="threads"/> build the graph.</summary>
    /// <exception cref="ManifestPublishConflictException">Another run published first; call again.</exception>
    public async Task<ReclusterResult> RunAsync(string modelVersion, ClusteringParameters parameters, int threads = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(parameters);
        var clock = Stopwatch.StartNew();
        var latest = await _publisher.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        var set = await SignatureSet.LoadAsync(blobs, catalog, modelVersion, cancellationToken).ConfigureAwait(false);
        var load = clock.Elapsed;
        var inputHash = InputSetHash(set);
        if (set.Count == 0 ||
            latest is not null && latest.Manifest.InputSetHash == inputHash && latest.Manifest.ModelVersion == modelVersion && latest.Manifest.Parameters == parameters)
        {
            return new ReclusterResult(latest, false, set, 0, 0, 0, load, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        }

        clock.Restart();
        var update = await _graphs.UpdateAsync(set, parameters.MaxEps ?? double.PositiveInfinity, threads, cancellationToken).ConfigureAwait(false);
        var graph = update.Graph;
        var graphTime = clock.Elapsed;
        clock.Restart();
        var optics = Optics.Order(graph, parameters.MinSamples);
        IReadOnlyList<int> labels = parameters.Extraction == Extraction.Dbscan
            ? Optics.ExtractDbscan(optics, parameters.Eps ?? throw new ArgumentException("DBSCAN extraction needs eps.", nameof(parameters)))
            : Optics.ExtractXi(optics, parameters.Xi ?? 0.05, parameters.MinClusterSize, parameters.PredecessorCorrection).Labels;
        var opticsTime = clock.Elapsed;

        clock.Restart();
        var now = _time.GetUtcNow();
        var run = new ManifestRun($"run-{now:yyyyMMddTHHmmssfffZ}-{inputHash[..8]}", now, modelVersion, parameters) { InputSetHash = inputHash };
        var manifest = ClusterManifest.Create(run, set.ImageIds, set.Values, set.Dimension, optics, labels, latest?.Manifest);
        var published = await _publisher.PublishAsync(manifest, latest, cancellationToken).ConfigureAwait(false);
        return new ReclusterResult(published, true, set, graph.EntryCount, update.KeptRows, update.AppendedRows, load, graphTime, opticsTime, clock.Elapsed);
    }

    /// <summary>The latest published manifest, or null.</summary>
    public Task<PublishedManifest?> ReadLatestAsync(CancellationToken cancellationToken = default) => _publisher.ReadLatestAsync(cancellationToken);

    /// <summary>SHA-256 over "image id TAB content hash" lines: a renamed, added, removed or changed image changes it.</summary>
    public static string InputSetHash(SignatureSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var text = new StringBuilder();
        foreach (var image in set.Images)
        {
            text.Append(image.ImageId).Append('\t').Append(image.ContentHash).Append('\n');
        }
        return ContentHash.Of(Encoding.UTF8.GetBytes(text.ToString())).Hex;
    }
}
