using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Motif.Core.Annotations;
using Motif.Pipeline.Annotations;

namespace Motif.Functions.Api;

/// <summary>
/// Curators' annotations of the latest manifest's clusters (<see cref="AnnotationService"/>): <c>POST /api/annotations</c>
/// appends one, <c>GET /api/annotations?cluster=ID</c> lists them. The history is append-only: a mistake is withdrawn by
/// posting an undo, never by deleting.
/// </summary>
/// <remarks>
/// <para><b>POST /api/annotations</b>, <c>Content-Type: application/json</c>, at most <see cref="MaxBodyBytes"/> bytes
/// (413 past it). Either a verdict on a cluster:</para>
/// <code>
/// { "cluster": "C12", "label": "confirm", "images": ["museum/a.jpg", "museum/b.jpg"], "note": "optional", "runId": "optional" }
/// </code>
/// <para>where <c>label</c> is <c>confirm</c> (the images share the pattern; at least two), <c>wrong-member</c> (the images
/// do not belong with the rest of the cluster; at least one), <c>wrong-cluster</c> (no two of them share the pattern; at
/// least two) or <c>similar</c> (alike, not the same pattern; at least two), every image a member of the cluster in the
/// latest manifest, at most 200; <c>runId</c>, when sent, is the run whose clusters the curator was shown (the cluster
/// API's <c>runId</c>), and a later run refuses the verdict with 409 <c>stale-run</c>; or an undo of an earlier annotation:</para>
/// <code>
/// { "undo": "20261130T0405060000000Z-0123456789abcdef", "note": "optional" }
/// </code>
/// <para>Unknown properties are refused (a misspelt <c>image</c> is an error, not an empty selection). The annotator is
/// the App Service authentication principal (<c>X-MS-CLIENT-PRINCIPAL-NAME</c>, set by Easy Auth and never taken from
/// the client); without one the request is refused with 401, unless the app is configured for local use
/// (<see cref="MotifFunctionsOptions.LocalAnnotator"/>, which <c>motif dev</c> and <c>motif serve</c> set): then the body's optional
/// <c>"annotator"</c>, or that setting's name. 201 with the stored annotation:</para>
/// <code>
/// { "id": "20261130T0405060000000Z-0123456789abcdef", "createdAt": "2026-11-30T04:05:06+00:00", "annotator": "ada@museum.org",
///   "label": "confirm", "runId": "…", "modelVersion": "…", "cluster": "C12", "images": ["…"], "others": [],
///   "undoes": null, "note": null, "undoneBy": null }
/// </code>
/// <para><c>others</c> is, for wrong-member, the cluster's other members when it was annotated; <c>undoes</c> the id an
/// undo withdraws (an undo carries the cluster of what it withdraws); <c>undoneBy</c> the id of the undo that withdrew
/// this annotation, or null while it is in effect.</para>
/// <para><b>GET /api/annotations?cluster=C12</b> (without <c>cluster</c>: the whole history): 200 with
/// <c>{ "annotations": [ … as above, oldest first, undos included … ] }</c>.</para>
/// <para><b>Errors</b> are problem details (<c>status</c>, <c>title</c>, <c>detail</c>) with a <c>code</c>: 400
/// <c>invalid</c> (malformed JSON or field, hostile text, empty selection, an image twice), 401 (no principal), 404
/// <c>unknown-cluster</c> (or no manifest yet) and <c>unknown-annotation</c> (undo), 409 <c>already-undone</c> and <c>stale-run</c>, 413
/// <c>too-large</c> (body, selection or text), 415 (not JSON), 422 <c>unknown-image</c> and <c>not-in-cluster</c>.</para>
/// </remarks>
public sealed class AnnotationsApi(AnnotationService annotations, MotifFunctionsOptions options)
{
    /// <summary>The largest request body: 200 image ids of up to 1,024 characters and a note, with room for JSON escapes.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>The header App Service authentication sets to the signed-in principal's name (and strips from clients).</summary>
    public const string PrincipalNameHeader = "X-MS-CLIENT-PRINCIPAL-NAME";

    private static ObjectResult SignInRequired() => Problems.Create(StatusCodes.Status401Unauthorized, "Sign-in required",
        "Annotations record who made them: sign in through the app's authentication (no principal reached the API).");

