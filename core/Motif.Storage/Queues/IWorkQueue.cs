namespace Motif.Storage.Queues;

/// <summary>
/// A durable queue of small work messages with peek-lock delivery, modelled on Azure Service Bus queues so that the
/// embedded SQLite queue, Azure Queue Storage and Service Bus behave alike.
/// </summary>
/// <remarks>
/// At-least-once: a received message is locked (invisible to other receivers) for
/// <see cref="WorkQueueOptions.LockDuration"/>; the consumer completes it when the work is durably done. If the
/// consumer abandons it, or dies and the lock expires, it is delivered again with a higher
/// <see cref="ReceivedMessage.DeliveryCount"/>. A message that has been delivered
/// <see cref="WorkQueueOptions.MaxDeliveryCount"/> times and still not completed is moved to the dead-letter store
/// with a reason instead of being delivered again, so a poison message cannot block a worker forever, and nothing
/// is dropped silently. Handlers must therefore be idempotent.
/// Messages carry pointers (blob names, ids), not payloads: bodies are limited to <see cref="WorkQueueOptions.MaxMessageBytes"/>.
/// Settling calls (complete, abandon, renew, dead-letter) take the message as received or as last renewed, because
/// some services identify the lock by the message and a receipt that changes on renewal.
/// </remarks>
public interface IWorkQueue
{
    /// <summary>The options the queue was opened with.</summary>
    WorkQueueOptions Options { get; }

    /// <summary>
    /// Enqueues one message. Its sequence number is assigned by the queue and seen on receipt (Service Bus's send
    /// does not return it).
    /// </summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageTooLarge"/>.</exception>
    /// <exception cref="ArgumentException">A message id or content type longer than <see cref="OutgoingMessage.MaxIdLength"/>.</exception>
    Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Enqueues all messages or, if any is refused, none: every message is checked before the first is sent. Where the
    /// service has an atomic batch (Service Bus, SQLite) the batch is one send; Azure Queue Storage has none, so there
    /// a transport failure part-way leaves a prefix enqueued (handlers are idempotent; resend the whole batch).
    /// </summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageTooLarge"/>, also when the batch as a
    /// whole exceeds what the service accepts in one atomic send.</exception>
    Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Locks and returns up to <paramref name="maxMessages"/> messages. When none is available, waits up to
    /// <paramref name="maxWait"/> for one (long polling) and returns an empty list if none came.
    /// No message is ever locked by two receivers at once.
    /// </summary>
    Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default);

    /// <summary>Removes the message for good: its work is done.</summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageLockLost"/> when the lock expired or the message was already settled.</exception>
    Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives the message back now, to be delivered again (or dead-lettered if its deliveries are used up).
    /// </summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageLockLost"/>.</exception>
    Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Extends the lock by <see cref="WorkQueueOptions.LockDuration"/> from now. Settle with the returned message.</summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageLockLost"/>.</exception>
    Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Moves the message to the dead-letter store at once, e.g. when its body cannot be understood.</summary>
    /// <exception cref="WorkQueueException"><see cref="WorkQueueErrorCode.MessageLockLost"/>.</exception>
    Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads (without removing) up to <paramref name="maxMessages"/> dead-lettered messages in sequence order,
    /// starting at <paramref name="fromSequenceNumber"/>. Includes messages whose last lock has expired with their
    /// deliveries used up, even if no receive has happened since.
    /// </summary>
    Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default);
}
