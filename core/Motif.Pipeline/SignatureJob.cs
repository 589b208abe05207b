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
public sealed record SignatureJob(string ImageId, string ContentHash, string Derivative, string? TraceParent = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A job for the content, carrying the current activity's trace (if it has a W3C id).</summary>
    public static SignatureJob For(string imageId, string contentHash) =>
        new(imageId, contentHash, CollectionBlobs.Derivative(contentHash), CurrentTrace.TraceParent);

    public OutgoingMessage ToMessage() => OutgoingMessage.FromText(JsonSerializer.Serialize(this, Json));

    /// <summary>The job in a received message, or null when the body is not a well-formed job.</summary>
    public static SignatureJob? TryParse(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var job = JsonSerializer.Deserialize<SignatureJob>(message.Body.Span, Json);
            return job is { ImageId: not null, ContentHash: not null, Derivative: not null }
                   && job.Derivative == CollectionBlobs.Derivative(job.ContentHash)
                ? job
                : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }
}
