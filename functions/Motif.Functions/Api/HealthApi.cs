using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;

namespace Motif.Functions.Api;

/// <summary>
/// <c>GET /api/health</c>: 200 when storage answers (it reads manifests/latest.json), 503 when it does not. It names
/// the storage kind and the model, never an account, endpoint or connection, so it is safe unauthenticated (App
/// Service authentication excludes this path for probes).
/// </summary>
public sealed class HealthApi(ReclusterService recluster, MotifPipelineOptions pipeline, MotifFunctionsOptions options, TimeProvider time, ILogger<HealthApi> logger)
{
    [Function("Health")]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var storage = pipeline.Storage == PipelineStorage.Azure ? "azure" : "embedded";
        try
        {
            var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false);
            return new OkObjectResult(new HealthResponse("ok", storage, pipeline.ModelVersion, latest?.Manifest.RunId, options.WorkerSearchUri is not null, time.GetUtcNow()));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Health check: storage did not answer");
            return new ObjectResult(new HealthResponse("unavailable", storage, pipeline.ModelVersion, null, options.WorkerSearchUri is not null, time.GetUtcNow()))
            {
                StatusCode = StatusCodes.Status503ServiceUnavailable,
            };
        }
    }
}
