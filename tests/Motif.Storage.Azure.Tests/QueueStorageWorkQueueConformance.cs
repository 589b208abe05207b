using Azure.Storage.Queues;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Queues;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// The queue conformance suite against <see cref="QueueStorageWorkQueue"/> on Azurite, in real time: locks are visibility
/// timeouts on the emulator's clock, so the lock is short (whole seconds, as the service counts them).
/// </summary>
public sealed class QueueStorageWorkQueueConformance : WorkQueueConformance
{
    protected override WorkQueueOptions Options => base.Options with { LockDuration = TimeSpan.FromSeconds(4) };

    protected override async Task<IWorkQueue> CreateQueueAsync(WorkQueueOptions options)
    {
        var azurite = await SharedAzurite.GetAsync();
        var queue = new QueueStorageWorkQueue(new QueueServiceClient(azurite.ConnectionString, QueueStorageWorkQueue.ClientOptions()), SharedAzurite.UniqueName("jobs"), options);
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);
}
