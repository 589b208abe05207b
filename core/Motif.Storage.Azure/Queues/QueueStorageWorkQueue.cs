using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Azure.Storage.Queues.Specialized;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Queues;

/// <summary>
/// <see cref="IWorkQueue"/> on Azure Queue Storage (<see cref="QueueClient"/>): the offline transport, on Azurite, of the
/// pipeline that runs on Service Bus in Azure, and a transport of its own for a Functions queue trigger.
/// </summary>
/// <remarks>
/// <para><b>Peek-lock from visibility.</b> Receiving makes a message invisible for <see cref="WorkQueueOptions.LockDuration"/>
/// (the lock); completing deletes it with its pop receipt; abandoning makes it visible now; renewing is
/// <see cref="QueueClient.UpdateMessageAsync(string, string, BinaryData, TimeSpan, CancellationToken)"/>, whose new pop
/// receipt replaces the old (the returned message carries it). The lock token is the service's message id and pop receipt.
/// A settle whose pop receipt is stale (someone received the message since) fails with MessageLockLost; so does one after
/// the lock's expiry by this machine's clock, although the service would still accept it until the next receive: the port
/// promises the same behaviour on every service, and refusing early only causes a redelivery.</para>
/// <para><b>Delivery count</b> is the service's dequeue count. A message received with more dequeues than
/// <see cref="WorkQueueOptions.MaxDeliveryCount"/> (its last lock expired) is moved to the poison queue instead of being
/// delivered — what the Functions queue trigger does, into the queue it would use: <c>&lt;queue&gt;-poison</c>.</para>
/// <para><b>Dead letters.</b> Moving is: send the dead-letter record (the envelope with delivery count, time, reason and
/// description, see <see cref="QueueEnvelope"/>) to the poison queue, then delete the message. A crash between the two
/// leaves the message to be delivered again, and possibly dead-lettered twice; listings drop such duplicates by sequence
/// number. Neither queue's messages ever expire (time-to-live −1): the service's default of 7 days would silently drop
/// a signature job that waited out a long outage.</para>
/// <para><b>What the service lacks</b>, and what stands in: no sequence numbers (a <see cref="SequenceClock"/> per
/// instance), no message properties (the <see cref="QueueEnvelope"/>), no batch send (a batch is checked whole, then sent
/// message by message: see <see cref="IWorkQueue.SendBatchAsync"/>), no long polling (a receive polls with back-off up to
/// <see cref="MaxPollInterval"/>), at most 32 messages per receive, and a peek that sees only the first 32 messages.</para>
/// <para>The client must base64-encode messages (<see cref="ClientOptions"/>), as the Functions queue trigger expects.</para>
/// </remarks>
public sealed class QueueStorageWorkQueue : IWorkQueue
{
    /// <summary>The Functions convention for the queue that holds a queue's poison messages.</summary>
    public const string PoisonSuffix = "-poison";

    /// <summary>The most messages one receive returns (the service's limit).</summary>
    public const int MaxReceiveCount = 32;

