using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// A <see cref="ServiceBusClient"/> of the <see cref="ServiceBusContractDouble"/> (not Service Bus): it hands out the
/// double's senders and receivers for queues, and remembers them so a test can see what an adapter closed. Topics,
/// subscriptions, sessions and processors are not modelled.
/// </summary>
public sealed class ServiceBusContractDoubleClient : ServiceBusClient
{
    private readonly ServiceBusContractDouble _broker;
    private readonly ConcurrentQueue<ServiceBusContractDoubleSender> _senders = [];
    private readonly ConcurrentQueue<ServiceBusContractDoubleReceiver> _receivers = [];
    private volatile bool _closed;

    internal ServiceBusContractDoubleClient(ServiceBusContractDouble broker) => _broker = broker;

    public override string FullyQualifiedNamespace => _broker.FullyQualifiedNamespace;

    public override bool IsClosed => _closed;

    /// <summary>Every sender this client created.</summary>
    public IReadOnlyCollection<ServiceBusContractDoubleSender> Senders => _senders;

    /// <summary>Every receiver this client created.</summary>
    public IReadOnlyCollection<ServiceBusContractDoubleReceiver> Receivers => _receivers;

    public override ServiceBusSender CreateSender(string queueOrTopicName) => CreateSender(queueOrTopicName, new ServiceBusSenderOptions());

    public override ServiceBusSender CreateSender(string queueOrTopicName, ServiceBusSenderOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueOrTopicName);
        ObjectDisposedException.ThrowIf(_closed, this);
        var sender = new ServiceBusContractDoubleSender(_broker, queueOrTopicName);
        _senders.Enqueue(sender);
        return sender;
    }

    public override ServiceBusReceiver CreateReceiver(string queueName) => CreateReceiver(queueName, new ServiceBusReceiverOptions());

    public override ServiceBusReceiver CreateReceiver(string queueName, ServiceBusReceiverOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_closed, this);
        var receiver = new ServiceBusContractDoubleReceiver(_broker, queueName, options);
        _receivers.Enqueue(receiver);
        return receiver;
    }

    public override ServiceBusReceiver CreateReceiver(string topicName, string subscriptionName) => throw NoTopics();

    public override ServiceBusReceiver CreateReceiver(string topicName, string subscriptionName, ServiceBusReceiverOptions options) => throw NoTopics();

    /// <summary>Closes every sender and receiver this client created, as disposing a real client closes its connection.</summary>
    public override async ValueTask DisposeAsync()
    {
        _closed = true;
        foreach (var sender in _senders)
        {
            await sender.CloseAsync().ConfigureAwait(false);
        }
        foreach (var receiver in _receivers)
        {
            await receiver.CloseAsync().ConfigureAwait(false);
        }
    }

    private static NotSupportedException NoTopics() => new("The contract double models queues only.");
}
