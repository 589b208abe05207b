using System.Collections.Concurrent;
using Azure.Messaging.ServiceBus;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// A contract double of a Service Bus namespace: an in-memory broker behind the SDK's own types, so that
/// <see cref="ServiceBusWorkQueue"/> is tested through exactly the SDK calls it makes against Azure. It is NOT Service
/// Bus and no emulator: it keeps, on an injected clock, the broker semantics the adapter relies on, as Microsoft
/// documents them, and nothing else (no sessions, topics, scheduling, deferral, transactions, prefetch, TTL).
/// </summary>
/// <remarks>
/// <para>There is no Service Bus emulator here (Microsoft's is Docker-only), so the double is built on the SDK's test
/// seams: <see cref="ServiceBusClient"/>, <see cref="ServiceBusSender"/> and <see cref="ServiceBusReceiver"/> subclassed
/// through their protected constructors, messages made by <see cref="ServiceBusModelFactory"/>. What it keeps, per
/// queue (<see cref="ServiceBusContractDoubleQueue"/>):</para>
/// <list type="bullet">
/// <item>sequence numbers assigned at enqueue, from 1, increasing in send order; EnqueuedTime from the clock;</item>
/// <item>peek-lock: a delivery locks the message for the entity's LockDuration under a fresh lock token; an expired
/// lock makes it receivable again with DeliveryCount + 1; settling with a token whose lock expired, was settled, or
/// belongs to another receiver fails with <see cref="ServiceBusFailureReason.MessageLockLost"/>;</item>
/// <item>renewal extends the lock by LockDuration from now and updates the message's LockedUntil, as the SDK does;</item>
/// <item>dead-lettering: a message abandoned on, or whose lock expired after, its MaxDeliveryCount-th delivery moves to
/// the dead-letter subqueue with reason MaxDeliveryCountExceeded; consumer dead-letters keep their reason, description
/// and properties to modify; a dead-lettered message keeps its SequenceNumber and EnqueuedTime;</item>
/// <item>the Standard tier's 256 KiB limit on a message and on a batch, refused with
/// <see cref="ServiceBusFailureReason.MessageSizeExceeded"/> (sizes are estimated: see <see cref="EstimatedSizeInBytes"/>);</item>
/// <item>long polling: a receive waits until a message becomes receivable or its maxWaitTime passes (see
/// <see cref="ServiceBusContractDoubleReceiver"/> for which clock);</item>
/// <item>the SDK's argument checks the adapter could trip: a maxWaitTime must be positive; closed clients, senders and
/// receivers throw <see cref="ObjectDisposedException"/>; an unknown entity is
/// <see cref="ServiceBusFailureReason.MessagingEntityNotFound"/>.</item>
/// </list>
/// <para>Lock expiry needs no background work: every operation first applies the expiries that fell due on the clock,
/// which is what an observer of the real broker sees.</para>
/// </remarks>
public sealed class ServiceBusContractDouble(TimeProvider clock)
{
    /// <summary>The Standard tier's largest message, and largest batch: 256 KiB.</summary>
    public const int MaxMessageSizeInBytes = 256 * 1024;

    /// <summary>What the double adds to a message's body and strings when it estimates its encoded size.</summary>
    public const int EnvelopeBytes = 128;

    private readonly ConcurrentDictionary<string, ServiceBusContractDoubleQueue> _queues = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The broker's clock: enqueue times, locks and their expiry.</summary>
    public TimeProvider Clock { get; } = clock ?? throw new ArgumentNullException(nameof(clock));

    /// <summary>A fake host name: nothing is ever sent anywhere.</summary>
    public string FullyQualifiedNamespace => "contract-double.servicebus.invalid";

    /// <summary>
    /// Creates the queue <paramref name="name"/> with the entity settings Service Bus would have been given in Azure.
    /// LockDuration is refused outside Service Bus's range (5 seconds to 5 minutes).
    /// </summary>
    public ServiceBusContractDoubleQueue CreateQueue(string name, TimeSpan lockDuration, int maxDeliveryCount)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(lockDuration, TimeSpan.FromSeconds(5));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lockDuration, TimeSpan.FromMinutes(5));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDeliveryCount, 1);
        var queue = new ServiceBusContractDoubleQueue(name, lockDuration, maxDeliveryCount, Clock);
        return _queues.TryAdd(name, queue) ? queue : throw new InvalidOperationException($"The queue '{name}' exists.");
    }

    /// <summary>A client of this namespace, as <c>new ServiceBusClient(connectionString)</c> would be of a real one.</summary>
    public ServiceBusContractDoubleClient CreateClient() => new(this);

    /// <summary>The queue <paramref name="name"/>, or MessagingEntityNotFound as the service answers the first request to a missing entity.</summary>
    internal ServiceBusContractDoubleQueue Queue(string name) => _queues.TryGetValue(name, out var queue)
        ? queue
        : throw new ServiceBusException($"The messaging entity '{FullyQualifiedNamespace}/{name}' could not be found (contract double).",
            ServiceBusFailureReason.MessagingEntityNotFound, name);

    /// <summary>
    /// The double's estimate of a message's size as sent: body, id, content type and application properties (as text)
    /// plus <see cref="EnvelopeBytes"/>. The SDK measures the AMQP encoding instead; the estimate is of the same order,
    /// which is what the adapter's batch-size decisions depend on.
    /// </summary>
    public static long EstimatedSizeInBytes(ServiceBusMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        long size = EnvelopeBytes + message.Body.ToMemory().Length + Utf8(message.MessageId) + Utf8(message.ContentType);
        foreach (var property in message.ApplicationProperties)
        {
            size += Utf8(property.Key) + Utf8(Convert.ToString(property.Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return size;
    }

    private static int Utf8(string? text) => text is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(text);
}
