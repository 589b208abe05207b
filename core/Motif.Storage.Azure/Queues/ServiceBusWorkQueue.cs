using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Queues;

/// <summary>Options of <see cref="ServiceBusWorkQueue"/> that concern Service Bus only.</summary>
public sealed record ServiceBusWorkQueueOptions
{
    /// <summary>
    /// The shortest wait a receive is given. Service Bus has no "give me what is there now": the SDK refuses a zero
    /// <c>maxWaitTime</c> (it must be positive), and with no prefetch the messages that are available reach the client
    /// one round trip after the receive grants credit, so a wait shorter than that round trip returns nothing even from
    /// a full queue. A <c>maxWait</c> below this (including the port's default of zero) is raised to it; it only costs
    /// time when the queue has nothing to deliver, since a receive returns as soon as messages arrive.
    /// </summary>
    public TimeSpan MinimumReceiveWait { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// <see cref="IWorkQueue"/> on one Azure Service Bus queue, through Azure.Messaging.ServiceBus. The port was modelled on
/// this service, so peek-lock, delivery counts, lock renewal and the dead-letter subqueue are Service Bus's own; the
/// adapter translates types and errors and adds nothing the broker already does (it does not count deliveries or
/// dead-letter after <see cref="WorkQueueOptions.MaxDeliveryCount"/>: the broker does).
/// </summary>
/// <remarks>
/// <para><b>The entity's settings.</b> <see cref="WorkQueueOptions.LockDuration"/> and
/// <see cref="WorkQueueOptions.MaxDeliveryCount"/> must equal the queue's LockDuration and MaxDeliveryCount as
/// configured in Azure (in the Bicep that creates it). The adapter cannot set or read them: that takes Manage rights,
/// which a worker's Send/Listen identity does not have. <see cref="IWorkQueue.Options"/> reports what the caller passed;
/// the broker enforces what the entity says. <see cref="WorkQueueOptions.MaxMessageBytes"/> is checked here, before
/// any request.</para>
/// <para><b>Sending.</b> <see cref="SendAsync"/> is one <see cref="ServiceBusSender.SendMessageAsync"/>.
/// <see cref="SendBatchAsync"/> checks every message, then fills one <see cref="ServiceBusMessageBatch"/> and sends it
/// with one <see cref="ServiceBusSender.SendMessagesAsync(ServiceBusMessageBatch, CancellationToken)"/>, which the
/// broker accepts or refuses as a whole. Messages that do not all fit in one batch (256 KiB on the Standard tier) are
/// refused with <see cref="WorkQueueErrorCode.MessageTooLarge"/> and nothing is sent: splitting them over several
/// sends would break the port's all-or-nothing promise.</para>
/// <para><b>Receiving.</b> One <see cref="ServiceBusReceiver"/> in PeekLock mode with no prefetch (a prefetched
/// message is locked while it waits in the client, its lock running down unseen). A wait shorter than
/// <see cref="ServiceBusWorkQueueOptions.MinimumReceiveWait"/>, zero included, is raised to it (see there why).</para>
/// <para><b>Settling.</b> The SDK settles a <see cref="ServiceBusReceivedMessage"/> through the receiver that received
/// it, so this instance keeps the messages it delivered by lock token until they are settled. A token it does not hold
/// (settled already, or received elsewhere) is <see cref="WorkQueueErrorCode.MessageLockLost"/> without a request.
/// Entries whose lock expired at least a lock duration ago are dropped at the next receive; settling them afterwards
/// is the same MessageLockLost the broker would answer. Renewal keeps the lock token (Service Bus renews the lock,
/// not the delivery) and returns the message with the broker's new <see cref="ReceivedMessage.LockedUntil"/>.</para>
/// <para><b>Dead letters.</b> A second receiver on <see cref="SubQueue.DeadLetter"/> peeks them with an explicit
/// <c>fromSequenceNumber</c> (without one, the SDK would continue after the last message this receiver peeked).
/// The reason and description are the broker's DeadLetterReason and DeadLetterErrorDescription properties. Service
/// Bus records no time of dead-lettering, so <see cref="DeadLetterAsync"/> stamps one itself, in the
/// <see cref="DeadLetteredAtProperty"/> application property that the dead-letter disposition carries; a message the
/// broker dead-lettered (MaxDeliveryCountExceeded) has no stamp and reports its
/// <see cref="ServiceBusReceivedMessage.EnqueuedTime"/>, the closest true value: it was moved at or after that time.
/// <see cref="DeadLetteredMessage.SequenceNumber"/> is the one the message carries in the dead-letter subqueue, which
/// is the number the subqueue's peek pages by. Microsoft's documentation names one case in which a message's sequence
/// number changes, a scheduled message becoming active, and none for dead-lettering, so it is the one it had in the
/// queue (should the broker ever renumber, it would still be the number to page by).</para>
/// <para><b>Errors.</b> <see cref="ServiceBusException.Reason"/> becomes a <see cref="WorkQueueErrorCode"/> as
/// <see cref="ServiceBusErrors"/> documents; anything else is left as the SDK's exception, after its retries.</para>
/// <para><b>Lifetime.</b> The <see cref="ServiceBusClient"/> belongs to the caller (one per process, shared by every
/// queue); <see cref="DisposeAsync"/> closes the sender and the two receivers this instance created. Messages still
/// locked by it can then no longer be settled through it; Service Bus redelivers them when their locks expire.</para>
/// </remarks>
public sealed class ServiceBusWorkQueue : IWorkQueue, IAsyncDisposable
{
    /// <summary>The application property in which <see cref="DeadLetterAsync"/> records when it dead-lettered a message (a UTC <see cref="DateTime"/>).</summary>
    public const string DeadLetteredAtProperty = "Motif.DeadLetteredAt";

    private readonly ServiceBusSender _sender;
    private readonly ServiceBusReceiver _receiver;
    private readonly ServiceBusReceiver _deadLetters;
    private readonly ServiceBusWorkQueueOptions _serviceBusOptions;
    private readonly TimeProvider _time;

    // The deliveries this instance received and has not settled, by lock token: the SDK settles the received object.
    private readonly ConcurrentDictionary<string, Delivery> _inFlight = new(StringComparer.OrdinalIgnoreCase);
    private int _disposed;

    /// <summary>The queue <paramref name="queueName"/> of the namespace <paramref name="client"/> connects to.</summary>
    /// <param name="client">The caller's client; it stays the caller's to dispose.</param>
    /// <param name="queueName">The Service Bus queue (not a topic).</param>
    /// <param name="options">Must equal the entity's LockDuration and MaxDeliveryCount (see the remarks).</param>
    /// <param name="serviceBusOptions">Receive tuning; the defaults suit a worker.</param>
    /// <param name="timeProvider">The clock of <see cref="DeadLetteredAtProperty"/> stamps and of forgetting expired locks.</param>
    public ServiceBusWorkQueue(ServiceBusClient client, string queueName, WorkQueueOptions options,
        ServiceBusWorkQueueOptions? serviceBusOptions = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _serviceBusOptions = serviceBusOptions ?? new ServiceBusWorkQueueOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_serviceBusOptions.MinimumReceiveWait, TimeSpan.Zero, nameof(serviceBusOptions));
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        QueueName = queueName;
        _sender = client.CreateSender(queueName);
        _receiver = client.CreateReceiver(queueName, new ServiceBusReceiverOptions
        {
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            PrefetchCount = 0,
        });
        _deadLetters = client.CreateReceiver(queueName, new ServiceBusReceiverOptions
        {
            SubQueue = SubQueue.DeadLetter,
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            PrefetchCount = 0,
        });
    }

    public WorkQueueOptions Options { get; }

    /// <summary>The Service Bus queue's name.</summary>
    public string QueueName { get; }

    public async Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        Options.CheckOutgoing(message);
        await Call(() => _sender.SendMessageAsync(ToServiceBus(message), cancellationToken)).ConfigureAwait(false);
    }

