using System.Text;
using Motif.Core.Layout;
using Motif.Core.Manifests;
using Motif.Storage.Blobs;

namespace Motif.Pipeline;

/// <summary>A published manifest and the ETag of manifests/latest.json it was read or written at.</summary>
public sealed record PublishedManifest(ClusterManifest Manifest, string ETag);

/// <summary>manifests/latest.json changed after the new run was computed from it: recluster against the new latest.</summary>
public sealed class ManifestPublishConflictException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Publishes cluster manifests through the blob port so that readers only ever see whole runs:
/// <list type="number">
/// <item>the run's files go to <c>manifests/runs/{runId}/</c>, create-only (a run never changes once written): the
/// manifest, its CSV and, when there are, its map (<see cref="CollectionMap"/>, <c>map.json</c>) and its whole
/// reachability plot (<see cref="ReachabilityPlot"/>, <c>reachability.json</c>);</item>
/// <item><c>manifests/latest.json</c> is then replaced only if it is still the version the run was computed from
/// (If-Match on its ETag; create-only for the first run).</item>
/// </list>
/// A crash between the two leaves latest.json on the previous run, still whole and valid; the orphaned run folder
/// is harmless. Two reclusterings that started from the same latest cannot both publish: the second gets
/// <see cref="ManifestPublishConflictException"/>, and since stable cluster ids are inherited from the previous
/// manifest, it must recompute against the new one rather than overwrite it.
/// </summary>
public sealed class ManifestPublisher(IBlobStore store)
{
    public const string LatestName = "manifests/latest.json";

    /// <summary>The folder of a run's files. The run id is validated with the blob name (no "..", no control characters).</summary>
    public static string RunFolder(string runId) => $"manifests/runs/{runId}/";

    /// <summary>The current manifest and its ETag, or null before the first publication.</summary>
    public async Task<PublishedManifest?> ReadLatestAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var download = await store.GetAsync(LatestName, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(download.Content, Encoding.UTF8);
            var json = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            return new PublishedManifest(ClusterManifest.FromJson(json), download.Properties.ETag);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
    }

    /// <summary>The name of a run's map.</summary>
    public static string MapName(string runId) => RunFolder(runId) + "map.json";

    /// <summary>The map published with <paramref name="runId"/>, or null when that run has none (published before maps
    /// were, or its map is damaged: the next run then lays every image out afresh).</summary>
    public async Task<CollectionMap?> ReadMapAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        try
        {
            using var download = await store.GetAsync(MapName(runId), cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(download.Content, Encoding.UTF8);
            return CollectionMap.FromJson(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The name of a run's whole reachability plot.</summary>
    public static string ReachabilityName(string runId) => RunFolder(runId) + "reachability.json";

    /// <inheritdoc cref="PublishAsync(ClusterManifest, PublishedManifest?, CollectionMap?, ReachabilityPlot?, CancellationToken)"/>
    public Task<PublishedManifest> PublishAsync(ClusterManifest manifest, PublishedManifest? basedOn, CancellationToken cancellationToken = default) =>
        PublishAsync(manifest, basedOn, map: null, reachability: null, cancellationToken);

    /// <summary>Publishes <paramref name="manifest"/>, computed against <paramref name="basedOn"/> (what
    /// <see cref="ReadLatestAsync"/> returned; null for the first run), with its <paramref name="map"/> and its
    /// <paramref name="reachability"/> plot when given: both are written before latest.json moves, so a reader that
    /// finds a run finds them.</summary>
    /// <exception cref="ManifestPublishConflictException">Another run was published after <paramref name="basedOn"/> was read.</exception>
    public async Task<PublishedManifest> PublishAsync(ClusterManifest manifest, PublishedManifest? basedOn, CollectionMap? map,
        ReachabilityPlot? reachability, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (map is not null && !string.Equals(map.RunId, manifest.RunId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The map is of run {map.RunId}, not {manifest.RunId}.", nameof(map));
        }
        if (reachability is not null && !string.Equals(reachability.RunId, manifest.RunId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The reachability plot is of run {reachability.RunId}, not {manifest.RunId}.", nameof(reachability));
        }
        var json = manifest.ToJson();
        var folder = RunFolder(manifest.RunId);
        await PutAsync(folder + "manifest.json", json, "application/json", BlobConditions.CreateOnly, cancellationToken).ConfigureAwait(false);
        await PutAsync(folder + "clusters.csv", manifest.ToCsv(), "text/csv", BlobConditions.CreateOnly, cancellationToken).ConfigureAwait(false);
        if (map is not null)
        {
            await PutAsync(MapName(manifest.RunId), map.ToJson(), "application/json", BlobConditions.CreateOnly, cancellationToken).ConfigureAwait(false);
        }
        if (reachability is not null)
        {
            await PutAsync(ReachabilityName(manifest.RunId), reachability.ToJson(), "application/json", BlobConditions.CreateOnly, cancellationToken).ConfigureAwait(false);
        }

        var swap = basedOn is null ? BlobConditions.CreateOnly : BlobConditions.Matching(basedOn.ETag);
        try
        {
            var latest = await PutAsync(LatestName, json, "application/json", swap, cancellationToken).ConfigureAwait(false);
            return new PublishedManifest(manifest, latest.ETag);
        }
        catch (BlobStoreException e) when (e.IsConditionFailure)
        {
            throw new ManifestPublishConflictException(
                $"{LatestName} changed after run {manifest.RunId} was computed from {basedOn?.Manifest.RunId ?? "no previous run"}; " +
                $"recluster against the new latest (run {manifest.RunId} stays in {folder}, unpublished).", e);
        }
    }

    private Task<BlobProperties> PutAsync(string name, string text, string contentType, BlobConditions conditions, CancellationToken cancellationToken)
    {
        var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
        return store.PutAsync(name, content, new BlobPutOptions { ContentType = contentType, Conditions = conditions }, cancellationToken);
    }
}
