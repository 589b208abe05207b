using System.Text;

namespace Motif.Storage.Queues;

/// <summary>How a queue delivers: the same settings exist on a Service Bus queue and are passed per call to Azure Queue Storage.</summary>
public sealed record WorkQueueOptions
{
    /// <summary>How long a received message stays invisible to other receivers unless completed, abandoned or renewed.</summary>
    public TimeSpan LockDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many times a message is delivered before it is dead-lettered (Service Bus's default is 10).</summary>
    public int MaxDeliveryCount { get; init; } = 10;

    /// <summary>
    /// The largest body accepted. The default is what the smallest service behind the port carries: an Azure Queue
    /// Storage message holds 64 KiB of text, which the base64 encoding that the Functions queue trigger expects turns
    /// into 48 KiB of bytes, less <see cref="EnvelopeReserveBytes"/> for the message's id, type and dead-letter reason.
    /// </summary>
    public int MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>46 KiB: see <see cref="MaxMessageBytes"/>.</summary>
    public const int DefaultMaxMessageBytes = 48 * 1024 - EnvelopeReserveBytes;

    /// <summary>What an adapter may need beside the body in a 48 KiB message: id, content type, times, dead-letter reason.</summary>
    public const int EnvelopeReserveBytes = 2 * 1024;

    /// <summary>Refuses what no adapter may send: a body over <see cref="MaxMessageBytes"/>, an id or type over <see cref="OutgoingMessage.MaxIdLength"/>.</summary>
    internal void CheckOutgoing(OutgoingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.MessageId is { Length: > OutgoingMessage.MaxIdLength } || message.ContentType is { Length: > OutgoingMessage.MaxIdLength })
        {
            throw new ArgumentException($"A message id and a content type have at most {OutgoingMessage.MaxIdLength} characters (Service Bus's limit).", nameof(message));
        }
        if (message.Body.Length > MaxMessageBytes)
        {
            throw new WorkQueueException(WorkQueueErrorCode.MessageTooLarge,
                $"The message body has {message.Body.Length} bytes; the limit is {MaxMessageBytes}. Put the payload in a blob and send its name.");
        }
    }

    internal void Validate()
    {
        if (LockDuration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LockDuration), LockDuration, "The lock duration must be positive.");
        }
        if (MaxDeliveryCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDeliveryCount), MaxDeliveryCount, "A message must be deliverable at least once.");
        }
        if (MaxMessageBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), MaxMessageBytes, "The size limit must be positive.");
        }
    }
}

/// <summary>A message to send.</summary>
/// <param name="Body">The message's bytes, typically a small JSON document pointing at blobs.</param>
public sealed record OutgoingMessage(ReadOnlyMemory<byte> Body)
{
    /// <summary>The longest <see cref="MessageId"/> and <see cref="ContentType"/>: Service Bus's limit on a message id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The application's id for the message; a new GUID when null.</summary>
    public string? MessageId { get; init; }

    /// <summary>The body's media type.</summary>
    public string ContentType { get; init; } = "application/json";

    /// <summary>A message whose body is <paramref name="text"/> in UTF-8.</summary>
    public static OutgoingMessage FromText(string text, string contentType = "application/json") =>
        new(Encoding.UTF8.GetBytes(text ?? throw new ArgumentNullException(nameof(text)))) { ContentType = contentType };
}

/// <summary>A message locked by this receiver.</summary>
/// <param name="MessageId">The sender's id (or the generated one).</param>
/// <param name="SequenceNumber">Assigned at send, unique within the queue, increasing in send order.</param>
/// <param name="Body">The message's bytes.</param>
/// <param name="ContentType">The body's media type.</param>
/// <param name="DeliveryCount">1 on the first delivery, +1 on each redelivery.</param>
/// <param name="EnqueuedAt">When it was sent.</param>
/// <param name="LockToken">Identifies this delivery's lock; settling with a stale token fails with MessageLockLost.</param>
/// <param name="LockedUntil">When the lock expires unless renewed.</param>
public sealed record ReceivedMessage(
    string MessageId,
    long SequenceNumber,
    ReadOnlyMemory<byte> Body,
    string ContentType,
    int DeliveryCount,
    DateTimeOffset EnqueuedAt,
    string LockToken,
    DateTimeOffset LockedUntil)
{
    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);
}

/// <summary>A message moved to the dead-letter store, with what it had when it was last in the queue.</summary>
/// <param name="MessageId">The sender's id (or the generated one).</param>
/// <param name="SequenceNumber">The sequence number it had in the queue.</param>
/// <param name="Body">The message's bytes.</param>
/// <param name="ContentType">The body's media type.</param>
/// <param name="DeliveryCount">How many times it was delivered.</param>
/// <param name="EnqueuedAt">When it was sent.</param>
/// <param name="DeadLetteredAt">When it was moved.</param>
/// <param name="Reason">Why, e.g. <see cref="DeadLetterReasons.MaxDeliveryCountExceeded"/> or the consumer's reason.</param>
/// <param name="Description">Details given by the consumer, if any.</param>
public sealed record DeadLetteredMessage(
    string MessageId,
    long SequenceNumber,
    ReadOnlyMemory<byte> Body,
    string ContentType,
    int DeliveryCount,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset DeadLetteredAt,
    string Reason,
    string? Description)
{
    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);
}

/// <summary>Reasons the queue itself gives when it dead-letters a message.</summary>
public static class DeadLetterReasons
{
    /// <summary>Service Bus's reason for a message delivered <see cref="WorkQueueOptions.MaxDeliveryCount"/> times.</summary>
    public const string MaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";
}

/// <summary>Why a queue operation was refused.</summary>
public enum WorkQueueErrorCode
{
    /// <summary>The lock on the message expired or the message was already settled; another consumer may have it now.</summary>
    MessageLockLost,

    /// <summary>The body exceeds <see cref="WorkQueueOptions.MaxMessageBytes"/>.</summary>
    MessageTooLarge,
}

/// <summary>A queue operation refused for a reason the caller can act on (see <see cref="ErrorCode"/>).</summary>
public sealed class WorkQueueException(WorkQueueErrorCode errorCode, string message) : Exception($"{errorCode}: {message}")
{
    public WorkQueueErrorCode ErrorCode { get; } = errorCode;
}
