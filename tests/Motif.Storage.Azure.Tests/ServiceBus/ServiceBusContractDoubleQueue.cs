using Azure.Messaging.ServiceBus;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// One queue entity of the <see cref="ServiceBusContractDouble"/>: its active messages, their locks, and its dead-letter
/// subqueue. Not Service Bus: a state machine that keeps the broker's documented semantics (see the double's remarks)
/// on an injected clock. All state changes under one lock, so concurrent receivers never lock one message twice.
/// </summary>
public sealed class ServiceBusContractDoubleQueue
{
    /// <summary>The reason Service Bus gives a message delivered MaxDeliveryCount times.</summary>
    public const string MaxDeliveryCountExceeded = "MaxDeliveryCountExceeded";

    // The keys of the broker-set application properties of a dead-lettered message (the SDK's AmqpMessageConstants).
    private const string DeadLetterReasonHeader = "DeadLetterReason";
    private const string DeadLetterErrorDescriptionHeader = "DeadLetterErrorDescription";

    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, Stored> _active = [];
    private readonly SortedDictionary<long, Stored> _deadLettered = [];
    private long _lastSequenceNumber;
    private TaskCompletionSource _changed = NewSignal();
    private ServiceBusFailureReason? _injectedFailure;

    internal ServiceBusContractDoubleQueue(string name, TimeSpan lockDuration, int maxDeliveryCount, TimeProvider clock)
    {
        Name = name;
        LockDuration = lockDuration;
        MaxDeliveryCount = maxDeliveryCount;
        Clock = clock;
    }

    public string Name { get; }

    /// <summary>The entity's LockDuration.</summary>
    public TimeSpan LockDuration { get; }

    /// <summary>The entity's MaxDeliveryCount.</summary>
    public int MaxDeliveryCount { get; }

    internal TimeProvider Clock { get; }

    /// <summary>Completes (and is replaced) whenever a message may have become receivable: a send, an abandon, an expired lock.</summary>
    internal Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Messages in the queue proper, locked or not (what Service Bus counts as active).</summary>
    public int ActiveMessageCount => Inspect(now =>
    {
        ApplyExpiredLocks(now);
        return _active.Count;
    });

    /// <summary>Messages in the dead-letter subqueue.</summary>
    public int DeadLetterMessageCount => Inspect(now =>
    {
        ApplyExpiredLocks(now);
        return _deadLettered.Count;
    });

    /// <summary>The next request to this entity fails with <paramref name="reason"/>, as a fault of the service would.</summary>
    public void FailNextRequest(ServiceBusFailureReason reason)
    {
        lock (_gate)
        {
            _injectedFailure = reason;
        }
    }

    /// <summary>Enqueues <paramref name="messages"/> atomically, in order, each under the next sequence number.</summary>
    internal void Enqueue(IReadOnlyList<ServiceBusMessage> messages) => Locked(now =>
    {
        foreach (var message in messages)
        {
            var sequenceNumber = ++_lastSequenceNumber;
            _active.Add(sequenceNumber, new Stored(sequenceNumber, message.MessageId, message.Body, message.ContentType, now,
                new Dictionary<string, object>(message.ApplicationProperties)));
        }
        Signal();
    });

    /// <summary>Locks up to <paramref name="maxMessages"/> receivable messages for <paramref name="holder"/>, in sequence order.</summary>
    internal IReadOnlyList<ServiceBusReceivedMessage> Receive(object holder, int maxMessages) => Locked(now =>
    {
        ApplyExpiredLocks(now);
        var received = new List<ServiceBusReceivedMessage>();
        foreach (var message in _active.Values.Where(m => m.Holder is null).Take(maxMessages))
        {
            message.DeliveryCount++;
            message.LockToken = Guid.NewGuid();
            message.LockedUntil = now + LockDuration;
            message.Holder = holder;
            received.Add(message.ToReceived(message.LockToken));
        }
        return received;
    });

    /// <summary>The earliest time a lock expires, if any message is locked: a waiting receiver looks again then.</summary>
    internal DateTimeOffset? NextLockExpiry() => Inspect(now =>
    {
        ApplyExpiredLocks(now);
        return _active.Values.Where(m => m.Holder is not null).Select(m => (DateTimeOffset?)m.LockedUntil).Min();
    });

    internal void Complete(object holder, Guid lockToken) => Locked(now =>
    {
        var message = RequireLock(holder, lockToken, now);
        _active.Remove(message.SequenceNumber);
    });

    internal void Abandon(object holder, Guid lockToken, IDictionary<string, object>? propertiesToModify) => Locked(now =>
    {
        var message = RequireLock(holder, lockToken, now);
        Modify(message, propertiesToModify);
        ReleaseLock(message);
    });

    internal void DeadLetter(object holder, Guid lockToken, string? reason, string? description, IDictionary<string, object>? propertiesToModify) => Locked(now =>
    {
        var message = RequireLock(holder, lockToken, now);
        Modify(message, propertiesToModify);
        MoveToDeadLetters(message, reason, description);
    });

