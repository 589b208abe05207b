using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Functions.Api;

/// <summary>
/// The files Recluster publishes beside the latest run's manifest, byte for byte, with the run's id in
/// <c>X-Motif-Run</c>:
/// <list type="bullet">
/// <item><c>GET /api/map</c>: <c>map.json</c> (<see cref="Core.Layout.CollectionMap"/>: parallel columns of ids, x, y,
/// cluster index and content prefix; about 5–8 MB at 100,000 images with 20–40-character ids).</item>
/// <item><c>GET /api/reachability</c>: <c>reachability.json</c> (<see cref="Core.Manifests.ReachabilityPlot"/>: every
/// image in OPTICS order, noise included, with its reachability, null where it was reached first; its cluster index;
/// the radius; about 12–16 bytes a point plus the id).</item>
/// </list>
/// Both are streamed from storage, never parsed here, so a 100,000-image file costs the function no more memory than a
/// buffer. A run's files never change, so they may be cached by run: the ETag is the stored blob's. 404 before the
/// first publication, or when the latest run was published before the file existed (the next run with new input
/// writes it).
/// </summary>
public sealed class RunFilesApi(ReclusterService recluster, IBlobStore blobs)
{
    [Function("GetMap")]
    public Task<IActionResult> GetMapAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "map")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StreamAsync(request, ManifestPublisher.MapName, "map", cancellationToken);

    [Function("GetReachability")]
    public Task<IActionResult> GetReachabilityAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reachability")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StreamAsync(request, ManifestPublisher.ReachabilityName, "reachability plot", cancellationToken);

    private async Task<IActionResult> StreamAsync(HttpRequest request, Func<string, string> blobName, string what, CancellationToken cancellationToken)
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
            download = await blobs.GetAsync(blobName(latest.Manifest.RunId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return Problems.NotFound($"The latest run has no {what}; the next reclustering of new images writes one.");
        }
        request.HttpContext.Response.RegisterForDisposeAsync(download);
        request.HttpContext.Response.Headers.ETag = download.Properties.ETag;
        request.HttpContext.Response.Headers["X-Motif-Run"] = latest.Manifest.RunId;
        return new FileStreamResult(download.Content, "application/json; charset=utf-8");
    }
}
