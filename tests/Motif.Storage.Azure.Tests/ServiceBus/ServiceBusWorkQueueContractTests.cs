using Microsoft.Extensions.Time.Testing;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Queues;
using Motif.Storage.Tests;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// The work-queue conformance suite against <see cref="ServiceBusWorkQueue"/> on the <see cref="ServiceBusContractDouble"/>
/// (not Service Bus: an in-memory broker behind the SDK's own types), on a fake clock.
/// </summary>
public sealed class ServiceBusWorkQueueContractTests : WorkQueueConformance, IAsyncDisposable
{
    /// <summary>
    /// Short, so that the suite's many "nothing to receive" checks (maxWait zero, raised to this) stay quick: on the
    /// double the broker round trip this floor is for takes no time.
    /// </summary>
    internal static readonly ServiceBusWorkQueueOptions FastReceives = new() { MinimumReceiveWait = TimeSpan.FromMilliseconds(20) };

    private readonly FakeTimeProvider _time = new();
    private readonly List<ServiceBusWorkQueue> _queues = [];
    private readonly ServiceBusContractDouble _broker;

    public ServiceBusWorkQueueContractTests() => _broker = new ServiceBusContractDouble(_time);

    protected override Task<IWorkQueue> CreateQueueAsync(WorkQueueOptions options)
    {
        // The entity is configured as the adapter is told it is, as the Bicep and the worker's settings must agree.
        var name = $"signatures-{_queues.Count}";
        _broker.CreateQueue(name, options.LockDuration, options.MaxDeliveryCount);
        var queue = new ServiceBusWorkQueue(_broker.CreateClient(), name, options, FastReceives, _time);
        _queues.Add(queue);
        return Task.FromResult<IWorkQueue>(queue);
    }

    protected override Task LetTimePassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync();
        }
    }
}