    public async Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Options.CheckOutgoing(message);
        }
        if (messages.Count == 0)
        {
            return;
        }
        using var batch = await Call(() => _sender.CreateMessageBatchAsync(cancellationToken).AsTask()).ConfigureAwait(false);
        for (var i = 0; i < messages.Count; i++)
        {
            if (!batch.TryAddMessage(ToServiceBus(messages[i])))
            {
                throw new WorkQueueException(WorkQueueErrorCode.MessageTooLarge,
                    $"The {messages.Count} messages do not fit in one Service Bus batch ({batch.MaxSizeInBytes} bytes); message {i} is the first " +
                    "that does not fit. Nothing was sent: send them in smaller batches.");
            }
        }
        await Call(() => _sender.SendMessagesAsync(batch, cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        ForgetExpiredLocks();
        var wait = maxWait < _serviceBusOptions.MinimumReceiveWait ? _serviceBusOptions.MinimumReceiveWait : maxWait;
        var received = await Call(() => _receiver.ReceiveMessagesAsync(maxMessages, wait, cancellationToken)).ConfigureAwait(false);
        var messages = new List<ReceivedMessage>(received.Count);
        foreach (var message in received)
        {
            _inFlight[message.LockToken] = new Delivery(message);
            messages.Add(new ReceivedMessage(message.MessageId ?? "", message.SequenceNumber, message.Body.ToMemory(), ContentTypeOf(message),
                message.DeliveryCount, message.EnqueuedTime, message.LockToken, message.LockedUntil));
        }
        return messages;
    }

    public Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default) =>
        SettleAsync(message, held => _receiver.CompleteMessageAsync(held, cancellationToken));

    public Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default) =>
        SettleAsync(message, held => _receiver.AbandonMessageAsync(held, cancellationToken: cancellationToken));

    public async Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        var held = Held(message);
        // The SDK's RenewMessageLockAsync(message) sets the message's LockedUntil to the broker's answer.
        await ForgetOnLockLost(message, held, () => _receiver.RenewMessageLockAsync(held.Message, cancellationToken)).ConfigureAwait(false);
        held.LockedUntil = held.Message.LockedUntil;
        return message with { LockedUntil = held.LockedUntil };
    }

    public Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        // Service Bus keeps no time of dead-lettering; the disposition carries ours, atomically with the move.
        var stamp = new Dictionary<string, object> { [DeadLetteredAtProperty] = _time.GetUtcNow().UtcDateTime };
        return SettleAsync(message, held => _receiver.DeadLetterMessageAsync(held, stamp, reason, description, cancellationToken));
    }

    public async Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var peeked = await Call(() => _deadLetters.PeekMessagesAsync(maxMessages, Math.Max(0, fromSequenceNumber), cancellationToken)).ConfigureAwait(false);
        return [.. peeked.Select(m => new DeadLetteredMessage(m.MessageId ?? "", m.SequenceNumber, m.Body.ToMemory(), ContentTypeOf(m), m.DeliveryCount,
            m.EnqueuedTime, DeadLetteredAt(m), m.DeadLetterReason ?? "", m.DeadLetterErrorDescription))];
    }

    /// <summary>Closes the sender and both receivers (not the client, which is the caller's).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _inFlight.Clear();
        await _sender.DisposeAsync().ConfigureAwait(false);
        await _receiver.DisposeAsync().ConfigureAwait(false);
        await _deadLetters.DisposeAsync().ConfigureAwait(false);
    }

    private async Task SettleAsync(ReceivedMessage message, Func<ServiceBusReceivedMessage, Task> settle)
    {
        var held = Held(message);
        await ForgetOnLockLost(message, held, () => settle(held.Message)).ConfigureAwait(false);
        _inFlight.TryRemove(new KeyValuePair<string, Delivery>(message.LockToken, held));
    }

    /// <summary>Runs <paramref name="request"/>; a lost lock also ends this instance's hold on the delivery.</summary>
    private async Task ForgetOnLockLost(ReceivedMessage message, Delivery held, Func<Task> request)
    {
        try
        {
            await Call(request).ConfigureAwait(false);
        }
        catch (WorkQueueException e) when (e.ErrorCode == WorkQueueErrorCode.MessageLockLost)
        {
            _inFlight.TryRemove(new KeyValuePair<string, Delivery>(message.LockToken, held));
            throw;
        }
    }

    /// <summary>This instance's record of <paramref name="message"/>'s delivery, or MessageLockLost if it does not hold it.</summary>
    private Delivery Held(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return _inFlight.TryGetValue(message.LockToken ?? "", out var held)
            ? held
            : throw new WorkQueueException(WorkQueueErrorCode.MessageLockLost,
                $"The lock on message {message.SequenceNumber} ('{message.MessageId}') expired or the message was already settled (this queue holds no lock {message.LockToken}).");
    }

    // A delivery nobody settled would otherwise stay here for good. Its lock has been gone for a whole lock duration
    // (slack for clock skew between this machine and the broker), so settling it could only fail with MessageLockLost.
    private void ForgetExpiredLocks()
    {
        var before = _time.GetUtcNow() - Options.LockDuration;
        foreach (var entry in _inFlight)
        {
            if (entry.Value.LockedUntil < before)
            {
                _inFlight.TryRemove(entry);
            }
        }
    }

    private static ServiceBusMessage ToServiceBus(OutgoingMessage message) => new(message.Body)
    {
        MessageId = message.MessageId ?? Guid.NewGuid().ToString("N"),
        ContentType = message.ContentType ?? "application/octet-stream",
    };

    private static string ContentTypeOf(ServiceBusReceivedMessage message) => message.ContentType ?? "application/octet-stream";

    private static DateTimeOffset DeadLetteredAt(ServiceBusReceivedMessage message) =>
        message.ApplicationProperties.TryGetValue(DeadLetteredAtProperty, out var stamp) ? stamp switch
        {
            DateTime utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)),
            DateTimeOffset at => at,
            _ => message.EnqueuedTime,
        } : message.EnqueuedTime;

    private static async Task Call(Func<Task> request)
    {
        try
        {
            await request().ConfigureAwait(false);
        }
        catch (ServiceBusException e) when (ServiceBusErrors.ToCode(e) is { } code)
        {
            throw Translate(code, e);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (ServiceBusException e) when (ServiceBusErrors.ToCode(e) is { } code)
        {
            throw Translate(code, e);
        }
    }

    private static WorkQueueException Translate(WorkQueueErrorCode code, ServiceBusException e) =>
        new(code, $"Service Bus answered {e.Reason}: {e.Message.Split('\n')[0].Trim()}");

    /// <summary>A delivery this instance holds: the SDK's message, which settling needs, and its lock's expiry.</summary>
    /// <remarks>The expiry is kept here, not read from the SDK's message, whose annotations a renewal rewrites without synchronisation.</remarks>
    private sealed class Delivery(ServiceBusReceivedMessage message)
    {
        private long _lockedUntilTicks = message.LockedUntil.UtcTicks;

        public ServiceBusReceivedMessage Message { get; } = message;

        public DateTimeOffset LockedUntil
        {
            get => new(Volatile.Read(ref _lockedUntilTicks), TimeSpan.Zero);
            set => Volatile.Write(ref _lockedUntilTicks, value.UtcTicks);
        }
    }
}
