using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Functions.Api;

/// <summary>
/// <c>GET /api/reachability</c>: the latest run's whole reachability plot, byte for byte the <c>reachability.json</c>
/// Recluster published beside the manifest (<see cref="Core.Manifests.ReachabilityPlot"/>: every image in OPTICS order,
/// noise included, with its reachability, null where it was reached first; its cluster index; the radius), with the
/// run's id in <c>X-Motif-Run</c>. Streamed from storage, never parsed here, as <see cref="MapApi"/> streams the map:
/// about 12–16 bytes a point plus the id (~4.5 MB at 100,000 images with 30-character ids) cost the function a buffer.
/// A run's plot never changes, so the ETag is the stored blob's. 404 before the first publication, or when the latest
/// run was published before plots were (the next run with new input writes one).
/// </summary>
public sealed class ReachabilityApi(ReclusterService recluster, IBlobStore blobs)
{
    [Function("GetReachability")]
    public async Task<IActionResult> GetReachabilityAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reachability")] HttpRequest request,
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
            download = await blobs.GetAsync(ManifestPublisher.ReachabilityName(latest.Manifest.RunId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return Problems.NotFound("The latest run has no reachability plot; the next reclustering of new images writes one.");
        }
        request.HttpContext.Response.RegisterForDisposeAsync(download);
        request.HttpContext.Response.Headers.ETag = download.Properties.ETag;
        request.HttpContext.Response.Headers["X-Motif-Run"] = latest.Manifest.RunId;
        return new FileStreamResult(download.Content, "application/json; charset=utf-8");
    }
}