    /// <summary>Extends the lock by LockDuration from now and returns its new expiry.</summary>
    internal DateTimeOffset RenewLock(object holder, Guid lockToken) => Locked(now =>
    {
        var message = RequireLock(holder, lockToken, now);
        message.LockedUntil = now + LockDuration;
        return message.LockedUntil;
    });

    /// <summary>Up to <paramref name="maxMessages"/> messages of the queue or its dead-letter subqueue from <paramref name="fromSequenceNumber"/>, without locking them.</summary>
    internal IReadOnlyList<ServiceBusReceivedMessage> Peek(bool deadLetters, long fromSequenceNumber, int maxMessages) => Locked(now =>
    {
        ApplyExpiredLocks(now);
        var source = deadLetters ? _deadLettered : _active;
        return (IReadOnlyList<ServiceBusReceivedMessage>)[.. source.Values.Where(m => m.SequenceNumber >= fromSequenceNumber).Take(maxMessages)
            .Select(m => m.ToReceived(Guid.Empty))];
    });

    private void Locked(Action<DateTimeOffset> operation) => Locked(now =>
    {
        operation(now);
        return true;
    });

    /// <summary>Runs the request <paramref name="operation"/> under the entity's lock with the clock's now, unless a fault was injected for it.</summary>
    private T Locked<T>(Func<DateTimeOffset, T> operation) => Inspect(now =>
    {
        if (_injectedFailure is { } reason)
        {
            _injectedFailure = null;
            throw new ServiceBusException($"Injected {reason} (contract double).", reason, Name);
        }
        return operation(now);
    });

    /// <summary>Runs <paramref name="operation"/> under the entity's lock with the clock's now (no request: injected faults wait).</summary>
    private T Inspect<T>(Func<DateTimeOffset, T> operation)
    {
        lock (_gate)
        {
            return operation(Clock.GetUtcNow());
        }
    }

    // A lock that expired unsettled: the message is receivable again, or, with its deliveries used up, dead-lettered.
    private void ApplyExpiredLocks(DateTimeOffset now)
    {
        foreach (var message in _active.Values.Where(m => m.Holder is not null && m.LockedUntil <= now).ToList())
        {
            ReleaseLock(message);
        }
    }

    private void ReleaseLock(Stored message)
    {
        message.Holder = null;
        message.LockToken = Guid.Empty;
        if (message.DeliveryCount >= MaxDeliveryCount)
        {
            MoveToDeadLetters(message, MaxDeliveryCountExceeded, $"Message could not be consumed after {MaxDeliveryCount} delivery attempts.");
            return;
        }
        Signal();
    }

    private void MoveToDeadLetters(Stored message, string? reason, string? description)
    {
        _active.Remove(message.SequenceNumber);
        message.Holder = null;
        message.LockToken = Guid.Empty;
        if (reason is not null)
        {
            message.Properties[DeadLetterReasonHeader] = reason;
        }
        if (description is not null)
        {
            message.Properties[DeadLetterErrorDescriptionHeader] = description;
        }
        _deadLettered.Add(message.SequenceNumber, message);
    }

    /// <summary>The message <paramref name="holder"/> locked under <paramref name="lockToken"/>, if that lock is still current; else MessageLockLost.</summary>
    private Stored RequireLock(object holder, Guid lockToken, DateTimeOffset now)
    {
        ApplyExpiredLocks(now);
        return _active.Values.FirstOrDefault(m => m.LockToken == lockToken && ReferenceEquals(m.Holder, holder))
            ?? throw new ServiceBusException(
                "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue (contract double).",
                ServiceBusFailureReason.MessageLockLost, Name);
    }

    private static void Modify(Stored message, IDictionary<string, object>? propertiesToModify)
    {
        foreach (var property in propertiesToModify ?? new Dictionary<string, object>())
        {
            message.Properties[property.Key] = property.Value;
        }
    }

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A message as the broker stores it.</summary>
    private sealed class Stored(long sequenceNumber, string? messageId, BinaryData body, string? contentType, DateTimeOffset enqueuedTime,
        Dictionary<string, object> properties)
    {
        public long SequenceNumber { get; } = sequenceNumber;

        public Dictionary<string, object> Properties { get; } = properties;

        public int DeliveryCount { get; set; }

        public Guid LockToken { get; set; }

        public DateTimeOffset LockedUntil { get; set; }

        /// <summary>The receiver holding the current lock; null when the message is not locked.</summary>
        public object? Holder { get; set; }

        /// <summary>The SDK's view of the message, as a receive (with a lock token) or a peek (without) returns it.</summary>
        public ServiceBusReceivedMessage ToReceived(Guid lockToken) => ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: body, messageId: messageId, contentType: contentType, properties: new Dictionary<string, object>(Properties),
            lockTokenGuid: lockToken, deliveryCount: DeliveryCount, lockedUntil: lockToken == Guid.Empty ? default : LockedUntil,
            sequenceNumber: SequenceNumber, enqueuedTime: enqueuedTime);
    }
}
