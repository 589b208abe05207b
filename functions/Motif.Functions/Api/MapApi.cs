using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Functions.Api;

/// <summary>
/// <c>GET /api/map</c>: the latest run's map, byte for byte the <c>map.json</c> Recluster published beside the
/// manifest (<see cref="Core.Layout.CollectionMap"/>: parallel columns of ids, x, y, cluster index and content prefix),
/// with the run's id in <c>X-Motif-Run</c>. It is streamed from storage, never parsed here, so a 100,000-image map
/// (about 5–8 MB with 20–40-character ids; the bound is linear in the number of clustered images, the only input)
/// costs the function no more memory than a buffer. A run's map never changes, so it may be cached by run: the ETag
/// is the stored blob's. 404 before the first publication, or when the latest run was published without a map (before
/// maps existed: the next run with new input writes one).
/// </summary>
public sealed class MapApi(ReclusterService recluster, IBlobStore blobs)
{
    [Function("GetMap")]
    public async Task<IActionResult> GetMapAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "map")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            return Problems.NotFound("No manifest has been published yet.");
        }
        BlobDownload download;
        try
        {
            download = await blobs.GetAsync(ManifestPublisher.MapName(latest.Manifest.RunId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return Problems.NotFound("The latest run has no map; the next reclustering of new images writes one.");
        }
        request.HttpContext.Response.RegisterForDisposeAsync(download);
        request.HttpContext.Response.Headers.ETag = download.Properties.ETag;
        request.HttpContext.Response.Headers["X-Motif-Run"] = latest.Manifest.RunId;
        return new FileStreamResult(download.Content, "application/json; charset=utf-8");
    }
}
