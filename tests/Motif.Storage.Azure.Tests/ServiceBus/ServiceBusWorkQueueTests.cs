using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Time.Testing;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Queues;
using Motif.Storage.Tests;

namespace Motif.Storage.Azure.Tests.ServiceBus;

/// <summary>
/// What <see cref="ServiceBusWorkQueue"/> does beyond the conformance suite because it is on Service Bus, on the
/// <see cref="ServiceBusContractDouble"/> (not Service Bus) and a fake clock.
/// </summary>
public sealed class ServiceBusWorkQueueTests : IAsyncDisposable
{
    private const string QueueName = "signatures";

    private static readonly WorkQueueOptions Settings = new() { LockDuration = TimeSpan.FromSeconds(30), MaxDeliveryCount = 3 };

    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly ServiceBusContractDouble _broker;
    private readonly ServiceBusContractDoubleQueue _entity;
    private readonly ServiceBusContractDoubleClient _client;
    private readonly List<ServiceBusWorkQueue> _queues = [];

    public ServiceBusWorkQueueTests()
    {
        _broker = new ServiceBusContractDouble(_time);
        _entity = _broker.CreateQueue(QueueName, Settings.LockDuration, Settings.MaxDeliveryCount);
        _client = _broker.CreateClient();
    }

    [Fact]
    public async Task A_batch_that_does_not_fit_in_one_Service_Bus_batch_sends_nothing()
    {
        var queue = Open();
        // Each message is within the port's limit; eight of them are not within one 256 KiB batch.
        var messages = Enumerable.Range(0, 8).Select(i => new OutgoingMessage(new byte[40 * 1024]) { MessageId = $"m{i}" }).ToList();

        var refused = await Assert.ThrowsAsync<WorkQueueException>(() => queue.SendBatchAsync(messages));
        await queue.SendBatchAsync(messages[..5]);

        Assert.Equal(WorkQueueErrorCode.MessageTooLarge, refused.ErrorCode);
        Assert.Equal(5, _entity.ActiveMessageCount);
        var received = await queue.ReceiveAsync(10);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], received.Select(m => m.MessageId));
    }

    [Fact]
    public async Task A_message_whose_lock_expired_during_processing_is_redelivered_and_the_late_complete_loses_its_lock()
    {
        var queue = Open();
        await queue.SendAsync(OutgoingMessage.FromText("slow job"));
        var first = Assert.Single(await queue.ReceiveAsync(1));
        // Another worker is already waiting when the lock runs out: the expiry alone wakes its long poll.
        var waiting = queue.ReceiveAsync(1, maxWait: TimeSpan.FromMinutes(1));
        Assert.False(waiting.IsCompleted);

        _time.Advance(Settings.LockDuration);
        var second = Assert.Single(await waiting.WaitAsync(HangGuard));
        var late = await Assert.ThrowsAsync<WorkQueueException>(() => queue.CompleteAsync(first));
        await queue.CompleteAsync(second);

        Assert.Equal(first.SequenceNumber, second.SequenceNumber);
        Assert.Equal(2, second.DeliveryCount);
        Assert.NotEqual(first.LockToken, second.LockToken);
        Assert.Equal(WorkQueueErrorCode.MessageLockLost, late.ErrorCode);
        Assert.Equal(0, _entity.ActiveMessageCount);
    }

    [Theory]
    [InlineData(ServiceBusFailureReason.MessageLockLost, WorkQueueErrorCode.MessageLockLost)]
    [InlineData(ServiceBusFailureReason.MessageSizeExceeded, WorkQueueErrorCode.MessageTooLarge)]
    [InlineData(ServiceBusFailureReason.ServiceBusy, null)]
    [InlineData(ServiceBusFailureReason.ServiceTimeout, null)]
    [InlineData(ServiceBusFailureReason.ServiceCommunicationProblem, null)]
    [InlineData(ServiceBusFailureReason.QuotaExceeded, null)]
    [InlineData(ServiceBusFailureReason.MessagingEntityNotFound, null)]
    [InlineData(ServiceBusFailureReason.GeneralError, null)]
    public void Service_Bus_failure_reasons_map_as_documented(ServiceBusFailureReason reason, WorkQueueErrorCode? expected) =>
        Assert.Equal(expected, ServiceBusErrors.ToCode(new ServiceBusException("failed", reason)));

    [Fact]
    public async Task A_mapped_failure_becomes_a_WorkQueueException_and_any_other_stays_the_SDKs()
    {
        var queue = Open();

        _entity.FailNextRequest(ServiceBusFailureReason.ServiceBusy);
        var busy = await Assert.ThrowsAsync<ServiceBusException>(() => queue.SendAsync(OutgoingMessage.FromText("job")));
        _entity.FailNextRequest(ServiceBusFailureReason.MessageSizeExceeded);
        var tooLarge = await Assert.ThrowsAsync<WorkQueueException>(() => queue.SendAsync(OutgoingMessage.FromText("job")));

        Assert.Equal(ServiceBusFailureReason.ServiceBusy, busy.Reason);
        Assert.True(busy.IsTransient);
        Assert.Equal(WorkQueueErrorCode.MessageTooLarge, tooLarge.ErrorCode);
        Assert.Equal(0, _entity.ActiveMessageCount);
    }

    [Fact]
    public async Task A_message_the_broker_refuses_as_too_large_is_MessageTooLarge()
    {
        // The port's limit raised above the Standard tier's 256 KiB: the broker's refusal is what the caller sees.
        var queue = Open(Settings with { MaxMessageBytes = 512 * 1024 });

        var refused = await Assert.ThrowsAsync<WorkQueueException>(() => queue.SendAsync(new OutgoingMessage(new byte[300 * 1024])));

        Assert.Equal(WorkQueueErrorCode.MessageTooLarge, refused.ErrorCode);
        Assert.Equal(0, _entity.ActiveMessageCount);
    }

    [Fact]
    public async Task Dead_letters_keep_reason_description_sequence_number_and_the_time_they_were_moved()
    {
        var queue = Open();
        var sentAt = _time.GetUtcNow();
        await queue.SendAsync(OutgoingMessage.FromText("not json") with { MessageId = "job-1" });
        var message = Assert.Single(await queue.ReceiveAsync(1));
        _time.Advance(TimeSpan.FromSeconds(10));

        await queue.DeadLetterAsync(message, "BadMessageBody", "Expected a SignatureJob.");

        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal("job-1", dead.MessageId);
        Assert.Equal(message.SequenceNumber, dead.SequenceNumber);
        Assert.Equal("BadMessageBody", dead.Reason);
        Assert.Equal("Expected a SignatureJob.", dead.Description);
        Assert.Equal(sentAt, dead.EnqueuedAt);
        Assert.Equal(sentAt + TimeSpan.FromSeconds(10), dead.DeadLetteredAt);
    }

    [Fact]
    public async Task A_message_the_broker_dead_letters_carries_Service_Buss_reason_and_reports_its_enqueue_time()
    {
        var queue = Open();
        var sentAt = _time.GetUtcNow();
        await queue.SendAsync(OutgoingMessage.FromText("poison"));
        for (var delivery = 1; delivery <= Settings.MaxDeliveryCount; delivery++)
        {
            await queue.AbandonAsync(Assert.Single(await queue.ReceiveAsync(1)));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));

        Assert.Equal(DeadLetterReasons.MaxDeliveryCountExceeded, dead.Reason);
        Assert.Equal($"Message could not be consumed after {Settings.MaxDeliveryCount} delivery attempts.", dead.Description);
        Assert.Equal(Settings.MaxDeliveryCount, dead.DeliveryCount);
        // Service Bus records no time of dead-lettering and the adapter did not dead-letter it: the closest true value.
        Assert.Equal(sentAt, dead.DeadLetteredAt);
    }

    [Fact]
    public async Task A_renewal_keeps_the_lock_token_and_reports_the_brokers_new_expiry()
    {
        var queue = Open();
        await queue.SendAsync(OutgoingMessage.FromText("long job"));
        var message = Assert.Single(await queue.ReceiveAsync(1));
        _time.Advance(TimeSpan.FromSeconds(20));

        var renewed = await queue.RenewLockAsync(message);

        Assert.Equal(message.LockToken, renewed.LockToken);
        Assert.Equal(_time.GetUtcNow() + Settings.LockDuration, renewed.LockedUntil);
        _time.Advance(TimeSpan.FromSeconds(20));
        await queue.CompleteAsync(renewed);
        Assert.Equal(0, _entity.ActiveMessageCount);
    }

    [Fact]
    public async Task A_lock_held_by_another_instance_cannot_be_settled_here()
    {
        var worker = Open();
        var other = Open();
        await worker.SendAsync(OutgoingMessage.FromText("job"));
        var message = Assert.Single(await worker.ReceiveAsync(1));

        var refused = await Assert.ThrowsAsync<WorkQueueException>(() => other.CompleteAsync(message));
        await worker.CompleteAsync(message);

        Assert.Equal(WorkQueueErrorCode.MessageLockLost, refused.ErrorCode);
        Assert.Equal(0, _entity.ActiveMessageCount);
    }

    [Fact]
    public async Task A_zero_wait_which_the_SDK_refuses_is_raised_to_the_minimum_receive_wait()
    {
        var receiver = _client.CreateReceiver(QueueName);
        var queue = Open();
        await queue.SendAsync(OutgoingMessage.FromText("job"));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => receiver.ReceiveMessagesAsync(1, TimeSpan.Zero));
        var message = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        Assert.Equal("job", message.BodyText);
    }

    [Fact]
    public async Task Disposing_closes_the_sender_and_both_receivers_but_not_the_callers_client()
    {
        var queue = Open();

        await queue.DisposeAsync();

        Assert.Single(_client.Senders);
        Assert.Equal(2, _client.Receivers.Count);
        Assert.All(_client.Senders, s => Assert.True(s.IsClosed));
        Assert.All(_client.Receivers, r => Assert.True(r.IsClosed));
        Assert.False(_client.IsClosed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queue.SendAsync(OutgoingMessage.FromText("late")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queue.ReceiveAsync(1));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync();
        }
    }

    private ServiceBusWorkQueue Open(WorkQueueOptions? options = null)
    {
        var queue = new ServiceBusWorkQueue(_client, QueueName, options ?? Settings, ServiceBusWorkQueueContractTests.FastReceives, _time);
        _queues.Add(queue);
        return queue;
    }
}
