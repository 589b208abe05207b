using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Functions.Api;

/// <summary>
/// Images by key (<see cref="ApiIds"/>): <c>GET /api/images/{key}</c> (catalog record, cluster, links),
/// <c>GET /api/images/{key}/neighbours?k=20</c> (from the stored neighbour graph, as of its last update), and the
/// content-addressed JPEGs <c>GET /api/derivatives/{contentHash}</c> and <c>GET /api/thumbnails/{contentHash}</c>
/// (immutable, so cached for a year). Derivatives are what IIIF manifests paint (<see cref="IiifApi"/>), so they answer
/// any origin (<c>Access-Control-Allow-Origin: *</c>).
/// </summary>
public sealed class ImagesApi(IImageCatalog catalog, IBlobStore blobs, ReclusterService recluster, NeighbourGraphStore graphs, MetadataStore metadata, MotifPipelineOptions options)
{
    public const int MaxNeighbours = 200;

    [Function("GetImage")]
    public async Task<IActionResult> GetImageAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "images/{key}")] HttpRequest request,
        string key,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiIds.Decode(key) is not { } id)
        {
            return Problems.BadKey();
        }
        var record = await catalog.GetImageAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return Problems.NotFound("No such image in the catalog.");
        }
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        var clusterId = latest?.Manifest.Images.FirstOrDefault(i => string.Equals(i.ImageId, id, StringComparison.Ordinal))?.ClusterId;
        var accepted = record.Status == ImageStatus.Accepted && record.ContentHash is not null;
        var links = new ImageLinks(
            $"/api/images/{key}",
            $"/api/images/{key}/neighbours",
            accepted ? $"/api/derivatives/{record.ContentHash}" : null,
            accepted ? $"/api/thumbnails/{record.ContentHash}" : null);
        return new OkObjectResult(new ImageResponse(id, key, accepted ? "accepted" : "rejected", record.ReasonCode, record.Message, record.Format,
            record.Width, record.Height, record.ByteLength, record.ContentHash, record.UpdatedAt, clusterId, links,
            (await metadata.ReadAllAsync(cancellationToken).ConfigureAwait(false)).GetValueOrDefault(id)));
    }

    [Function("GetImageNeighbours")]
    public async Task<IActionResult> GetNeighboursAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "images/{key}/neighbours")] HttpRequest request,
        string key,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiIds.Decode(key) is not { } id)
        {
            return Problems.BadKey();
        }
        if (Problems.Count(request, "k", 20, MaxNeighbours, out var problem) is not { } k)
        {
            return problem!;
        }
        var record = await catalog.GetImageAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is not { Status: ImageStatus.Accepted, ContentHash: { } hash })
        {
            return Problems.NotFound("No such accepted image in the catalog.");
        }
        var radius = NeighbourGraphStore.RadiusOf(options.Clustering);
        var stored = await graphs.ReadAsync(options.ModelVersion, radius, cancellationToken).ConfigureAwait(false);
        var row = stored is null ? -1 : IndexOf(stored.Rows, new GraphRow(id, hash));
        if (row < 0)
        {
            return Problems.NotFound("The image is not in the neighbour graph yet: it is waiting for its signature, or for the next graph update.");
        }
        var neighbours = stored!.Graph.NeighboursOf(row);
        var distances = stored.Graph.DistancesOf(row);
        var result = new List<NeighbourResponse>(Math.Min(k, neighbours.Length));
        for (var i = 0; i < neighbours.Length && result.Count < k; i++)
        {
            var other = stored.Rows[neighbours[i]];
            var otherKey = ApiIds.Encode(other.ImageId);
            result.Add(new NeighbourResponse(other.ImageId, otherKey, distances[i], $"/api/images/{otherKey}", $"/api/thumbnails/{other.ContentHash}"));
        }
        return new OkObjectResult(new NeighboursResponse(id, key, options.ModelVersion, double.IsFinite(radius) ? radius : null, result));
    }

    [Function("GetDerivative")]
    public Task<IActionResult> GetDerivativeAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "derivatives/{contentHash}")] HttpRequest request,
        string contentHash,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The images IIIF manifests paint (IiifApi): viewers on other origins must read them. Content-addressed JPEGs of
        // the collection, nothing a catalog record would add; thumbnails and the rest of the API stay same-origin.
        IiifApi.AllowAnyOrigin(request);
        return JpegAsync(request, contentHash, CollectionBlobs.Derivative, cancellationToken);
    }

    [Function("GetThumbnail")]
    public Task<IActionResult> GetThumbnailAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "thumbnails/{contentHash}")] HttpRequest request,
        string contentHash,
        CancellationToken cancellationToken) =>
        JpegAsync(request, contentHash, CollectionBlobs.Thumbnail, cancellationToken);

    private async Task<IActionResult> JpegAsync(HttpRequest request, string contentHash, Func<string, string> blobName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (contentHash is null || !CollectionBlobs.IsContentHash(contentHash))
        {
            return Problems.BadRequest("Not a content hash (64 lowercase hex digits).");
        }
        BlobDownload download;
        try
        {
            download = await blobs.GetAsync(blobName(contentHash), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return Problems.NotFound("No such image file.");
        }
        request.HttpContext.Response.RegisterForDisposeAsync(download);
        request.HttpContext.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        return new FileStreamResult(download.Content, "image/jpeg");
    }

    private static int IndexOf(IReadOnlyList<GraphRow> rows, GraphRow row)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] == row)
            {
                return i;
            }
        }
        return -1;
    }
}
