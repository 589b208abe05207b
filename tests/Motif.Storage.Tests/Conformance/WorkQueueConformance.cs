using System.Collections.Concurrent;
using Motif.Storage.Queues;

namespace Motif.Storage.Tests.Conformance;

/// <summary>
/// What every <see cref="IWorkQueue"/> must do. Derive one class per adapter; the suite knows the adapter only through
/// <see cref="CreateQueueAsync"/> and <see cref="LetTimePassAsync"/>, so Azure Queue Storage and Service Bus adapters
/// run the same facts as the SQLite queue. Times are relative to <see cref="Options"/>' lock duration.
/// </summary>
public abstract class WorkQueueConformance
{
    /// <summary>A new, empty queue with <paramref name="options"/>. Dispose what you create when the test class is disposed.</summary>
    protected abstract Task<IWorkQueue> CreateQueueAsync(WorkQueueOptions options);

    /// <summary>Moves the queue's clock on by <paramref name="duration"/> (a fake clock's advance, or a real wait).</summary>
    protected abstract Task LetTimePassAsync(TimeSpan duration);

    /// <summary>The settings the facts use; an adapter for a real service may shorten the lock to keep waits short.</summary>
    protected virtual WorkQueueOptions Options => new() { LockDuration = TimeSpan.FromSeconds(30), MaxDeliveryCount = 3, MaxMessageBytes = 1024 };

    // A bound on how long a test waits for a task that should already be done, so a broken wake-up fails instead of hanging.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private TimeSpan Lock => Options.LockDuration;

