using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Motif.Core.Manifests;
using Motif.Engine;
using Motif.Functions;
using Motif.Functions.Api;
using Motif.Pipeline;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Cli;

/// <summary>
/// <c>motif serve</c>'s web app over a workspace, on the loopback interface only: the curators' app (web/, static ES
/// modules) over the Functions app's own HTTP API at <c>/api/*</c> — the same function classes, mapped by
/// <see cref="HttpFunctionRoutes"/> as under <c>motif dev</c>, on the workspace's composition — plus the manifest itself
/// (JSON, CSV), the IIIF Presentation 3.0 collection and one IIIF manifest per cluster, and the derivatives they point at.
/// </summary>
/// <remarks>
/// Image ids are uploaded names, i.e. hostile: the app builds its DOM with text nodes, never markup, and images are
/// served by content hash, checked to be 64 hex digits, never by name. Every response carries a Content-Security-Policy
/// that allows only this origin's own scripts, styles and images (no inline script or style, no framing) and nosniff.
/// The Host header is hostile too. Binding loopback does not stop DNS rebinding: a page of the attacker's site, whose
/// name then resolves to 127.0.0.1, reads the collection from the user's browser under the attacker's Host. So only
/// requests naming a loopback name (with the bound port, or none) are answered, and absolute URLs (IIIF ids) are built
/// from the address the server is bound to, never from the request. Requests other than reads from another origin's page
/// are refused (403), so a site the curator visits cannot annotate, or search, as the local user.
/// The IIIF routes, and the derivatives they point at, answer GET to any origin (CORS <c>*</c>): IIIF viewers run on
/// other origins and must read them. That makes the collection's images and cluster lists readable by any page the
/// curator opens while serving; the API, with its search and catalog records, stays same-origin.
/// </remarks>
internal static class Viewer
{
    /// <summary>The policy of every response: this origin's own files only, nothing inline, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Where the build puts web/ (the CLI project copies it beside the executable).</summary>
    public static string WebRoot => Path.Combine(AppContext.BaseDirectory, "web");

    /// <summary>
    /// What the viewer adds to the workspace's composition: the Functions app's classes with <paramref name="options"/>,
    /// with search embedded in this process by <paramref name="model"/> at <paramref name="precision"/>
    /// (<see cref="InProcessSearch"/>). Why a model cannot load is written to <paramref name="error"/>.
    /// </summary>
    public static Action<IServiceCollection> Functions(MotifFunctionsOptions options, string model, Precision precision, TextWriter error) => services =>
    {
        services.AddMotifFunctionClasses(options);
        services.AddSingleton<IQueryImageSearch>(sp => new InProcessSearch(model, precision, sp.GetRequiredService<ReclusterService>(),
            sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), error));
    };

    /// <summary>The app over <paramref name="workspace"/>, opened with <see cref="Functions"/>, on 127.0.0.1:<paramref name="port"/>.</summary>
    public static WebApplication Build(Workspace workspace, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddMvcCore();   // executes the functions' IActionResults, as the ASP.NET Core integration does
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // First, so that every response carries them, refusals included.
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            context.Response.Headers["Content-Security-Policy"] = ContentSecurityPolicy;
            context.Response.Headers["X-Frame-Options"] = "DENY";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            await next(context);
        });
        app.Use((context, next) => IsLoopbackHost(context.Request.Host, context.Connection.LocalPort) ? next(context) : RefuseHostAsync(context));
        app.Use((context, next) => IsSafe(context.Request) ? next(context) : RefuseOriginAsync(context));
        app.Use((context, next) =>
        {
            if (HttpMethods.IsGet(context.Request.Method) && (context.Request.Path.StartsWithSegments("/iiif") || context.Request.Path.StartsWithSegments("/images")))
            {
                context.Response.Headers.AccessControlAllowOrigin = "*";
            }
            return next(context);
        });
        var web = new PhysicalFileProvider(WebRoot);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = web });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = web,
            // The app is a handful of small files: always revalidated, so a new build is never half cached.
            OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
        });

        app.MapHttpFunctions(workspace.Services);

        // Handlers take HttpRequest/CancellationToken, never HttpContext alone: a lambda whose only parameter is
        // HttpContext binds as a RequestDelegate, and the IResult it returns is silently dropped.
        app.MapGet("/manifest.json", (CancellationToken cancellationToken) => BlobAsync(workspace.Blobs, ManifestPublisher.LatestName, "application/json", cancellationToken));
        app.MapGet("/clusters.csv", async (CancellationToken cancellationToken) =>
        {
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            return latest is null ? Results.NotFound() : Results.Text(latest.Manifest.ToCsv(), "text/csv; charset=utf-8");
        });
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

    /// <summary>
    /// Whether a request may change or query anything on the user's behalf: reads (GET, HEAD) always; anything else only
    /// without an <c>Origin</c> (not a browser's cross-origin request: curl, the CLI) or with this server's own origin.
    /// Without it any page the curator opens could POST annotations as the local user: a no-cors POST with no
    /// Content-Type needs no preflight, and its Host is the loopback name, so the Host check alone lets it through.
    /// </summary>
    private static bool IsSafe(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || !request.Headers.TryGetValue("Origin", out var origin))
        {
            return true;
        }
        var withPort = string.Create(System.Globalization.CultureInfo.InvariantCulture, $":{request.HttpContext.Connection.LocalPort}");
        return origin.Count == 1 && LoopbackHosts.Any(name => string.Equals(origin[0], "http://" + name + withPort, StringComparison.OrdinalIgnoreCase));
    }

    private static Task RefuseOriginAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("Refused: only this app's own pages may send requests that change anything (the Origin is another site).\n");
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
}
