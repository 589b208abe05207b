using System.Diagnostics;
using System.Text;
using Motif.Core;
using Motif.Core.Clustering;
using Motif.Core.Layout;
using Motif.Core.Manifests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline;

/// <summary>What a reclustering did, with the time of each stage.</summary>
/// <param name="Manifest">The latest manifest after the run: the new one, or the one that stands.</param>
/// <param name="Published">Whether this run published <paramref name="Manifest"/>.</param>
/// <param name="Images">Rows clustered: the stored graph's rows that are still catalogued and signed.</param>
/// <param name="StaleRows">Rows of the stored graph left out because their image left the catalog or changed content.</param>
/// <param name="NeighbourPairs">Entries of the graph clustered (each pair counted in both rows).</param>
/// <param name="Load">Reading the latest manifest, the stored graph and the catalog.</param>
/// <param name="Optics">OPTICS and cluster extraction.</param>
/// <param name="Publish">Writing the run and swapping manifests/latest.json.</param>
/// <param name="Map">Laying out the map (<see cref="MapLayout"/>), from the previous run's map where it has one.</param>
/// <param name="MapKept">Images the map kept in their previous place.</param>
public sealed record ReclusterResult(
    PublishedManifest? Manifest,
    bool Published,
    int Images,
    int StaleRows,
    long NeighbourPairs,
    TimeSpan Load,
    TimeSpan Optics,
    TimeSpan Publish,
    TimeSpan Map = default,
    int MapKept = 0);

