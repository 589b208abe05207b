using System.Text.Json;
using Motif.Storage.Queues;

namespace Motif.Pipeline;

/// <summary>
/// The message that asks the worker for one image's signature. It carries pointers (the image id, its content
/// hash and the derivative's blob name), never pixels: see DESIGN.md, "Messages carry blob pointers".
/// </summary>
/// <param name="ImageId">The image that asked for the signature.</param>
/// <param name="ContentHash">Its content's hash: signatures are keyed by content.</param>
/// <param name="Derivative">The derivative's blob name (always <see cref="CollectionBlobs.Derivative"/> of the hash).</param>
/// <param name="TraceParent">The W3C traceparent of the activity that sent the job (the upload's ingestion), so the
/// worker's batch continues the upload's trace; in the body because not every queue behind the port carries
/// message properties (Queue Storage has none). Absent when the sender was not traced.</param>
/// <param name="ModelVersion">The registered model version to sign under (a rollout's re-signing: see
/// <see cref="Models.ModelRollout"/>), or absent: the worker's configured model, which is what every job meant before
/// versions were named, so jobs already in a queue keep their meaning. The worker computes the signature version from it
/// with its own input size and precision, as it does for its configured model.</param>
public sealed record SignatureJob(string ImageId, string ContentHash, string Derivative, string? TraceParent = null, string? ModelVersion = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A job for the content, carrying the current activity's trace (if it has a W3C id).</summary>
    public static SignatureJob For(string imageId, string contentHash) =>
        new(imageId, contentHash, CollectionBlobs.Derivative(contentHash), CurrentTrace.TraceParent);

    /// <summary>A job for the content under the registered model version <paramref name="modelVersion"/>.</summary>
    public static SignatureJob For(string imageId, string contentHash, string modelVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelVersion);
        return For(imageId, contentHash) with { ModelVersion = modelVersion };
    }

    public OutgoingMessage ToMessage() => OutgoingMessage.FromText(JsonSerializer.Serialize(this, Json));

    /// <summary>The job in a received message, or null when the body is not a well-formed job.</summary>
    public static SignatureJob? TryParse(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var job = JsonSerializer.Deserialize<SignatureJob>(message.Body.Span, Json);
            // A version, when named, must be a plausible name (it is looked up in the registry, never used as a path).
            return job is { ImageId: not null, ContentHash: not null, Derivative: not null }
                   && job.Derivative == CollectionBlobs.Derivative(job.ContentHash)
                   && (job.ModelVersion is null || job.ModelVersion.Length is > 0 and <= 200 && !job.ModelVersion.Any(char.IsControl))
                ? job
                : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }
}
