using Azure.Messaging.ServiceBus;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// A <see cref="ServiceBusReceiver"/> of the <see cref="ServiceBusContractDouble"/> (not Service Bus) on one queue or its
/// dead-letter subqueue, in PeekLock mode without prefetch: the members the adapter calls, with the SDK's argument
/// checks and the broker's answers. Settling works only on messages this receiver received, as over a real receive link.
/// </summary>
/// <remarks>
/// <para>Long polling: a receive that finds nothing waits until a message becomes receivable (a send, an abandon, an
/// expired lock) or <c>maxWaitTime</c> passes. The SDK measures that wait on the client, with the machine's clock;
/// the double's broker runs on the test's clock, which a test may not advance while a short receive waits. So a wait
/// ends when its time has passed on either clock: a test fast-forwards a long poll with its fake clock, and a short one
/// ends on its own, as against Service Bus.</para>
/// <para>Members the adapter does not use (deferral, sessions, receive-and-delete, prefetch) throw
/// <see cref="NotSupportedException"/> rather than pretend.</para>
/// </remarks>
public sealed class ServiceBusContractDoubleReceiver : ServiceBusReceiver
{
    // The SDK's default TryTimeout, which a receive without maxWaitTime waits.
    private static readonly TimeSpan DefaultTryTimeout = TimeSpan.FromSeconds(60);

    // Task.Delay takes at most ~49 days; a longer wait simply looks again.
    private static readonly TimeSpan LongestSingleWait = TimeSpan.FromDays(1);

    private readonly ServiceBusContractDouble _broker;
    private readonly string _queueName;
    private readonly bool _deadLetters;
    private volatile bool _closed;

    internal ServiceBusContractDoubleReceiver(ServiceBusContractDouble broker, string queueName, ServiceBusReceiverOptions options)
    {
        if (options.ReceiveMode != ServiceBusReceiveMode.PeekLock || options.PrefetchCount != 0)
        {
            throw new NotSupportedException("The contract double models PeekLock receivers without prefetch only.");
        }
        if (options.SubQueue is not (SubQueue.None or SubQueue.DeadLetter))
        {
            throw new NotSupportedException("The contract double has no transfer dead-letter subqueue.");
        }
        _broker = broker;
        _queueName = queueName;
        _deadLetters = options.SubQueue == SubQueue.DeadLetter;
    }

    public override string FullyQualifiedNamespace => _broker.FullyQualifiedNamespace;

    public override string EntityPath => _deadLetters ? $"{_queueName}/$deadletterqueue" : _queueName;

    public override ServiceBusReceiveMode ReceiveMode => ServiceBusReceiveMode.PeekLock;

    public override int PrefetchCount => 0;

    public override bool IsClosed => _closed;

