using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
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
/// <see cref="HttpFunctionRoutes"/> as under <c>motif dev</c>, on the workspace's composition, IIIF included
/// (<c>/api/iiif/…</c>, <see cref="IiifApi"/>) — plus the manifest itself (JSON, CSV).
/// </summary>
/// <remarks>
/// Image ids are uploaded names, i.e. hostile: the app builds its DOM with text nodes, never markup, and images are
/// served by content hash, checked to be 64 hex digits, never by name. Every response carries a Content-Security-Policy
/// that allows only this origin's own scripts, styles and images (no inline script or style, no framing) and nosniff.
/// The Host header is hostile too. Binding loopback does not stop DNS rebinding: a page of the attacker's site, whose
/// name then resolves to 127.0.0.1, reads the collection from the user's browser under the attacker's Host. So only
/// requests naming a loopback name (with the bound port, or none) are answered, and absolute URLs (IIIF ids) are built
/// from the address the server is bound to (<see cref="Root"/>, the Functions app's <c>PublicBaseUrl</c>), never from
/// the request. Requests other than reads from another origin's page are refused (403), so a site the curator visits
/// cannot annotate, or search, as the local user.
/// The IIIF routes, and the derivatives they point at, answer GET to any origin (CORS <c>*</c>, set by the functions
/// themselves, as in Azure): IIIF viewers run on other origins and must read them. That makes the collection's images
/// and cluster lists readable by any page the curator opens while serving; the rest of the API stays same-origin.
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
    /// The server's own address, the root of every absolute URL it writes (the Functions app's
    /// <see cref="MotifFunctionsOptions.PublicBaseUrl"/>): the loopback address Kestrel listens on alone, and
    /// <paramref name="port"/>, never the request's Host.
    /// </summary>
    public static Uri Root(int port) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"http://{IPAddress.Loopback}:{port}/"));

    /// <summary>
    /// <paramref name="requested"/>, or for 0 a port free now: the absolute URLs the app writes name its port, so the port
    /// is chosen before the composition is. Should another process take it in between, binding fails and
    /// <c>motif serve</c> says so, as for any port in use.
    /// </summary>
    public static int ChoosePort(int requested)
    {
        if (requested != 0)
        {
            return requested;
        }
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
