using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Motif.Core;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Models;
using Motif.Storage.Catalog;

namespace Motif.Worker;

/// <summary>
/// The worker's HTTP: <c>POST /search</c> (query by uploaded image: the worker holds the model), <c>GET /healthz</c>
/// (the process answers) and <c>GET /readyz</c> (model loaded and storage reachable).
/// </summary>
public static class WorkerEndpoints
{
    /// <summary>The most results one search returns.</summary>
    public const int MaxK = 100;

    private static readonly TimeSpan StorageProbeTimeout = TimeSpan.FromSeconds(5);

    public static void MapWorkerEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" }));
        app.MapGet("/readyz", ReadyAsync);
        app.MapPost("/search", SearchAsync);
    }

    /// <summary>Ready when the model is loaded and a catalog read answers within a few seconds.</summary>
    private static async Task<IResult> ReadyAsync(ISignatureEmbedder embedder, IImageCatalog catalog, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageProbeTimeout);
        try
        {
            await catalog.GetSignatureAsync(embedder.ModelVersion, new string('0', 64), timeout.Token).ConfigureAwait(false);
            return Results.Ok(new { status = "ready", model = embedder.ModelVersion });
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return Results.Json(new { status = "not-ready", reason = $"storage unreachable: {e.Message}" }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>
    /// The body is the image's bytes (any format intake accepts, validated as an upload is, at most
    /// <see cref="WorkerOptions.MaxSearchBytes"/>); <c>k</c> (1 to <see cref="MaxK"/>, default 10) results come back,
    /// nearest first, over the signatures the catalog holds now under the version the registry serves, embedded by that
    /// version's network (<see cref="ModelVersionEmbedders.ServingAsync"/>): after a rollout switches, search ranks
    /// against the same signatures as the published clusters, without redeploying the worker. A serving version that
    /// cannot be opened here (unregistered, damaged weights, an unreadable pointer) is a 500 naming the reason.
    /// </summary>
    private static async Task<IResult> SearchAsync(HttpRequest request, ModelVersionEmbedders versions, CurrentSignatures current, WorkerOptions options,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var k = 10;
        if (request.Query.TryGetValue("k", out var kText) &&
            (!int.TryParse(kText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out k) || k < 1 || k > MaxK))
        {
            return Problem(StatusCodes.Status400BadRequest, "bad-k", $"k must be a whole number from 1 to {MaxK}.");
        }
        if (request.ContentLength > options.MaxSearchBytes)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "too-large", $"The image has {request.ContentLength} bytes; the limit is {options.MaxSearchBytes}.");
        }
        var bytes = await ReadBoundedAsync(request.Body, options.MaxSearchBytes, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "too-large", $"The image exceeds {options.MaxSearchBytes} bytes.");
        }
        if (ImageCodec.Validate(bytes, options.Limits) is ValidationResult.Rejected rejected)
        {
            return Problem(StatusCodes.Status400BadRequest, rejected.Reason.Code(), rejected.Message);
        }
        ISignatureEmbedder embedder;
        try
        {
            embedder = await versions.ServingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ModelVersionUnavailableException e)
        {
            // The Functions app repeats only the reason code to its callers: the log is where the operator finds the rest.
            loggers.CreateLogger(typeof(WorkerEndpoints).FullName!).LogError("Search cannot embed with the serving model version ({Reason}): {Message}", e.ReasonCode, e.Message);
            return Problem(StatusCodes.Status500InternalServerError, e.ReasonCode, $"The serving model cannot embed the query: {e.Message}");
        }
        var set = await current.GetAsync(embedder.ModelVersion, cancellationToken).ConfigureAwait(false);
        try
        {
            var hits = set.Count == 0 ? [] : new SearchService(set, embedder).Nearest(bytes, k, options.Limits);
            return Results.Ok(new
            {
                model = embedder.ModelVersion,
                signatures = set.Count,
                results = hits.Select(h => new { imageId = h.ImageId, distance = h.Distance }),
            });
        }
        catch (ImageRejectedException e)
        {
            return Problem(StatusCodes.Status400BadRequest, e.Reason.Code(), e.Message);
        }
    }

    /// <summary>The stream's bytes, or null once it passes <paramref name="limit"/> (a chunked body has no length to check first).</summary>
    private static async Task<byte[]?> ReadBoundedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static IResult Problem(int status, string reason, string message) =>
        Results.Json(new { error = reason, message }, statusCode: status);
}