    public override async Task<IReadOnlyList<ServiceBusReceivedMessage>> ReceiveMessagesAsync(int maxMessages, TimeSpan? maxWaitTime = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ThrowIfClosed();
        if (maxWaitTime is { } asked && asked <= TimeSpan.Zero)
        {
            // As the SDK: "Argument maxWaitTime must be a positive timespan value."
            throw new ArgumentOutOfRangeException(nameof(maxWaitTime), asked, "Argument maxWaitTime must be a positive timespan value.");
        }
        ThrowIfDeadLetterReceiver();
        var queue = _broker.Queue(_queueName);
        var wait = maxWaitTime ?? DefaultTryTimeout;
        var clock = queue.Clock;
        var deadline = clock.GetUtcNow() + wait;
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Taken before looking, so a change between the look and the wait still wakes us.
            var changed = queue.Changed;
            var received = queue.Receive(this, maxMessages);
            var fakeLeft = deadline - clock.GetUtcNow();
            var realLeft = wait - TimeProvider.System.GetElapsedTime(started);
            if (received.Count > 0 || fakeLeft <= TimeSpan.Zero || realLeft <= TimeSpan.Zero)
            {
                return received;
            }
            // Look again when the next lock expires: its message may then be receivable.
            var untilExpiry = queue.NextLockExpiry() is { } expiry ? expiry - clock.GetUtcNow() : fakeLeft;
            using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(changed,
                Task.Delay(Bounded(fakeLeft < untilExpiry ? fakeLeft : untilExpiry), clock, stopWaiting.Token),
                Task.Delay(Bounded(realLeft), TimeProvider.System, stopWaiting.Token)).ConfigureAwait(false);
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    public override Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekMessagesAsync(int maxMessages, long? fromSequenceNumber = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        if (fromSequenceNumber is null)
        {
            // The SDK would continue after the last message this receiver peeked; the adapter must never rely on that.
            throw new NotSupportedException("The contract double peeks from an explicit sequence number only.");
        }
        return Task.FromResult(_broker.Queue(_queueName).Peek(_deadLetters, fromSequenceNumber.Value, maxMessages));
    }

    public override async Task<ServiceBusReceivedMessage> PeekMessageAsync(long? fromSequenceNumber = null, CancellationToken cancellationToken = default) =>
        (await PeekMessagesAsync(1, fromSequenceNumber, cancellationToken).ConfigureAwait(false)).FirstOrDefault()!;

    public override Task CompleteMessageAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) => queue.Complete(this, token));

    public override Task AbandonMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null,
        CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) => queue.Abandon(this, token, propertiesToModify));

    public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null,
        CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) => queue.DeadLetter(this, token, null, null, propertiesToModify));

    public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null,
        CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) => queue.DeadLetter(this, token, deadLetterReason, deadLetterErrorDescription, null));

    public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object> propertiesToModify, string deadLetterReason,
        string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) => queue.DeadLetter(this, token, deadLetterReason, deadLetterErrorDescription, propertiesToModify));

    /// <summary>
    /// Renews the lock and, as the SDK does, sets the message's LockedUntil to the new expiry. The SDK writes it through
    /// an internal setter whose storage is the AMQP message annotation <c>x-opt-locked-until</c>; the double writes the
    /// same annotation through the public <see cref="ServiceBusReceivedMessage.GetRawAmqpMessage"/>.
    /// </summary>
    public override Task RenewMessageLockAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default) =>
        Settle(message, cancellationToken, (queue, token) =>
            message.GetRawAmqpMessage().MessageAnnotations["x-opt-locked-until"] = queue.RenewLock(this, token).UtcDateTime);

    public override Task DeferMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null,
        CancellationToken cancellationToken = default) => throw NotModelled();

    public override Task<IReadOnlyList<ServiceBusReceivedMessage>> ReceiveDeferredMessagesAsync(IEnumerable<long> sequenceNumbers,
        CancellationToken cancellationToken = default) => throw NotModelled();

    public override Task CloseAsync(CancellationToken cancellationToken = default)
    {
        _closed = true;
        return Task.CompletedTask;
    }

    public override async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    /// <summary>A settling call: the SDK's checks, then the broker's, by the message's lock token.</summary>
    private Task Settle(ServiceBusReceivedMessage message, CancellationToken cancellationToken, Action<ServiceBusContractDoubleQueue, Guid> settle)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfClosed();
        ThrowIfDeadLetterReceiver();
        cancellationToken.ThrowIfCancellationRequested();
        var token = Guid.Parse(message.LockToken);
        if (token == Guid.Empty)
        {
            // As the SDK, for a peeked message: it has no lock to settle.
            throw new InvalidOperationException("The operation is only supported on messages received in PeekLock mode.");
        }
        settle(_broker.Queue(_queueName), token);
        return Task.CompletedTask;
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    private void ThrowIfDeadLetterReceiver()
    {
        if (_deadLetters)
        {
            throw new NotSupportedException("The contract double's dead-letter receivers peek only.");
        }
    }

    private static TimeSpan Bounded(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait > LongestSingleWait ? LongestSingleWait : wait;

    private static NotSupportedException NotModelled() => new("The contract double does not model deferral.");
}