    /// <summary>The longest pause between two looks of a waiting receive.</summary>
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);
    private static readonly TimeSpan FirstPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly TimeProvider _time;
    private readonly SequenceClock _sequence;

    /// <summary>The queue <paramref name="queueName"/> of <paramref name="service"/> and its poison queue.</summary>
    /// <param name="service">A client made with <see cref="ClientOptions"/> (base64 messages).</param>
    /// <param name="queueName">3 to 56 lowercase letters, digits and single hyphens (56 leaves room for <see cref="PoisonSuffix"/>).</param>
    /// <param name="options">Lock duration (whole seconds, up to 7 days), deliveries, size limit.</param>
    /// <param name="timeProvider">The clock for enqueue times, sequence numbers and the client-side lock check.</param>
    public QueueStorageWorkQueue(QueueServiceClient service, string queueName, WorkQueueOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ValidateQueueName(queueName);
        Options = options ?? new WorkQueueOptions();
        Options.Validate();
        if (Options.LockDuration.Ticks % TimeSpan.TicksPerSecond != 0 || Options.LockDuration > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.LockDuration, "Queue Storage takes a visibility timeout in whole seconds, up to 7 days.");
        }
        if (QueueEnvelope.EncodedLength(Options.MaxMessageBytes + WorkQueueOptions.EnvelopeReserveBytes) > QueueEnvelope.MaxEncodedBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxMessageBytes,
                $"Queue Storage carries at most {WorkQueueOptions.DefaultMaxMessageBytes} body bytes once base64-encoded with the message's envelope.");
        }
        _queue = service.GetQueueClient(queueName);
        _poison = service.GetQueueClient(queueName + PoisonSuffix);
        _time = timeProvider ?? TimeProvider.System;
        _sequence = new SequenceClock(_time);
    }

    public WorkQueueOptions Options { get; }

    /// <summary>The queue's name.</summary>
    public string Name => _queue.Name;

    /// <summary>
    /// Client options for this adapter: base64 messages, as the Functions queue trigger reads and writes them, and a
    /// message that is not base64 (another producer's) moved to the poison queue with its reason, instead of failing
    /// every receive of the queue from then on.
    /// </summary>
    public static QueueClientOptions ClientOptions(QueueClientOptions? options = null)
    {
        options ??= new QueueClientOptions();
        options.MessageEncoding = QueueMessageEncoding.Base64;
        options.MessageDecodingFailed -= MoveUndecodableAsync;
        options.MessageDecodingFailed += MoveUndecodableAsync;
        return options;
    }

    /// <summary>Creates the queue and its poison queue unless they exist.</summary>
    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        await SendWrappedAsync(Wrap(message), cancellationToken).ConfigureAwait(false);

    public async Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Every message is wrapped and checked before the first is sent: a refused message sends none.
        var wrapped = messages.Select(Wrap).ToArray();
        foreach (var bytes in wrapped)
        {
            await SendWrappedAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        var deadline = _time.GetUtcNow() + maxWait;
        var pause = FirstPollInterval;
        while (true)
        {
            var received = await TryReceiveAsync(Math.Min(maxMessages, MaxReceiveCount), cancellationToken).ConfigureAwait(false);
            var left = deadline - _time.GetUtcNow();
            if (received.Count > 0 || left <= TimeSpan.Zero)
            {
                return received;
            }
            await Task.Delay(left < pause ? left : pause, _time, cancellationToken).ConfigureAwait(false);
            pause = pause * 2 < MaxPollInterval ? pause * 2 : MaxPollInterval;
        }
    }

    public async Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        var (id, receipt) = Lock(message);
        await Settle(message, () => _queue.DeleteMessageAsync(id, receipt, cancellationToken)).ConfigureAwait(false);
    }

    public async Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.DeliveryCount >= Options.MaxDeliveryCount)
        {
            await DeadLetterAsync(message, DeadLetterReasons.MaxDeliveryCountExceeded, $"Abandoned after {message.DeliveryCount} deliveries.", cancellationToken).ConfigureAwait(false);
            return;
        }
        var (id, receipt) = Lock(message);
        await Settle(message, () => _queue.UpdateMessageAsync(id, receipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        var (id, receipt) = Lock(message);
        var renewed = await Settle(message, () => _queue.UpdateMessageAsync(id, receipt, visibilityTimeout: Options.LockDuration, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return message with { LockToken = Token(id, renewed.Value.PopReceipt), LockedUntil = renewed.Value.NextVisibleOn };
    }

    public async Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var (id, receipt) = Lock(message);
        // Proving the lock first (by renewing it) means a consumer that lost its lock cannot add a second dead letter.
        var held = await Settle(message, () => _queue.UpdateMessageAsync(id, receipt, visibilityTimeout: Options.LockDuration, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await MoveToPoisonAsync(message, reason, description, cancellationToken).ConfigureAwait(false);
        await Settle(message, () => _queue.DeleteMessageAsync(id, held.Value.PopReceipt, cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        await MoveAllExhaustedAsync(cancellationToken).ConfigureAwait(false);
        var all = await ReadPoisonAsync(cancellationToken).ConfigureAwait(false);
        return all.Where(m => m.SequenceNumber >= fromSequenceNumber).Take(maxMessages).ToArray();
    }

    private async Task<IReadOnlyList<ReceivedMessage>> TryReceiveAsync(int maxMessages, CancellationToken cancellationToken)
    {
        var messages = (await Call(() => _queue.ReceiveMessagesAsync(maxMessages, Options.LockDuration, cancellationToken)).ConfigureAwait(false)).Value;
        var received = new List<ReceivedMessage>(messages.Length);
        foreach (var raw in messages)
        {
            if (raw.DequeueCount > Options.MaxDeliveryCount)
            {
                await MoveExhaustedAsync(raw, cancellationToken).ConfigureAwait(false);
                continue;
            }
            received.Add(FromService(raw));
        }
        return received;
    }

    /// <summary>
    /// Moves messages whose deliveries are used up and whose last lock expired, so they are listed without waiting for a
    /// worker's receive. Peeking shows their dequeue count without side effects; moving one needs a receive, which takes the
    /// front of the queue, so a message received alongside that is not exhausted is given back at once (its dequeue
    /// count then counts this look as a delivery: at most one message per exhausted one, and only on a listing).
    /// </summary>
    private async Task MoveAllExhaustedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var peeked = (await Call(() => _queue.PeekMessagesAsync(MaxReceiveCount, cancellationToken)).ConfigureAwait(false)).Value;
            if (!peeked.Any(p => p.DequeueCount >= Options.MaxDeliveryCount))
            {
                return;
            }
            var raw = (await Call(() => _queue.ReceiveMessagesAsync(1, Options.LockDuration, cancellationToken)).ConfigureAwait(false)).Value.SingleOrDefault();
            if (raw is null)
            {
                return;
            }
            if (raw.DequeueCount <= Options.MaxDeliveryCount)
            {
                await Call(() => _queue.UpdateMessageAsync(raw.MessageId, raw.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return;
            }
            await MoveExhaustedAsync(raw, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves a message received with more dequeues than deliveries allowed: its last lock expired with every delivery used,
    /// so this receive is not a delivery but the move to poison, with the deliveries it really had.
    /// </summary>
    private async Task MoveExhaustedAsync(QueueMessage raw, CancellationToken cancellationToken)
    {
        var last = FromService(raw) with { DeliveryCount = (int)raw.DequeueCount - 1 };
        await MoveToPoisonAsync(last, DeadLetterReasons.MaxDeliveryCountExceeded, $"The lock of delivery {last.DeliveryCount} expired and no deliveries are left.", cancellationToken).ConfigureAwait(false);
        await Call(() => _queue.DeleteMessageAsync(raw.MessageId, raw.PopReceipt, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Every dead letter, in sequence order, duplicates dropped. A peek sees the first 32 messages only; when there may be
    /// more, they are received (hidden for a moment) and given back at once, which other listings running at that
    /// instant would not see.
    /// </summary>
    private async Task<List<DeadLetteredMessage>> ReadPoisonAsync(CancellationToken cancellationToken)
    {
        var found = new List<DeadLetteredMessage>();
        var peeked = (await Call(() => _poison.PeekMessagesAsync(MaxReceiveCount, cancellationToken)).ConfigureAwait(false)).Value;
        if (peeked.Length < MaxReceiveCount)
        {
            found.AddRange(peeked.Select(p => FromPoison(p.Body, p.MessageId, p.DequeueCount, p.InsertedOn)));
        }
        else
        {
            var taken = new List<QueueMessage>();
            try
            {
                while ((await Call(() => _poison.ReceiveMessagesAsync(MaxReceiveCount, TimeSpan.FromSeconds(30), cancellationToken)).ConfigureAwait(false)).Value is { Length: > 0 } batch)
                {
                    taken.AddRange(batch);
                }
            }
            finally
            {
                foreach (var m in taken)
                {
                    await Call(() => _poison.UpdateMessageAsync(m.MessageId, m.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
                }
            }
            found.AddRange(taken.Select(m => FromPoison(m.Body, m.MessageId, m.DequeueCount, m.InsertedOn)));
        }
        return found.GroupBy(m => m.SequenceNumber).Select(g => g.First()).OrderBy(m => m.SequenceNumber).ToList();
    }

    private static async Task MoveUndecodableAsync(QueueMessageDecodingFailedEventArgs args)
    {
        // Peeks only skip it; a receive on a poison queue leaves it where it is (a record cannot be dead-lettered again).
        if (args.ReceivedMessage is not { } raw || args.Queue.Name.EndsWith(PoisonSuffix, StringComparison.Ordinal))
        {
            return;
        }
        var inserted = raw.InsertedOn ?? DateTimeOffset.UtcNow;
        var envelope = new QueueEnvelope(raw.MessageId, SequenceClock.Of(inserted), "text/plain", inserted.ToUnixTimeMilliseconds());
        var bytes = envelope.WrapDeadLetter(raw.Body.ToMemory().Span, (int)raw.DequeueCount, DateTimeOffset.UtcNow, "UndecodableMessage",
            "The message is not base64 text, the encoding this queue uses; its text is kept as the body.");
        var poison = args.Queue.GetParentQueueServiceClient().GetQueueClient(args.Queue.Name + PoisonSuffix);
        await poison.SendMessageAsync(new BinaryData(bytes), timeToLive: NeverExpires, cancellationToken: args.CancellationToken).ConfigureAwait(false);
        await args.Queue.DeleteMessageAsync(raw.MessageId, raw.PopReceipt, args.CancellationToken).ConfigureAwait(false);
    }

    private async Task MoveToPoisonAsync(ReceivedMessage message, string reason, string? description, CancellationToken cancellationToken)
    {
        var envelope = new QueueEnvelope(message.MessageId, message.SequenceNumber, message.ContentType, message.EnqueuedAt.ToUnixTimeMilliseconds());
        var bytes = envelope.WrapDeadLetter(message.Body.Span, message.DeliveryCount, _time.GetUtcNow(), reason, description);
        await Call(() => _poison.SendMessageAsync(new BinaryData(bytes), timeToLive: NeverExpires, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private byte[] Wrap(OutgoingMessage message)
    {
        Options.CheckOutgoing(message);
        var envelope = new QueueEnvelope(message.MessageId ?? Guid.NewGuid().ToString("N"), _sequence.Next(), message.ContentType ?? "application/octet-stream",
            _time.GetUtcNow().ToUnixTimeMilliseconds());
        var bytes = envelope.Wrap(message.Body.Span);
        if (QueueEnvelope.EncodedLength(bytes.Length) > QueueEnvelope.MaxEncodedBytes)
        {
            throw new WorkQueueException(WorkQueueErrorCode.MessageTooLarge,
                $"The message takes {QueueEnvelope.EncodedLength(bytes.Length)} bytes once encoded; Queue Storage takes {QueueEnvelope.MaxEncodedBytes}.");
        }
        return bytes;
    }

    private async Task SendWrappedAsync(byte[] bytes, CancellationToken cancellationToken) =>
        await Call(() => _queue.SendMessageAsync(new BinaryData(bytes), timeToLive: NeverExpires, cancellationToken: cancellationToken)).ConfigureAwait(false);

    private ReceivedMessage FromService(QueueMessage raw)
    {
        var inserted = raw.InsertedOn ?? _time.GetUtcNow();
        var token = Token(raw.MessageId, raw.PopReceipt);
        var lockedUntil = raw.NextVisibleOn ?? _time.GetUtcNow() + Options.LockDuration;
        return QueueEnvelope.TryUnwrap(raw.Body.ToMemory()) is var (envelope, body)
            ? new ReceivedMessage(envelope.MessageId, envelope.SequenceNumber, body, envelope.ContentType, (int)raw.DequeueCount,
                DateTimeOffset.FromUnixTimeMilliseconds(envelope.EnqueuedAtMs), token, lockedUntil)
            // Written by another producer: the whole text is the body, and the service's id and insertion time stand in.
            : new ReceivedMessage(raw.MessageId, SequenceClock.Of(inserted), raw.Body.ToMemory(), "application/octet-stream", (int)raw.DequeueCount, inserted, token, lockedUntil);
    }

    private static DeadLetteredMessage FromPoison(BinaryData body, string messageId, long dequeueCount, DateTimeOffset? insertedOn)
    {
        var inserted = insertedOn ?? DateTimeOffset.UnixEpoch;
        if (QueueEnvelope.TryUnwrap(body.ToMemory()) is var (envelope, content))
        {
            return new DeadLetteredMessage(envelope.MessageId, envelope.SequenceNumber, content, envelope.ContentType, envelope.DeliveryCount ?? (int)dequeueCount,
                DateTimeOffset.FromUnixTimeMilliseconds(envelope.EnqueuedAtMs), envelope.DeadLetteredAtMs is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : inserted,
                envelope.Reason ?? "Unknown", envelope.Description);
        }
        // Put there by someone else, e.g. the Functions runtime moving a message it could not process: kept, with what is known.
        return new DeadLetteredMessage(messageId, SequenceClock.Of(inserted), body.ToMemory(), "application/octet-stream", (int)dequeueCount, inserted, inserted,
            "Unknown", "The poison queue holds this message without a Motif dead-letter record.");
    }

    private static string Token(string messageId, string popReceipt) => $"{messageId}:{popReceipt}";

    // The port's lock check, on this machine's clock (see the class remarks), then the service's id and pop receipt.
    private (string Id, string PopReceipt) Lock(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var colon = message.LockToken?.IndexOf(':') ?? -1;
        if (colon <= 0)
        {
            throw new ArgumentException("The message was not received from a Queue Storage work queue.", nameof(message));
        }
        if (_time.GetUtcNow() >= message.LockedUntil)
        {
            throw LockLost(message);
        }
        return (message.LockToken![..colon], message.LockToken[(colon + 1)..]);
    }

    private static async Task<T> Settle<T>(ReceivedMessage message, Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404 || e.ErrorCode == QueueErrorCode.PopReceiptMismatch)
        {
            // Deleted (settled) already, or received by someone else since: the receipt is no longer the message's.
            throw LockLost(message);
        }
        catch (RequestFailedException e)
        {
            throw Translate(e);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw Translate(e);
        }
    }

    private static Exception Translate(RequestFailedException e) =>
        e.Status == 413 || e.ErrorCode == QueueErrorCode.RequestBodyTooLarge || e.ErrorCode == QueueErrorCode.MessageTooLarge
            ? new WorkQueueException(WorkQueueErrorCode.MessageTooLarge, e.Message.Split('\n')[0].Trim())
            : e;

    private static WorkQueueException LockLost(ReceivedMessage message) => new(WorkQueueErrorCode.MessageLockLost,
        $"The lock on message {message.SequenceNumber} ('{message.MessageId}') expired or the message was already settled.");

    private static void ValidateQueueName(string queueName)
    {
        ArgumentNullException.ThrowIfNull(queueName);
        var valid = queueName.Length is >= 3 and <= 63 - 7 && char.IsAsciiLetterOrDigit(queueName[0]) && char.IsAsciiLetterOrDigit(queueName[^1])
            && queueName.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && !queueName.Contains("--", StringComparison.Ordinal);
        if (!valid)
        {
            throw new ArgumentException($"Invalid queue name '{queueName}': 3 to 56 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.", nameof(queueName));
        }
    }
}
