using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Pipeline;

namespace Motif.Functions.Api;

/// <summary>
/// <c>GET /api/clusters</c>: the latest published manifest, byte for byte the document in manifests/latest.json (its
/// schema is core/Motif.Core/Manifests/cluster-manifest.schema.json), with its ETag; <c>GET /api/clusters/{id}</c>:
/// one cluster of it. 404 before the first publication.
/// </summary>
public sealed class ClustersApi(ReclusterService recluster)
{
    [Function("GetClusters")]
    public async Task<IActionResult> GetClustersAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "clusters")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            return Problems.NotFound("No manifest has been published yet.");
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
        return cluster is null
            ? Problems.NotFound("No such cluster in the latest manifest.")
            : new OkObjectResult(cluster);
    }
}
