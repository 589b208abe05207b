using System.Text.Json;
using System.Text.Json.Serialization;

namespace Motif.Storage.Azure.Queues;

/// <summary>
/// What a Queue Storage message carries beside its body. A Queue Storage message is only text (no properties, no
/// sequence number, no dead-letter reason), so the adapter writes one JSON line of these fields, a line feed, then the
/// body's bytes; the client then base64-encodes the whole, which is the encoding the Functions queue trigger expects.
/// </summary>
/// <param name="MessageId">The sender's id.</param>
/// <param name="SequenceNumber">From the sender's <see cref="SequenceClock"/>.</param>
/// <param name="ContentType">The body's media type.</param>
/// <param name="EnqueuedAtMs">When it was sent, Unix milliseconds (the sender's clock).</param>
/// <param name="DeliveryCount">Dead letters only: deliveries before it was moved.</param>
/// <param name="DeadLetteredAtMs">Dead letters only: when it was moved.</param>
/// <param name="Reason">Dead letters only: why.</param>
/// <param name="Description">Dead letters only: details.</param>
internal sealed record QueueEnvelope(
    [property: JsonPropertyName("id")] string MessageId,
    [property: JsonPropertyName("seq")] long SequenceNumber,
    [property: JsonPropertyName("type")] string ContentType,
    [property: JsonPropertyName("at")] long EnqueuedAtMs,
    [property: JsonPropertyName("deliveries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? DeliveryCount = null,
    [property: JsonPropertyName("deadAt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DeadLetteredAtMs = null,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null,
    [property: JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description = null)
{
    /// <summary>Azure Queue Storage's limit on a message: 64 KiB of (here base64) text.</summary>
    public const int MaxEncodedBytes = 64 * 1024;

    /// <summary>The longest dead-letter reason kept; a longer one is cut (a reason is a code, not prose).</summary>
    public const int MaxReasonLength = 128;

    private const byte Separator = (byte)'\n';

    /// <summary>The envelope's bytes followed by the body's.</summary>
    public byte[] Wrap(ReadOnlySpan<byte> body)
    {
        var header = JsonSerializer.SerializeToUtf8Bytes(this);
        var bytes = new byte[header.Length + 1 + body.Length];
        header.CopyTo(bytes, 0);
        bytes[header.Length] = Separator;
        body.CopyTo(bytes.AsSpan(header.Length + 1));
        return bytes;
    }

    /// <summary>The size of <paramref name="rawBytes"/> once base64-encoded for the queue.</summary>
    public static int EncodedLength(int rawBytes) => (rawBytes + 2) / 3 * 4;

    /// <summary>
    /// Reads a message written by <see cref="Wrap"/>; null when the bytes are not such a message (another producer
    /// wrote to the queue), which the adapter then treats as a body without an envelope.
    /// </summary>
    public static (QueueEnvelope Envelope, ReadOnlyMemory<byte> Body)? TryUnwrap(ReadOnlyMemory<byte> bytes)
    {
        var end = bytes.Span.IndexOf(Separator);
        if (end <= 0 || bytes.Span[0] != (byte)'{')
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<QueueEnvelope>(bytes.Span[..end]) is { MessageId: not null, ContentType: not null } envelope
                ? (envelope, bytes[(end + 1)..])
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The dead-letter envelope of this message, with the description shortened until the whole still fits the service's
    /// limit (the body never is: it is what the record is for).
    /// </summary>
    public byte[] WrapDeadLetter(ReadOnlySpan<byte> body, int deliveryCount, DateTimeOffset at, string reason, string? description)
    {
        var cutReason = reason.Length > MaxReasonLength ? reason[..MaxReasonLength] : reason;
        var text = description;
        while (true)
        {
            var bytes = (this with { DeliveryCount = deliveryCount, DeadLetteredAtMs = at.ToUnixTimeMilliseconds(), Reason = cutReason, Description = text }).Wrap(body);
            if (EncodedLength(bytes.Length) <= MaxEncodedBytes || string.IsNullOrEmpty(text))
            {
                return bytes;
            }
            text = text.Length > 64 ? text[..(text.Length / 2)] + "…" : null;
        }
    }
}
