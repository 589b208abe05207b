using System.Runtime.CompilerServices;
using Azure.Messaging.ServiceBus;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// A <see cref="ServiceBusSender"/> of the <see cref="ServiceBusContractDouble"/> (not Service Bus) on one queue: single
/// sends, batches made by <see cref="ServiceBusModelFactory.ServiceBusMessageBatch"/> and sent atomically, and the
/// Standard tier's 256 KiB limit on a message and on a batch (<see cref="ServiceBusFailureReason.MessageSizeExceeded"/>).
/// </summary>
/// <remarks>
/// A batch is filled as the SDK fills one: <see cref="ServiceBusMessageBatch.TryAddMessage"/> returns false for the
/// message that would take it past its MaxSizeInBytes, and leaves the batch as it was. Scheduling is not modelled.
/// </remarks>
public sealed class ServiceBusContractDoubleSender : ServiceBusSender
{
    private readonly ServiceBusContractDouble _broker;
    private readonly string _queueName;

    // The messages of each batch this sender made: the factory's batch keeps them in the list handed to it.
    private readonly ConditionalWeakTable<ServiceBusMessageBatch, List<ServiceBusMessage>> _batches = [];
    private volatile bool _closed;

    internal ServiceBusContractDoubleSender(ServiceBusContractDouble broker, string queueName)
    {
        _broker = broker;
        _queueName = queueName;
    }

    public override string FullyQualifiedNamespace => _broker.FullyQualifiedNamespace;

    public override string EntityPath => _queueName;

    public override bool IsClosed => _closed;

    public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SendMessagesAsync([message], cancellationToken);
    }

    /// <summary>As the SDK: all the messages in one batch, or MessageSizeExceeded if they do not fit in one.</summary>
    public override Task SendMessagesAsync(IEnumerable<ServiceBusMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        var size = list.Sum(ServiceBusContractDouble.EstimatedSizeInBytes);
        if (size > ServiceBusContractDouble.MaxMessageSizeInBytes)
        {
            throw new ServiceBusException(
                $"The message (id:{list.FirstOrDefault()?.MessageId}, size:{size} bytes) is larger than is currently allowed ({ServiceBusContractDouble.MaxMessageSizeInBytes} bytes) (contract double).",
                ServiceBusFailureReason.MessageSizeExceeded, _queueName);
        }
        return Send(list, cancellationToken);
    }

    public override ValueTask<ServiceBusMessageBatch> CreateMessageBatchAsync(CancellationToken cancellationToken = default) =>
        CreateMessageBatchAsync(new CreateMessageBatchOptions(), cancellationToken);

    public override ValueTask<ServiceBusMessageBatch> CreateMessageBatchAsync(CreateMessageBatchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        _broker.Queue(_queueName);
        // As the SDK: a batch may be smaller than the link allows, never larger.
        var maxSize = options.MaxSizeInBytes ?? ServiceBusContractDouble.MaxMessageSizeInBytes;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSize, ServiceBusContractDouble.MaxMessageSizeInBytes, nameof(options));
        var store = new List<ServiceBusMessage>();
        long size = 0;
        var batch = ServiceBusModelFactory.ServiceBusMessageBatch(0, store, new CreateMessageBatchOptions { MaxSizeInBytes = maxSize }, message =>
        {
            var added = ServiceBusContractDouble.EstimatedSizeInBytes(message);
            if (size + added > maxSize)
            {
                return false;
            }
            size += added;
            return true;
        });
        _batches.Add(batch, store);
        return ValueTask.FromResult(batch);
    }

    public override Task SendMessagesAsync(ServiceBusMessageBatch messageBatch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageBatch);
        return _batches.TryGetValue(messageBatch, out var store)
            ? Send(store, cancellationToken)
            : throw new ArgumentException("The batch was not created by this sender.", nameof(messageBatch));
    }

    public override Task<long> ScheduleMessageAsync(ServiceBusMessage message, DateTimeOffset scheduledEnqueueTime, CancellationToken cancellationToken = default) =>
        throw NotModelled();

    public override Task<IReadOnlyList<long>> ScheduleMessagesAsync(IEnumerable<ServiceBusMessage> messages, DateTimeOffset scheduledEnqueueTime,
        CancellationToken cancellationToken = default) => throw NotModelled();

    public override Task CancelScheduledMessageAsync(long sequenceNumber, CancellationToken cancellationToken = default) => throw NotModelled();

    public override Task CancelScheduledMessagesAsync(IEnumerable<long> sequenceNumbers, CancellationToken cancellationToken = default) => throw NotModelled();

    public override Task CloseAsync(CancellationToken cancellationToken = default)
    {
        _closed = true;
        return Task.CompletedTask;
    }

    public override async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    private Task Send(IReadOnlyList<ServiceBusMessage> messages, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        // The queue copies what it stores, as the SDK encodes at send: later changes to the objects do not reach the broker.
        _broker.Queue(_queueName).Enqueue(messages);
        return Task.CompletedTask;
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    private static NotSupportedException NotModelled() => new("The contract double does not model scheduled messages.");
}
