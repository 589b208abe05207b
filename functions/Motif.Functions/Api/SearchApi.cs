using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Storage.Catalog;

namespace Motif.Functions.Api;

/// <summary>
/// <c>POST /api/search?k=10</c>: the images nearest to an uploaded query image. The body is the image itself (any
/// content type but a form) or a <c>multipart/form-data</c> form whose first file is the image. It is size-limited
/// (<see cref="MotifFunctionsOptions.SearchMaxBytes"/>: 413 past it, read no further) and validated like an upload
/// (422 with the rejection code when refused), then searched through the host's <see cref="IQueryImageSearch"/>: the
/// worker in Azure (<see cref="WorkerSearch"/>), the process itself under <c>motif serve</c>. The answer is a
/// <see cref="SearchResponse"/>; 503 when search is unavailable, 502 when it failed.
/// </summary>
public sealed class SearchApi(IngestService ingest, IQueryImageSearch search, IImageCatalog catalog, MotifFunctionsOptions options)
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
            image = await BoundedRead.ReadAtMostAsync(stream, max, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            image = await BoundedRead.ReadAtMostAsync(request.Body, max, cancellationToken).ConfigureAwait(false);
        }
        if (image is null)
        {
            return TooLarge(max);
        }
        if (ImageCodec.Validate(image, ingest.Limits) is ValidationResult.Rejected rejected)
        {
            return Problems.Create(StatusCodes.Status422UnprocessableEntity, "Not an acceptable image", $"{Core.RejectionReasons.Code(rejected.Reason)}: {rejected.Message}");
        }
        QuerySearchResult found;
        try
        {
            found = await search.SearchAsync(image, k, cancellationToken).ConfigureAwait(false);
        }
        catch (QuerySearchException e)
        {
            var title = e.Status switch
            {
                StatusCodes.Status503ServiceUnavailable => "Search unavailable",
                StatusCodes.Status422UnprocessableEntity => "Not an acceptable image",
                _ => "Search failed",
            };
            return Problems.Create(e.Status, title, e.Message);
        }
        // Keys and thumbnails, so that a client shows the hits without encoding an id or asking for each record.
        var results = new List<SearchResultResponse>(found.Hits.Count);
        foreach (var hit in found.Hits)
        {
            var key = ApiIds.Encode(hit.ImageId);
            var record = await catalog.GetImageAsync(hit.ImageId, cancellationToken).ConfigureAwait(false);
            var thumbnail = record is { Status: ImageStatus.Accepted, ContentHash: { } hash } ? $"/api/thumbnails/{hash}" : null;
            results.Add(new SearchResultResponse(hit.ImageId, key, hit.Distance, $"/api/images/{key}", thumbnail));
        }
        return new OkObjectResult(new SearchResponse(found.Model, found.Signatures, results));
    }

    private static ObjectResult TooLarge(long max) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "Query image too large", $"A query image may have at most {max:N0} bytes.");
}
