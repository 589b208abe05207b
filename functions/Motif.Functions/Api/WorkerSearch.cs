using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;

namespace Motif.Functions.Api;

/// <summary>
/// The Functions app's <see cref="IQueryImageSearch"/>: <c>POST {Motif__WorkerSearchUri}?k=…</c> with the bytes as
/// <c>application/octet-stream</c>, because the worker holds the model. 503 when no worker is configured, it cannot be
/// reached or it says it is not ready; 502 when it fails or answers something that is not its search response.
/// </summary>
public sealed class WorkerSearch(MotifFunctionsOptions options, IHttpClientFactory clients, ILogger<WorkerSearch> logger) : IQueryImageSearch
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<QuerySearchResult> SearchAsync(byte[] image, int k, CancellationToken cancellationToken)
    {
        if (options.WorkerSearchUri is not { } worker)
        {
            throw Unavailable("Search by image is not configured (Motif__WorkerSearchUri): the model runs in the worker.");
        }
        var target = new UriBuilder(worker) { Query = "k=" + k.ToString(CultureInfo.InvariantCulture) }.Uri;
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        WorkerAnswer? answer;
        try
        {
            using var response = await clients.CreateClient(MotifFunctions.WorkerClient).PostAsync(target, content, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The worker's search answered {Status}", (int)response.StatusCode);
                if ((int)response.StatusCode == StatusCodes.Status503ServiceUnavailable)
                {
                    throw Unavailable("The worker is not ready to search (it may be starting or scaled to zero); try again shortly.");
                }
                throw new QuerySearchException(StatusCodes.Status502BadGateway, await ServingModelProblemAsync(response, cancellationToken).ConfigureAwait(false)
                    ?? $"The worker answered {(int)response.StatusCode}.");
            }
            answer = await response.Content.ReadFromJsonAsync<WorkerAnswer>(Json, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || e is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The worker's search is unreachable: {Error}", e.GetType().Name);
            throw Unavailable("The worker's search endpoint cannot be reached; try again shortly.");
        }
        catch (JsonException)
        {
            answer = null;
        }
        // The worker is ours, but its answer is still input: a reply without its fields is a failure, not an empty result.
        if (answer is not { Model: not null, Results: not null } || answer.Results.Any(r => r.ImageId is null || !double.IsFinite(r.Distance)))
        {
            throw new QuerySearchException(StatusCodes.Status502BadGateway, "The worker's answer was not a search response.");
        }
        return new QuerySearchResult(answer.Model, answer.Signatures, [.. answer.Results.Select(r => new SearchHit(r.ImageId!, r.Distance))]);
    }

    private static QuerySearchException Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, detail);

    /// <summary>
    /// The detail of a worker's 500 that says the serving model version cannot be opened (its search embeds with the
    /// version <c>models/serving.json</c> serves), or null for any other failure. Only the two known reason codes are
    /// repeated, never the worker's message: it names blobs and versions the caller has no business seeing.
    /// </summary>
    private static async Task<string?> ServingModelProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != System.Net.HttpStatusCode.InternalServerError)
        {
            return null;
        }
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<WorkerProblem>(Json, cancellationToken).ConfigureAwait(false);
            return problem?.Error is "unknown-model-version" or "model-version-unloadable"
                ? $"The serving model version cannot be opened by the worker ({problem.Error}); its log says why."
                : null;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The worker's problem body (<c>{"error", "message"}</c>).</summary>
    private sealed record WorkerProblem(string? Error);

    /// <summary>The worker's <c>POST /search</c> body (gpu-worker/Motif.Worker/WorkerEndpoints.cs).</summary>
    private sealed record WorkerAnswer(string? Model, int Signatures, IReadOnlyList<WorkerHit>? Results);

    private sealed record WorkerHit(string? ImageId, double Distance);
}