    [Fact]
    public async Task A_sent_message_is_delivered_locked_and_gone_once_completed()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("""{"image":"uploads/a.jpg"}""") with { MessageId = "job-1" });

        var message = Assert.Single(await queue.ReceiveAsync(10));

        Assert.Equal("job-1", message.MessageId);
        Assert.Equal("""{"image":"uploads/a.jpg"}""", message.BodyText);
        Assert.Equal("application/json", message.ContentType);
        Assert.Equal(1, message.DeliveryCount);
        Assert.False(string.IsNullOrEmpty(message.LockToken));
        Assert.True(message.LockedUntil > message.EnqueuedAt);

        await queue.CompleteAsync(message);
        await LetTimePassAsync(Lock + TimeSpan.FromSeconds(1));

        Assert.Empty(await queue.ReceiveAsync(10));
        Assert.Empty(await queue.PeekDeadLetteredAsync(10));
    }

    [Fact]
    public async Task A_locked_message_is_hidden_until_its_lock_expires_then_delivered_again()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("job"));
        var first = Assert.Single(await queue.ReceiveAsync(1));

        await LetTimePassAsync(Lock / 2);
        Assert.Empty(await queue.ReceiveAsync(1));

        await LetTimePassAsync(Lock / 2 + TimeSpan.FromSeconds(1));
        var second = Assert.Single(await queue.ReceiveAsync(1));

        Assert.Equal(first.SequenceNumber, second.SequenceNumber);
        Assert.Equal(2, second.DeliveryCount);
        Assert.NotEqual(first.LockToken, second.LockToken);
        // The consumer that stalled past its lock learns it may no longer settle the message.
        var lost = await Assert.ThrowsAsync<WorkQueueException>(() => queue.CompleteAsync(first));
        Assert.Equal(WorkQueueErrorCode.MessageLockLost, lost.ErrorCode);
        await queue.CompleteAsync(second);
    }

    [Fact]
    public async Task An_abandoned_message_is_delivered_again_at_once()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("job"));
        var first = Assert.Single(await queue.ReceiveAsync(1));

        await queue.AbandonAsync(first);
        var second = Assert.Single(await queue.ReceiveAsync(1));

        Assert.Equal(first.SequenceNumber, second.SequenceNumber);
        Assert.Equal(2, second.DeliveryCount);
    }

    [Fact]
    public async Task A_renewed_lock_keeps_the_message_hidden()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("long job"));
        var message = Assert.Single(await queue.ReceiveAsync(1));

        await LetTimePassAsync(Lock * 2 / 3);
        var renewed = await queue.RenewLockAsync(message);
        await LetTimePassAsync(Lock * 2 / 3);

        Assert.True(renewed.LockedUntil > message.LockedUntil);
        Assert.Empty(await queue.ReceiveAsync(1));
        await queue.CompleteAsync(renewed);
    }

    [Fact]
    public async Task A_message_abandoned_on_its_last_delivery_is_dead_lettered_not_redelivered()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("poison") with { MessageId = "job-poison" });

        for (var delivery = 1; delivery <= Options.MaxDeliveryCount; delivery++)
        {
            var message = Assert.Single(await queue.ReceiveAsync(1));
            Assert.Equal(delivery, message.DeliveryCount);
            await queue.AbandonAsync(message);
        }

        Assert.Empty(await queue.ReceiveAsync(1));
        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal("job-poison", dead.MessageId);
        Assert.Equal("poison", dead.BodyText);
        Assert.Equal(DeadLetterReasons.MaxDeliveryCountExceeded, dead.Reason);
        Assert.Equal(Options.MaxDeliveryCount, dead.DeliveryCount);
    }

    [Fact]
    public async Task A_message_whose_last_lock_expires_is_listed_as_dead_lettered_without_another_receive()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("crashes the worker"));
        for (var delivery = 1; delivery <= Options.MaxDeliveryCount; delivery++)
        {
            Assert.Single(await queue.ReceiveAsync(1));
            await LetTimePassAsync(Lock + TimeSpan.FromSeconds(1));
        }

        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));

        Assert.Equal(DeadLetterReasons.MaxDeliveryCountExceeded, dead.Reason);
        Assert.Equal(Options.MaxDeliveryCount, dead.DeliveryCount);
        Assert.Empty(await queue.ReceiveAsync(1));
    }

    [Fact]
    public async Task A_consumer_dead_letters_a_message_it_cannot_understand_with_its_reason()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("not json"));
        var message = Assert.Single(await queue.ReceiveAsync(1));

        await queue.DeadLetterAsync(message, "BadMessageBody", "Expected a SignatureJob.");
        await LetTimePassAsync(Lock + TimeSpan.FromSeconds(1));

        Assert.Empty(await queue.ReceiveAsync(1));
        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal("BadMessageBody", dead.Reason);
        Assert.Equal("Expected a SignatureJob.", dead.Description);
        Assert.Equal("not json", dead.BodyText);
        Assert.Equal(1, dead.DeliveryCount);
    }

    [Fact]
    public async Task Dead_letters_are_read_in_pages_by_sequence_number()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendBatchAsync([.. Enumerable.Range(0, 5).Select(i => OutgoingMessage.FromText($"m{i}"))]);
        foreach (var message in await ReceiveAll(queue, 5))
        {
            await queue.DeadLetterAsync(message, "Test");
        }

        var firstPage = await queue.PeekDeadLetteredAsync(3);
        var secondPage = await queue.PeekDeadLetteredAsync(3, firstPage[^1].SequenceNumber + 1);

        Assert.Equal(3, firstPage.Count);
        Assert.Equal(2, secondPage.Count);
        var all = firstPage.Concat(secondPage).ToList();
        Assert.Equal(all.Select(m => m.SequenceNumber).Order(), all.Select(m => m.SequenceNumber));
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], all.Select(m => m.BodyText).Order());
    }

    [Fact]
    public async Task A_receive_returns_at_most_the_requested_number_of_messages()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendBatchAsync([.. Enumerable.Range(0, 5).Select(i => OutgoingMessage.FromText($"m{i}"))]);

        var first = await queue.ReceiveAsync(3);
        var rest = await ReceiveAll(queue, 2);

        Assert.Equal(3, first.Count);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], first.Concat(rest).Select(m => m.BodyText).Order());
        Assert.Equal(5, first.Concat(rest).Select(m => m.SequenceNumber).Distinct().Count());
    }

    [Fact]
    public async Task An_oversized_message_is_refused_and_a_batch_holding_one_sends_nothing()
    {
        var queue = await CreateQueueAsync(Options);
        var tooLarge = new OutgoingMessage(new byte[Options.MaxMessageBytes + 1]);

        var single = await Assert.ThrowsAsync<WorkQueueException>(() => queue.SendAsync(tooLarge));
        var batch = await Assert.ThrowsAsync<WorkQueueException>(() => queue.SendBatchAsync([OutgoingMessage.FromText("fine"), tooLarge]));
        await queue.SendAsync(new OutgoingMessage(new byte[Options.MaxMessageBytes]));

        Assert.Equal(WorkQueueErrorCode.MessageTooLarge, single.ErrorCode);
        Assert.Equal(WorkQueueErrorCode.MessageTooLarge, batch.ErrorCode);
        var received = Assert.Single(await queue.ReceiveAsync(10));
        Assert.Equal(Options.MaxMessageBytes, received.Body.Length);
    }

    [Fact]
    public async Task A_settled_message_cannot_be_settled_again()
    {
        var queue = await CreateQueueAsync(Options);
        await queue.SendAsync(OutgoingMessage.FromText("job"));
        var message = Assert.Single(await queue.ReceiveAsync(1));
        await queue.CompleteAsync(message);

        Assert.Equal(WorkQueueErrorCode.MessageLockLost, (await Assert.ThrowsAsync<WorkQueueException>(() => queue.CompleteAsync(message))).ErrorCode);
        Assert.Equal(WorkQueueErrorCode.MessageLockLost, (await Assert.ThrowsAsync<WorkQueueException>(() => queue.AbandonAsync(message))).ErrorCode);
        Assert.Equal(WorkQueueErrorCode.MessageLockLost, (await Assert.ThrowsAsync<WorkQueueException>(() => queue.RenewLockAsync(message))).ErrorCode);
        Assert.Equal(WorkQueueErrorCode.MessageLockLost, (await Assert.ThrowsAsync<WorkQueueException>(() => queue.DeadLetterAsync(message, "Late"))).ErrorCode);
    }

    [Fact]
    public async Task Concurrent_receivers_never_get_the_same_message()
    {
        var queue = await CreateQueueAsync(Options);
        const int Messages = 120;
        await queue.SendBatchAsync([.. Enumerable.Range(0, Messages).Select(i => OutgoingMessage.FromText($"m{i}"))]);
        var deliveries = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var batch = await queue.ReceiveAsync(4);
                if (batch.Count == 0)
                {
                    return;
                }
                foreach (var message in batch)
                {
                    deliveries.Add(message.SequenceNumber);
                    await queue.CompleteAsync(message);
                }
            }
        })));

        Assert.Equal(Messages, deliveries.Count);
        Assert.Equal(Messages, deliveries.Distinct().Count());
    }

    [Fact]
    public async Task A_waiting_receive_returns_as_soon_as_a_message_is_sent()
    {
        var queue = await CreateQueueAsync(Options);

        var waiting = queue.ReceiveAsync(1, maxWait: TimeSpan.FromMinutes(1));
        Assert.False(waiting.IsCompleted);
        await queue.SendAsync(OutgoingMessage.FromText("arrived"));

        var message = Assert.Single(await waiting.WaitAsync(HangGuard));
        Assert.Equal("arrived", message.BodyText);
    }

    [Fact]
    public async Task A_waiting_receive_gives_up_empty_handed_after_its_maximum_wait()
    {
        var queue = await CreateQueueAsync(Options);

        var waiting = queue.ReceiveAsync(1, maxWait: TimeSpan.FromSeconds(5));
        await LetTimePassAsync(TimeSpan.FromSeconds(5));

        Assert.Empty(await waiting.WaitAsync(HangGuard));
    }

    /// <summary>Receives until <paramref name="count"/> messages came (a service may return fewer than asked per call).</summary>
    protected static async Task<List<ReceivedMessage>> ReceiveAll(IWorkQueue queue, int count)
    {
        var received = new List<ReceivedMessage>();
        while (received.Count < count)
        {
            var batch = await queue.ReceiveAsync(count - received.Count, TimeSpan.FromSeconds(5)).WaitAsync(HangGuard);
            Assert.NotEmpty(batch);
            received.AddRange(batch);
        }
        return received;
    }
}
