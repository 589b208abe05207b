using System.Text.Json;
using Motif.Storage;

namespace Motif.Pipeline;

/// <summary>
/// The message that asks the worker for one image's signature. It carries pointers (the image id, its content
/// hash and the derivative's blob name), never pixels: see DESIGN.md, "Messages carry blob pointers".
/// </summary>
public sealed record SignatureJob(string ImageId, string ContentHash, string Derivative)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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