/// <summary>
/// The Recluster step (the nightly timer Function, and the last stage of <c>motif run</c>): read the stored cosine
/// neighbour graph of the model's signatures within max_eps (<see cref="NeighbourGraphStore"/>, kept current by
/// whoever signs), cut it to the rows whose image is still catalogued and signed with the same content, run OPTICS,
/// extract clusters, lay out the map over the same graph (<see cref="MapLayout"/>: images unchanged since the previous
/// run's map keep their place), and publish a manifest whose cluster ids are inherited from the previous one, with
/// its map and its whole reachability plot (<see cref="ReachabilityPlot"/>: every image, noise included) beside it.
/// Nothing is
/// published when neither the input (image ids and their contents) nor the model nor the parameters changed since the
/// latest manifest. Each image of the manifest carries its upload's trace id from its catalog record, and the manifest
/// the trace id of the activity the run is called in, so a published run leads back to both traces.
/// </summary>
/// <remarks>
/// It never reads a signature: the graph (12 bytes per neighbour pair) and the catalog are all it needs, which is
/// what lets the timer run in a small Functions instance. An image signed after the graph's last update is left for
/// the next run: the graph's rows, not the catalog, say what can be clustered.
/// </remarks>
public sealed class ReclusterService(IBlobStore blobs, IImageCatalog catalog, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ManifestPublisher _publisher = new(blobs);
    private readonly NeighbourGraphStore _graphs = new(blobs);

    /// <summary>Reclusters the stored graph of <paramref name="modelVersion"/>'s signatures within <paramref name="parameters"/>' max_eps.</summary>
    /// <exception cref="ManifestPublishConflictException">Another run published first; call again.</exception>
    public async Task<ReclusterResult> RunAsync(string modelVersion, ClusteringParameters parameters, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(parameters);
        var clock = Stopwatch.StartNew();
        var latest = await _publisher.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        var stored = await _graphs.ReadAsync(modelVersion, NeighbourGraphStore.RadiusOf(parameters), cancellationToken).ConfigureAwait(false);
        // The signed rows, each with its upload's trace id (from its catalog record) for the manifest entry.
        var signed = (await catalog.ListSignedAsync(modelVersion, cancellationToken).ConfigureAwait(false))
            .Where(s => s.Image.Status == ImageStatus.Accepted && s.Image.ContentHash == s.Signature.ContentHash)
            .ToDictionary(s => new GraphRow(s.Image.ImageId, s.Signature.ContentHash), s => s.Image.TraceId);
        var rows = stored is null ? [] : Enumerable.Range(0, stored.Rows.Count).Where(i => signed.ContainsKey(stored.Rows[i])).ToArray();
        var stale = (stored?.Rows.Count ?? 0) - rows.Length;
        var kept = rows.Select(i => stored!.Rows[i]).ToArray();
        var load = clock.Elapsed;
        var inputHash = InputSetHash(kept);
        if (kept.Length == 0 ||
            latest is not null && latest.Manifest.InputSetHash == inputHash && latest.Manifest.ModelVersion == modelVersion && latest.Manifest.Parameters == parameters)
        {
            return new ReclusterResult(latest, false, kept.Length, stale, 0, load, TimeSpan.Zero, TimeSpan.Zero);
        }

        clock.Restart();
        var graph = rows.Length == stored!.Rows.Count ? stored.Graph : stored.Graph.Select(rows);
        var optics = Optics.Order(graph, parameters.MinSamples);
        var labels = parameters.Extraction == Extraction.Dbscan
            ? Optics.ExtractDbscan(optics, parameters.Eps ?? throw new ArgumentException("DBSCAN extraction needs eps.", nameof(parameters)))
            : Optics.ExtractXi(optics, parameters.Xi ?? 0.05, parameters.MinClusterSize, parameters.PredecessorCorrection).Labels;
        var opticsTime = clock.Elapsed;

        clock.Restart();
        var now = _time.GetUtcNow();
        var run = new ManifestRun($"run-{now:yyyyMMddTHHmmssfffZ}-{inputHash[..8]}", now, modelVersion, parameters)
        {
            InputSetHash = inputHash,
            TraceId = CurrentTrace.TraceId,
        };
        var manifest = ClusterManifest.Create(run, [.. kept.Select(r => r.ImageId)], graph, optics, labels, latest?.Manifest,
            imageTraceIds: [.. kept.Select(r => signed[r])]);
        var publishTime = clock.Elapsed;

        // The map over the same graph, unchanged images (same id, same content) fixed where the previous map put them.
        clock.Restart();
        var previousMap = latest is null ? null : await _publisher.ReadMapAsync(latest.Manifest.RunId, cancellationToken).ConfigureAwait(false);
        var ids = kept.Select(r => r.ImageId).ToArray();
        var contents = kept.Select(r => r.ContentHash).ToArray();
        var fixedPositions = previousMap?.PositionsOf(ids, contents);
        var positions = MapLayout.Compute(graph, MapLayoutOptions.Default, fixedPositions, cancellationToken);
        var map = CollectionMap.Create(manifest, positions, contents);
        var mapTime = clock.Elapsed;

        clock.Restart();
        var published = await _publisher.PublishAsync(manifest, latest, map, ReachabilityPlot.Create(manifest, optics), cancellationToken).ConfigureAwait(false);
        return new ReclusterResult(published, true, kept.Length, stale, graph.EntryCount, load, opticsTime, publishTime + clock.Elapsed,
            mapTime, fixedPositions?.Count(p => p is not null) ?? 0);
    }

    /// <summary>The latest published manifest, or null.</summary>
    public Task<PublishedManifest?> ReadLatestAsync(CancellationToken cancellationToken = default) => _publisher.ReadLatestAsync(cancellationToken);

    /// <summary>SHA-256 over "image id TAB content hash" lines: a renamed, added, removed or changed image changes it.</summary>
    public static string InputSetHash(SignatureSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return InputSetHash([.. set.Images.Select(i => new GraphRow(i.ImageId, i.ContentHash!))]);
    }

    /// <summary>The same hash over graph rows, in their order (the signature set's order, by image id).</summary>
    public static string InputSetHash(IReadOnlyList<GraphRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.Append(row.ImageId).Append('\t').Append(row.ContentHash).Append('\n');
        }
        return ContentHash.Of(Encoding.UTF8.GetBytes(text.ToString())).Hex;
    }
}
