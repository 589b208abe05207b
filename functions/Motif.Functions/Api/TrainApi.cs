using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Training;
using Motif.Storage.Queues;

namespace Motif.Functions.Api;

/// <summary>
/// <c>POST /api/train</c>: asks for a training run (<see cref="TrainingService"/>) by sending a <see cref="TrainingJob"/>
/// on the training queue (<see cref="WorkQueueKeys.Training"/>: Service Bus <c>training</c> in Azure, where the
/// training Container Apps Job is scaled from it; the Queue Storage or SQLite twin locally). The run itself happens
/// there, for hours on a GPU; this function only checks the request and sends the job, so it answers at once.
/// </summary>
/// <remarks>
/// <para><c>Content-Type: application/json</c> (415 otherwise, for the reason <see cref="AnnotationsApi"/> gives), at
/// most <see cref="MaxBodyBytes"/> bytes (413), every property optional, unknown ones refused:</para>
/// <code>
/// { "baseModel": "checkpoint:0123456789abcdef", "recipe": "cpu", "epochs": 10, "patience": 3, "learningRate": 1e-5, "margin": 0.01, "seed": 0 }
/// </code>
/// <para><c>baseModel</c> names a version of the model registry (<c>motif models</c>) or the packaged network's; left out,
/// the job trains from whichever version serves when it runs (null in the job), since only a run from the serving version
/// can be promoted and a job may wait in the queue while a promotion completes. <c>recipe</c> is <c>cpu</c> (the default: the last stage trains, 160 px) or <c>full</c> (the whole
/// backbone, 224 px; a GPU's); the numbers override the recipe's and are checked by
/// <see cref="TrainingRunOptions.Validate"/>. The requester is the App Service authentication principal
/// (<c>X-MS-CLIENT-PRINCIPAL-NAME</c>), as for annotations: 401 without one, unless the app is configured for local use
/// (<see cref="MotifFunctionsOptions.LocalAnnotator"/>).</para>
/// <para>202 with <c>{ "id": "…", "baseModel": "…" or null, "requestedBy": "…", "options": { … } }</c>: <c>id</c> is the queue
/// message's id, which the training job's logs and traces carry. Errors are problem details: 400 (malformed JSON, an
/// unknown property or recipe, a value out of range, a hostile base model), 401, 413, 415.</para>
/// </remarks>
public sealed class TrainApi(
    [FromKeyedServices(WorkQueueKeys.Training)] IWorkQueue training, MotifFunctionsOptions options)
{
    /// <summary>The largest request body: a handful of numbers and a model name.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    private static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    [Function("PostTrain")]
    public async Task<IActionResult> PostAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "train")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var principal = request.Headers[AnnotationsApi.PrincipalNameHeader].ToString();
        if (principal.Length == 0 && options.LocalAnnotator is null)
        {
            return Problems.Create(StatusCodes.Status401Unauthorized, "Sign-in required",
                "A training run records who asked for it: sign in through the app's authentication (no principal reached the API).");
        }
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send the training request as application/json.");
        }
        if (request.ContentLength > MaxBodyBytes
            || await BoundedRead.ReadAtMostAsync(request.Body, MaxBodyBytes, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return Problems.Create(StatusCodes.Status413PayloadTooLarge, "Too large", $"The body is larger than {MaxBodyBytes} bytes.");
        }
        TrainRequest? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<TrainRequest>(body, RequestJson);
        }
        catch (JsonException)
        {
            return Problems.BadRequest("The body is not a training request as JSON (see the API's documentation; unknown properties are refused).");
        }
        if (parsed is null)
        {
            return Problems.BadRequest("The body is empty: send {} for the defaults.");
        }
        var recipe = parsed.Recipe switch
        {
            null or "cpu" => TrainingRunOptions.Cpu,
            "full" => TrainingRunOptions.Full,
            _ => null,
        };
        if (recipe is null)
        {
            return Problems.BadRequest("'recipe' must be cpu or full.");
        }
        var run = recipe with
        {
            Epochs = parsed.Epochs ?? recipe.Epochs,
            Patience = parsed.Patience ?? recipe.Patience,
            LearningRate = parsed.LearningRate ?? recipe.LearningRate,
            Margin = parsed.Margin ?? recipe.Margin,
            Seed = parsed.Seed ?? recipe.Seed,
        };
        // A principal always wins; only a local app (no authentication in front of it) names the local user.
        var job = new TrainingJob(parsed.BaseModel, run, Traceparent(), principal.Length > 0 ? principal : options.LocalAnnotator);
        try
        {
            job.Validate();
        }
        catch (ArgumentException e)
        {
            // The parameter's name, never the value: the value is the client's.
            return Problems.BadRequest($"'{JsonNamingPolicy.CamelCase.ConvertName(e.ParamName ?? "body")}' is out of range or refused.");
        }
        var id = Guid.NewGuid().ToString("N");
        await training.SendAsync(job.ToMessage() with { MessageId = id }, cancellationToken).ConfigureAwait(false);
        return new ObjectResult(new TrainResponse(id, job.BaseModel, job.RequestedBy, job.Options)) { StatusCode = StatusCodes.Status202Accepted };
    }

    /// <summary>The invocation's W3C traceparent, so that the training job's trace continues the request's.</summary>
    private static string? Traceparent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
}

/// <summary>The body of <c>POST /api/train</c>; every property optional.</summary>
public sealed record TrainRequest(string? BaseModel, string? Recipe, int? Epochs, int? Patience, double? LearningRate, double? Margin, int? Seed);

/// <summary>The answer to <c>POST /api/train</c>: the sent job's id and what it will run.</summary>
public sealed record TrainResponse(string Id, string? BaseModel, string? RequestedBy, TrainingRunOptions Options);