    private static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    [Function("PostAnnotation")]
    public async Task<IActionResult> PostAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "annotations")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var principal = request.Headers[PrincipalNameHeader].ToString();
        if (principal.Length == 0 && options.LocalAnnotator is null)
        {
            return SignInRequired();
        }
        // Required, not merely checked when present: a page on another site can POST without CORS only with a "simple"
        // content type, or with none (a fetch of a typeless Blob), and a signed-in curator's cookies would go with it.
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send the annotation as application/json.");
        }
        if (request.ContentLength > MaxBodyBytes)
        {
            return TooLarge();
        }
        var body = await BoundedRead.ReadAtMostAsync(request.Body, MaxBodyBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return TooLarge();
        }
        AnnotationRequest? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<AnnotationRequest>(body, RequestJson);
        }
        catch (JsonException)
        {
            return Refused(AnnotationRefusal.Invalid, "the body is not an annotation as JSON (see the API's documentation; unknown properties are refused)");
        }
        if (parsed is null)
        {
            return Refused(AnnotationRefusal.Invalid, "the body is empty");
        }
        // A principal always wins; only a local app (no authentication in front of it) takes a name from the body.
        var annotator = principal.Length > 0 ? principal : parsed.Annotator ?? options.LocalAnnotator!;
        try
        {
            Annotation annotation;
            if (parsed.Undo is not null)
            {
                if (parsed.Cluster is not null || parsed.Label is not null || parsed.Images is not null || parsed.RunId is not null)
                {
                    return Refused(AnnotationRefusal.Invalid, "an undo names only the annotation it withdraws (and a note)");
                }
                annotation = await annotations.UndoAsync(annotator, parsed.Undo, parsed.Note, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                if (AnnotationRules.ParseLabel(parsed.Label) is not { } label || label == AnnotationLabel.Undo)
                {
                    return Refused(AnnotationRefusal.Invalid, "label must be confirm, wrong-member, wrong-cluster or similar (or send undo)");
                }
                if (parsed.Cluster is null)
                {
                    return Refused(AnnotationRefusal.Invalid, "cluster is missing");
                }
                annotation = await annotations.AnnotateAsync(annotator, parsed.Cluster, label, parsed.Images ?? [], parsed.Note, parsed.RunId, cancellationToken).ConfigureAwait(false);
            }
            return new ObjectResult(AnnotationResponse.Of(annotation, undoneBy: null)) { StatusCode = StatusCodes.Status201Created };
        }
        catch (AnnotationRefusedException e)
        {
            return Refused(e.Refusal, e.Message);
        }
    }

    /// <summary>
    /// <c>GET /api/whoami</c>: the annotator a <c>POST /api/annotations</c> made now would record, so that the app can
    /// say "Annotating as …" before the first action. 200 with <see cref="WhoAmIResponse"/>: the principal header when
    /// there is one, else the local app's annotator; 401 (the same problem as a POST gets) when neither.
    /// </summary>
    [Function("GetWhoAmI")]
    public Task<IActionResult> GetWhoAmIAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "whoami")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Nothing to wait for; a Task like every HTTP function, which is the shape motif serve's routes invoke.
        var principal = request.Headers[PrincipalNameHeader].ToString();
        IActionResult result = principal.Length > 0 ? new OkObjectResult(new WhoAmIResponse(principal, "principal"))
            : options.LocalAnnotator is { } local ? new OkObjectResult(new WhoAmIResponse(local, "local"))
            : SignInRequired();
        return Task.FromResult(result);
    }

    [Function("GetAnnotations")]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "annotations")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? cluster = null;
        if (request.Query.TryGetValue("cluster", out var values))
        {
            cluster = values.ToString();
            if (values.Count != 1 || cluster.Length is 0 or > AnnotationRules.MaxNameLength || cluster.Any(char.IsControl))
            {
                return Refused(AnnotationRefusal.Invalid, "cluster must be one cluster id");
            }
        }
        var history = await annotations.ListAsync(cluster, cancellationToken).ConfigureAwait(false);
        var undoneBy = history.Where(a => a.Label == AnnotationLabel.Undo).GroupBy(a => a.Undoes!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal); // the history is in id order: the earliest undo counts
        return new OkObjectResult(new AnnotationsResponse([.. history.Select(a => AnnotationResponse.Of(a, undoneBy.GetValueOrDefault(a.Id)))]));
    }

    private static ObjectResult TooLarge() =>
        Refused(AnnotationRefusal.TooLarge, $"the body is larger than {MaxBodyBytes} bytes");

    private static ObjectResult Refused(AnnotationRefusal refusal, string detail)
    {
        var (status, title) = refusal switch
        {
            AnnotationRefusal.Invalid => (StatusCodes.Status400BadRequest, "Bad request"),
            AnnotationRefusal.TooLarge => (StatusCodes.Status413PayloadTooLarge, "Too large"),
            AnnotationRefusal.UnknownCluster or AnnotationRefusal.UnknownAnnotation => (StatusCodes.Status404NotFound, "Not found"),
            AnnotationRefusal.AlreadyUndone or AnnotationRefusal.StaleRun => (StatusCodes.Status409Conflict, "Conflict"),
            _ => (StatusCodes.Status422UnprocessableEntity, "Annotation refused"),
        };
        var result = Problems.Create(status, title, detail);
        ((ProblemDetails)result.Value!).Extensions["code"] = AnnotationRefusals.Code(refusal);
        return result;
    }
}
