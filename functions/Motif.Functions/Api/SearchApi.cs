using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Motif.Imaging;
using Motif.Pipeline;

namespace Motif.Functions.Api;

/// <summary>
/// <c>POST /api/search?k=10</c>: the images nearest to an uploaded query image. The body is the image itself (any
/// content type but a form) or a <c>multipart/form-data</c> form whose first file is the image. It is size-limited
/// (<see cref="MotifFunctionsOptions.SearchMaxBytes"/>: 413 past it, read no further) and validated like an upload
/// (422 with the rejection code when refused), then forwarded to the worker, which holds the model:
/// <c>POST {Motif__WorkerSearchUri}?k=…</c> with the bytes as <c>application/octet-stream</c>; the worker's JSON
/// answer is returned as it is. 503 when no worker is configured or it cannot be reached, 502 when it fails.
/// </summary>
public sealed class SearchApi(IngestService ingest, MotifFunctionsOptions options, IHttpClientFactory clients, ILogger<SearchApi> logger)
{
    public const int MaxResults = 100;

    [Function("Search")]
    public async Task<IActionResult> SearchAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "search")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Problems.Count(request, "k", 10, MaxResults, out var problem) is not { } k)
        {
            return problem!;
        }
        var max = options.SearchMaxBytes;
        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }
        byte[]? image;
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
            {
                return Problems.BadRequest("The form could not be read.");
            }
            var file = form.Files.FirstOrDefault();
            if (file is null)
            {
                return Problems.BadRequest("The form holds no file: send the query image as its first file, or as the body itself.");
            }
            if (file.Length > max)
            {
                return TooLarge(max);
            }
            await using var stream = file.OpenReadStream();
            image = await ReadAtMostAsync(stream, max, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            image = await ReadAtMostAsync(request.Body, max, cancellationToken).ConfigureAwait(false);
        }
        if (image is null)
        {
            return TooLarge(max);
        }
        if (ImageCodec.Validate(image, ingest.Limits) is ValidationResult.Rejected rejected)
        {
            return Problems.Create(StatusCodes.Status422UnprocessableEntity, "Not an acceptable image", $"{Core.RejectionReasons.Code(rejected.Reason)}: {rejected.Message}");
        }
        if (options.WorkerSearchUri is not { } worker)
        {
            return Unavailable("Search by image is not configured (Motif__WorkerSearchUri): the model runs in the worker.");
        }
        return await ForwardAsync(worker, image, k, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IActionResult> ForwardAsync(Uri worker, byte[] image, int k, CancellationToken cancellationToken)
    {
        var target = new UriBuilder(worker) { Query = "k=" + k.ToString(CultureInfo.InvariantCulture) }.Uri;
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        try
        {
            using var response = await clients.CreateClient(MotifFunctions.WorkerClient).PostAsync(target, content, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The worker's search answered {Status}", (int)response.StatusCode);
                return (int)response.StatusCode == StatusCodes.Status503ServiceUnavailable
                    ? Unavailable("The worker is not ready to search (it may be starting or scaled to zero); try again shortly.")
                    : Problems.Create(StatusCodes.Status502BadGateway, "Search failed", $"The worker answered {(int)response.StatusCode}.");
            }
            return new ContentResult { Content = body, ContentType = "application/json; charset=utf-8", StatusCode = StatusCodes.Status200OK };
        }
        catch (Exception e) when (e is HttpRequestException || e is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The worker's search is unreachable: {Error}", e.GetType().Name);
            return Unavailable("The worker's search endpoint cannot be reached; try again shortly.");
        }
    }

    private static ObjectResult TooLarge(long max) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "Query image too large", $"A query image may have at most {max:N0} bytes.");

    private static ObjectResult Unavailable(string detail) => Problems.Create(StatusCodes.Status503ServiceUnavailable, "Search unavailable", detail);

    /// <summary>The stream's bytes, or null as soon as it proves longer than <paramref name="max"/>.</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream stream, long max, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
