using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Motif.Core.Manifests;
using Motif.Pipeline;
using Motif.Storage;

namespace Motif.Cli;

/// <summary>
/// <c>motif serve</c>'s web app over a workspace, on the loopback interface only: a page listing the clusters of
/// the latest manifest with thumbnails, a page of nearest neighbours per image, the manifest itself (JSON, CSV),
/// the IIIF Presentation 3.0 collection and one IIIF manifest per cluster, and the derivatives they point at.
/// </summary>
/// <remarks>
/// Image ids are uploaded names, i.e. hostile: they are HTML-encoded in pages, URL-encoded in links and never used to
/// find a file (images are served by content hash, checked to be 64 hex digits). Pages send a restrictive
/// Content-Security-Policy (no scripts at all, no framing) and nosniff.
/// The Host header is hostile too. Binding loopback does not stop DNS rebinding: a page of the attacker's site, whose
/// name then resolves to 127.0.0.1, reads the collection from the user's browser under the attacker's Host. So only
/// requests naming a loopback name (with the bound port, or none) are answered, and absolute URLs (IIIF ids) are built
/// from the address the server is bound to, never from the request.
/// </remarks>
internal static class Viewer
{
    public static WebApplication Build(Workspace workspace, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var signatures = new LatestSignatures(workspace);
        app.Use(async (context, next) =>
        {
            // First, so that every response carries them, refusals included.
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            context.Response.Headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'";
            context.Response.Headers["X-Frame-Options"] = "DENY";
            await next(context);
        });
        app.Use((context, next) => IsLoopbackHost(context.Request.Host, context.Connection.LocalPort) ? next(context) : RefuseHostAsync(context));

        // Handlers take HttpRequest/CancellationToken, never HttpContext alone: a lambda whose only parameter is
        // HttpContext binds as a RequestDelegate, and the IResult it returns is silently dropped.
        app.MapGet("/", async (CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            var hashes = await HashesAsync(workspace, cancellationToken);
            return Results.Content(ClustersPage(latest?.Manifest, hashes), "text/html; charset=utf-8");
        });
        app.MapGet("/search", async (string image, int? k, CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            if (latest is null)
            {
                return Results.NotFound();
            }
            var set = await signatures.GetAsync(latest, cancellationToken);
            IReadOnlyList<SearchHit> hits;
            try
            {
                hits = new SearchService(set).Nearest(image, Math.Clamp(k ?? 24, 1, 200));
            }
            catch (KeyNotFoundException)
            {
                return Results.NotFound();
            }
            var hashes = set.Images.ToDictionary(i => i.ImageId, i => i.ContentHash!, StringComparer.Ordinal);
            return Results.Content(SearchPage(image, [.. hits.Select(h => (h.ImageId, h.Distance))], hashes), "text/html; charset=utf-8");
        });
        app.MapGet("/manifest.json", (CancellationToken cancellationToken) => BlobAsync(workspace.Blobs, ManifestPublisher.LatestName, "application/json", cancellationToken));
        app.MapGet("/clusters.csv", async (CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            return latest is null ? Results.NotFound() : Results.Text(latest.Manifest.ToCsv(), "text/csv; charset=utf-8");
        });
        app.MapGet("/thumbnails/{hash}.jpg", async (string hash, CancellationToken cancellationToken) =>
            CollectionBlobs.IsContentHash(hash) ? await BlobAsync(workspace.Blobs, CollectionBlobs.Thumbnail(hash), "image/jpeg", cancellationToken) : Results.NotFound());
        app.MapGet("/images/{hash}.jpg", async (string hash, CancellationToken cancellationToken) =>
            CollectionBlobs.IsContentHash(hash) ? await BlobAsync(workspace.Blobs, CollectionBlobs.Derivative(hash), "image/jpeg", cancellationToken) : Results.NotFound());
        app.MapGet("/iiif/collection.json", async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            return latest is null ? Results.NotFound() : Results.Text(IiifExport.Collection(latest.Manifest, new Uri(Root(request), "iiif/")).ToJsonString(), "application/ld+json");
        });
        app.MapGet("/iiif/clusters/{id}/manifest.json", async (string id, HttpRequest request, CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            if (latest is null || latest.Manifest.Clusters.All(c => c.Id != id))
            {
                return Results.NotFound();
            }
            var images = (await workspace.Catalog.ListImagesAsync(cancellationToken)).ToDictionary(i => i.ImageId, StringComparer.Ordinal);
            var root = Root(request);
            var document = IiifExport.Manifest(latest.Manifest, id, new Uri(root, "iiif/"), imageId =>
            {
                var record = images[imageId];
                // The derivative is the original scaled (never enlarged) to fit the derivative side.
                var scale = Math.Min(1.0, IngestOptions.DefaultDerivativeSide / (double)Math.Max(record.Width, record.Height));
                return new IiifImage(new Uri(root, $"images/{record.ContentHash}.jpg"), "image/jpeg",
                    Math.Max(1, (int)Math.Round(record.Width * scale)), Math.Max(1, (int)Math.Round(record.Height * scale)));
            });
            return Results.Text(document.ToJsonString(), "application/ld+json");
        });
        return app;
    }

    /// <summary>
    /// The signatures behind the latest manifest, read once per published manifest rather than once per search:
    /// every shard of the collection would otherwise be read for each page.
    /// </summary>
    private sealed class LatestSignatures(Workspace workspace)
    {
        private Entry? _cached;

        public async Task<SignatureSet> GetAsync(PublishedManifest latest, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _cached) is { } cached && cached.ETag == latest.ETag)
            {
                return cached.Set;
            }
            var set = await SignatureSet.LoadAsync(workspace.Blobs, workspace.Catalog, latest.Manifest.ModelVersion, cancellationToken);
            Volatile.Write(ref _cached, new Entry(latest.ETag, set));
            return set;
        }

        private sealed record Entry(string ETag, SignatureSet Set);
    }

    /// <summary>The Host names answered: loopback names, compared case-insensitively as DNS names are.</summary>
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>
    /// Whether <paramref name="host"/> is exactly a loopback name, alone or with <paramref name="port"/>, the port the
    /// request came in on. An allow-list of whole values: nothing is parsed, so an over-long, malformed or empty Host
    /// (HTTP/1.0 sends none) simply fails to match.
    /// </summary>
    private static bool IsLoopbackHost(HostString host, int port)
    {
        var value = host.Value ?? string.Empty;
        var withPort = string.Create(System.Globalization.CultureInfo.InvariantCulture, $":{port}");
        return LoopbackHosts.Any(name => value.Equals(name, StringComparison.OrdinalIgnoreCase)
            || value.Equals(name + withPort, StringComparison.OrdinalIgnoreCase));
    }

    private static Task RefuseHostAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("Refused: the Host header must name this machine's loopback address (localhost, 127.0.0.1 or [::1]) and port.\n");
    }

    /// <summary>
    /// The server's own address, the root of every absolute URL it writes: the loopback address and port it is bound
    /// to (the port the request came in on; Kestrel listens on <see cref="IPAddress.Loopback"/> alone), never the request's Host.
    /// </summary>
    private static Uri Root(HttpRequest request) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://{IPAddress.Loopback}:{request.HttpContext.Connection.LocalPort}/"));

    private static async Task<Dictionary<string, string>> HashesAsync(Workspace workspace, CancellationToken cancellationToken) =>
        (await workspace.Catalog.ListImagesAsync(cancellationToken)).Where(i => i.ContentHash is not null)
            .ToDictionary(i => i.ImageId, i => i.ContentHash!, StringComparer.Ordinal);

    private static async Task<IResult> BlobAsync(IBlobStore blobs, string name, string contentType, CancellationToken cancellationToken)
    {
        try
        {
            // Buffered: derivatives and manifests are small, and a byte array gives the response its Content-Length.
            var (content, properties) = await blobs.ReadAllAsync(name, cancellationToken);
            return Results.Bytes(content, contentType, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue(properties.ETag));
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return Results.NotFound();
        }
    }

    internal static string ClustersPage(ClusterManifest? manifest, IReadOnlyDictionary<string, string> hashes)
    {
        var html = Page("Motif clusters");
        if (manifest is null)
        {
            html.Append("<p>No manifest has been published yet: run <code>motif run &lt;folder&gt;</code> first.</p>");
            return html.Append("</body></html>").ToString();
        }
        html.Append($"<p>Run <b>{E(manifest.RunId)}</b> of {manifest.CreatedAt:u}, model {E(manifest.ModelVersion)}: ")
            .Append($"<b>{manifest.Counts.Clusters}</b> clusters over {manifest.Counts.Images} images, {manifest.Counts.Noise} unclustered. ")
            .Append("<a href=\"/manifest.json\">manifest.json</a> · <a href=\"/clusters.csv\">clusters.csv</a> · <a href=\"/iiif/collection.json\">IIIF collection</a></p>");
        foreach (var cluster in manifest.Clusters.OrderByDescending(c => c.Size).ThenBy(c => c.Id, StringComparer.Ordinal))
        {
            html.Append($"<section><h2>{E(cluster.Id)} <small>{cluster.Size} images · <a href=\"/iiif/clusters/{Uri.EscapeDataString(cluster.Id)}/manifest.json\">IIIF</a></small></h2><div class=\"grid\">");
            foreach (var member in cluster.Members)
            {
                Card(html, member.ImageId, hashes, member.ImageId == cluster.Medoid ? "medoid" : null);
            }
            html.Append("</div></section>");
        }
        var noise = manifest.Images.Where(i => i.ClusterId is null).ToArray();
        html.Append($"<details><summary>{noise.Length} images in no cluster</summary><div class=\"grid\">");
        foreach (var image in noise)
        {
            Card(html, image.ImageId, hashes, null);
        }
        return html.Append("</div></details></body></html>").ToString();
    }

    internal static string SearchPage(string query, IReadOnlyList<(string ImageId, double Distance)> hits, IReadOnlyDictionary<string, string> hashes)
    {
        var html = Page("Motif: nearest images");
        html.Append("<p><a href=\"/\">← clusters</a></p><h2>Nearest to</h2><div class=\"grid\">");
        Card(html, query, hashes, null);
        html.Append("</div><h2>By cosine distance</h2><div class=\"grid\">");
        foreach (var (imageId, distance) in hits)
        {
            Card(html, imageId, hashes, distance.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
        }
        return html.Append("</div></body></html>").ToString();
    }

    private static StringBuilder Page(string title) => new StringBuilder()
        .Append($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{E(title)}</title><style>")
        .Append("body{font-family:system-ui,sans-serif;margin:1.5rem;background:#fafafa}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}small{color:#666;font-weight:normal}")
        .Append(".grid{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0;width:160px;background:#fff;border:1px solid #ddd;padding:4px}")
        .Append("figure img{width:160px;height:160px;object-fit:contain;background:#eee}figcaption{font-size:.72rem;word-break:break-all}")
        .Append($"</style></head><body><h1>{E(title)}</h1>");

    private static void Card(StringBuilder html, string imageId, IReadOnlyDictionary<string, string> hashes, string? note)
    {
        var image = hashes.TryGetValue(imageId, out var hash) ? $"<img src=\"/thumbnails/{hash}.jpg\" alt=\"{E(imageId)}\" loading=\"lazy\">" : string.Empty;
        html.Append($"<figure><a href=\"/search?image={Uri.EscapeDataString(imageId)}\">{image}</a><figcaption>{E(imageId)}{(note is null ? "" : $" <b>{E(note)}</b>")}</figcaption></figure>");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
