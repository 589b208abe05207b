using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Core.Manifests;
using Motif.Core.Metadata;
using Motif.Pipeline;
using Motif.Storage.Catalog;

namespace Motif.Functions.Api;

/// <summary>
/// The latest published manifest: <c>GET /api/clusters</c>, byte for byte the document in manifests/latest.json (its
/// schema is core/Motif.Core/Manifests/cluster-manifest.schema.json), with its ETag; <c>GET /api/clusters/{id}</c>, one
/// cluster of it with what a page shows (<see cref="ClusterResponse"/>); <c>GET /api/gallery</c>, every cluster as a
/// card, and the images in no cluster (<see cref="GalleryResponse"/>). 404 before the first publication. Members carry
/// the museums' metadata (<see cref="MetadataStore"/>) and clusters their change since the previous run, as published
/// with the manifest (<see cref="ClusterManifest.PreviousRunId"/>).
/// </summary>
public sealed class ClustersApi(ReclusterService recluster, IImageCatalog catalog, MetadataStore metadata)
{
    /// <summary>How many members a gallery card shows.</summary>
    public const int PreviewsPerCluster = 4;

    [Function("GetClusters")]
    public async Task<IActionResult> GetClustersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "clusters")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            return NotPublished();
        }
        request.HttpContext.Response.Headers.ETag = latest.ETag;
        return new ContentResult { Content = latest.Manifest.ToJson(), ContentType = "application/json; charset=utf-8", StatusCode = StatusCodes.Status200OK };
    }

    [Function("GetCluster")]
    public async Task<IActionResult> GetClusterAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "clusters/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        var cluster = latest?.Manifest.Clusters.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));
        if (cluster is null)
        {
            return Problems.NotFound("No such cluster in the latest manifest.");
        }
        var described = await metadata.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var members = new List<ClusterMemberResponse>(cluster.Members.Count);
        // In OPTICS order, as the manifest promises and the reachability plot needs; sorted anyway, so that the plot
        // never depends on how a writer happened to list them.
        foreach (var member in cluster.Members.OrderBy(m => m.Order))
        {
            // One point read per member: a cluster is small next to the catalog, which a listing would read whole.
            var record = await catalog.GetImageAsync(member.ImageId, cancellationToken).ConfigureAwait(false);
            var hash = Accepted(record);
            members.Add(new ClusterMemberResponse(member.ImageId, ApiIds.Encode(member.ImageId), member.Order, member.Reachability, member.CoreDistance,
                record?.Format, record?.Width, record?.Height, record?.ByteLength,
                hash is null ? null : $"/api/thumbnails/{hash}", hash is null ? null : $"/api/derivatives/{hash}", described.GetValueOrDefault(member.ImageId)));
        }
        return new OkObjectResult(new ClusterResponse(cluster.Id, cluster.Size, cluster.Medoid, latest!.Manifest.RunId, RadiusOf(latest.Manifest.Parameters), members,
            ChangeResponse.Of(cluster.Change), latest.Manifest.PreviousRunId));
    }

    [Function("GetGallery")]
    public async Task<IActionResult> GetGalleryAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "gallery")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            return NotPublished();
        }
        var manifest = latest.Manifest;
        // One listing for every card, rather than a point read per preview.
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in await catalog.ListImagesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Accepted(record) is { } hash)
            {
                hashes[record.ImageId] = hash;
            }
        }
        var described = await metadata.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> Distinct(ManifestCluster c, Func<ImageMetadata, IEnumerable<string?>> fields) =>
            [.. c.Members.SelectMany(m => described.TryGetValue(m.ImageId, out var d) ? fields(d) : []).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        GalleryImage Image(string id) => new(id, ApiIds.Encode(id), hashes.TryGetValue(id, out var hash) ? $"/api/thumbnails/{hash}" : null);
        var clusters = manifest.Clusters
            .OrderByDescending(c => c.Size).ThenBy(c => c.Id.Length).ThenBy(c => c.Id, StringComparer.Ordinal)
            .Select(c => new GalleryCluster(c.Id, c.Size, c.Medoid,
                [.. new[] { c.Medoid }.Concat(c.Members.OrderBy(m => m.Order).Select(m => m.ImageId).Where(m => m != c.Medoid)).Take(PreviewsPerCluster).Select(Image)],
                [.. c.Members.Select(m => m.ImageId)],
                ChangeResponse.Of(c.Change),
                Distinct(c, d => [d.Collection]),
                Distinct(c, d => [d.Title, d.Artist])))
            .ToArray();
        var unclustered = manifest.Images.Where(i => i.ClusterId is null).Select(i => Image(i.ImageId)).ToArray();
        var collections = manifest.Images.Select(i => described.GetValueOrDefault(i.ImageId)?.Collection).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new OkObjectResult(new GalleryResponse(manifest.RunId, manifest.CreatedAt, manifest.ModelVersion, manifest.Counts.Images, manifest.Counts.Noise, clusters, unclustered,
            manifest.PreviousRunId, collections));
    }

    /// <summary>The radius a reachability plot draws: the DBSCAN cut when there is one, else the graph's max_eps.</summary>
    internal static double? RadiusOf(ClusteringParameters parameters) =>
        parameters.Extraction == Extraction.Dbscan && parameters.Eps is { } eps ? eps : parameters.MaxEps;

    private static string? Accepted(ImageRecord? record) =>
        record is { Status: ImageStatus.Accepted, ContentHash: { } hash } ? hash : null;

    private static ObjectResult NotPublished() => Problems.NotFound("No manifest has been published yet.");
}
