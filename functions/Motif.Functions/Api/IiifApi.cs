using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Core.Manifests;
using Motif.Pipeline;
using Motif.Storage.Catalog;

namespace Motif.Functions.Api;

/// <summary>
/// The latest manifest's clusters as IIIF Presentation 3.0 (<see cref="IiifExport"/>), for any IIIF viewer (Mirador,
/// Universal Viewer): <c>GET /api/iiif/collection.json</c>, a Collection with one Manifest per cluster, and
/// <c>GET /api/iiif/clusters/{id}/manifest.json</c>, one Canvas per member in OPTICS order, painted with the member's
/// derivative from <c>GET /api/derivatives/{contentHash}</c>. 404 before the first publication and for a cluster the
/// latest manifest does not have; 503 when <see cref="MotifFunctionsOptions.PublicBaseUrl"/> is not set.
/// </summary>
/// <remarks>
/// <para>This one class serves IIIF everywhere: the Functions host in Azure, and <c>motif serve</c> and <c>motif dev</c>,
/// which map it through <c>HttpFunctionRoutes</c>. In Azure it is the only way out for IIIF: the storage account keeps
/// <c>allowBlobPublicAccess</c> false, so viewers read the documents and images through the API, never from blobs.</para>
/// <para>Every response, errors included, carries <c>Access-Control-Allow-Origin: *</c> (as do the derivatives): IIIF
/// viewers run on other origins and must read both. Only these routes and the derivatives are open that way; the rest of
/// the API stays same-origin. The ids are absolute, built from the configured public root, never from the request's
/// Host header, which the client chooses. The media type is JSON-LD with the Presentation 3 context as its profile
/// (Presentation API 3.0, §6 "HTTP Requests and Responses").</para>
/// </remarks>
public sealed class IiifApi(ReclusterService recluster, IImageCatalog catalog, MotifFunctionsOptions options)
{
    /// <summary>The media type of IIIF Presentation 3 documents (Presentation API 3.0, §6.1).</summary>
    public const string MediaType = "application/ld+json;profile=\"" + IiifExport.Context + "\"";

    /// <summary>Where the documents live, under the app's public root: the routes of this class.</summary>
    public const string RoutePrefix = "api/iiif/";

    [Function("GetIiifCollection")]
    public async Task<IActionResult> GetCollectionAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "iiif/collection.json")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        AllowAnyOrigin(request);
        if (options.PublicBaseUrl is not { } root)
        {
            return NoPublicBaseUrl();
        }
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            return Problems.NotFound("No manifest has been published yet.");
        }
        return Document(IiifExport.Collection(latest.Manifest, new Uri(root, RoutePrefix)).ToJsonString());
    }

    [Function("GetIiifManifest")]
    public async Task<IActionResult> GetManifestAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "iiif/clusters/{id}/manifest.json")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        AllowAnyOrigin(request);
        if (options.PublicBaseUrl is not { } root)
        {
            return NoPublicBaseUrl();
        }
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
        // The id is the client's: it is only ever compared with the manifest's own ids, and what is written back is theirs.
        var cluster = latest?.Manifest.Clusters.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));
        if (cluster is null)
        {
            return Problems.NotFound("No such cluster in the latest manifest.");
        }
        // One point read per member, as the cluster API does: a cluster is small next to the catalog.
        var images = new Dictionary<string, IiifImage>(StringComparer.Ordinal);
        foreach (var member in cluster.Members)
        {
            var record = await catalog.GetImageAsync(member.ImageId, cancellationToken).ConfigureAwait(false);
            if (record is not { Status: ImageStatus.Accepted, ContentHash: { } hash, Width: > 0, Height: > 0 })
            {
                // Publication only clusters accepted images, so this is a catalog changed under a published run.
                return Problems.Create(StatusCodes.Status503ServiceUnavailable, "Catalog changed",
                    "A member of this cluster is no longer an accepted image; the next reclustering publishes a consistent run.");
            }
            var (width, height) = DerivativeSize(record.Width, record.Height);
            images[member.ImageId] = new IiifImage(new Uri(root, $"api/derivatives/{hash}"), "image/jpeg", width, height);
        }
        return Document(IiifExport.Manifest(latest!.Manifest, cluster.Id, new Uri(root, RoutePrefix), imageId => images[imageId]).ToJsonString());
    }

    /// <summary>
    /// The size of the derivative intake stores for an original of <paramref name="width"/>×<paramref name="height"/>:
    /// scaled, never enlarged, to fit <see cref="IngestOptions.DefaultDerivativeSide"/>, the side the Functions app
    /// ingests at. A Canvas must state the image's size (§3.4), and reading each JPEG's header would cost a GET per member.
    /// </summary>
    internal static (int Width, int Height) DerivativeSize(int width, int height)
    {
        var scale = Math.Min(1.0, IngestOptions.DefaultDerivativeSide / (double)Math.Max(width, height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }

    /// <summary>The CORS header IIIF viewers need (on errors too, so that a viewer can say why).</summary>
    internal static void AllowAnyOrigin(HttpRequest request) => request.HttpContext.Response.Headers.AccessControlAllowOrigin = "*";

    private static ContentResult Document(string json) =>
        new() { Content = json, ContentType = MediaType, StatusCode = StatusCodes.Status200OK };

    private static ObjectResult NoPublicBaseUrl() => Problems.Create(StatusCodes.Status503ServiceUnavailable, "Not configured",
        "IIIF documents need the app's public root: set Motif__PublicBaseUrl (main.bicep sets it).");
}
