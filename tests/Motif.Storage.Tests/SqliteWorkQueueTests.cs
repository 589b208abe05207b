using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Motif.Storage.Queues;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Tests;

/// <summary>The conformance suite against the SQLite queue, on a fake clock.</summary>
public sealed class SqliteWorkQueueConformance : WorkQueueConformance, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<SqliteWorkQueue> _queues = [];

    protected override Task<IWorkQueue> CreateQueueAsync(WorkQueueOptions options)
    {
        var queue = new SqliteWorkQueue(_folder.Combine($"queues-{_queues.Count}.db"), "signatures", options, _time);
        _queues.Add(queue);
        return Task.FromResult<IWorkQueue>(queue);
    }

    protected override Task LetTimePassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _queues.ForEach(q => q.Dispose());
        _folder.Dispose();
    }
}

/// <summary>What the SQLite queue promises beyond the port: durability across restarts, one file for several users.</summary>
public sealed class SqliteWorkQueueTests : IDisposable
{
    private static readonly WorkQueueOptions Settings = new() { LockDuration = TimeSpan.FromSeconds(30), MaxDeliveryCount = 2 };

    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<SqliteWorkQueue> _queues = [];

    private string DatabasePath => _folder.Combine("motif.db");

    public void Dispose()
    {
        _queues.ForEach(q => q.Dispose());
        _folder.Dispose();
    }

    [Fact]
    public async Task Messages_locks_and_dead_letters_survive_a_restart()
    {
        var before = Open("signatures");
        await before.SendBatchAsync([OutgoingMessage.FromText("in progress"), OutgoingMessage.FromText("given back"), OutgoingMessage.FromText("poison")]);
        var inProgress = Assert.Single(await before.ReceiveAsync(1));
        var others = await before.ReceiveAsync(2);
        await before.AbandonAsync(others.Single(m => m.BodyText == "given back"));
        await before.DeadLetterAsync(others.Single(m => m.BodyText == "poison"), "BadMessageBody", "not a job");
        before.Dispose();

        var after = Open("signatures");

        // The message locked before the restart stays locked until its lock expires, then comes back.
        var givenBack = Assert.Single(await after.ReceiveAsync(10));
        Assert.Equal("given back", givenBack.BodyText);
        Assert.Equal(2, givenBack.DeliveryCount);
        await after.CompleteAsync(givenBack);
        _time.Advance(Settings.LockDuration);
        var redelivered = Assert.Single(await after.ReceiveAsync(10));
        Assert.Equal(inProgress.SequenceNumber, redelivered.SequenceNumber);
        Assert.Equal(2, redelivered.DeliveryCount);
        var dead = Assert.Single(await after.PeekDeadLetteredAsync(10));
        Assert.Equal(("poison", "BadMessageBody", "not a job"), (dead.BodyText, dead.Reason, dead.Description));
    }

    [Fact]
    public async Task Messages_are_delivered_in_send_order()
    {
        var queue = Open("signatures");
        await queue.SendBatchAsync([.. Enumerable.Range(0, 5).Select(i => OutgoingMessage.FromText($"m{i}"))]);
        var first = Assert.Single(await queue.ReceiveAsync(1));
        await queue.AbandonAsync(first);

        var all = await queue.ReceiveAsync(10);

        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], all.Select(m => m.BodyText));
    }

    [Fact]
    public async Task Queues_sharing_a_file_are_independent()
    {
        var signatures = Open("signatures");
        var training = Open("training");
        await signatures.SendAsync(OutgoingMessage.FromText("embed"));
        await training.SendAsync(OutgoingMessage.FromText("train"));

        var fromTraining = Assert.Single(await training.ReceiveAsync(10));
        await training.DeadLetterAsync(fromTraining, "Test");
        var fromSignatures = Assert.Single(await signatures.ReceiveAsync(10));

        Assert.Equal("train", fromTraining.BodyText);
        Assert.Equal("embed", fromSignatures.BodyText);
        Assert.Empty(await signatures.PeekDeadLetteredAsync(10));
        await Assert.ThrowsAsync<WorkQueueException>(() => training.CompleteAsync(fromSignatures));
    }

    [Fact]
    public async Task Receivers_on_two_instances_of_one_file_never_get_the_same_message()
    {
        // Separate instances use separate connections and locks, as separate processes would.
        var a = Open("signatures");
        var b = Open("signatures");
        const int Messages = 150;
        await a.SendBatchAsync([.. Enumerable.Range(0, Messages).Select(i => OutgoingMessage.FromText($"m{i}"))]);
        var deliveries = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            var queue = i % 2 == 0 ? a : b;
            while (await queue.ReceiveAsync(3) is { Count: > 0 } batch)
            {
                foreach (var message in batch)
                {
                    deliveries.Add(message.BodyText);
                    await queue.CompleteAsync(message);
                }
            }
        })));

        Assert.Equal(Messages, deliveries.Count);
        Assert.Equal(Messages, deliveries.Distinct().Count());
    }

    [Fact]
    public async Task A_waiting_receive_finds_a_message_sent_through_another_instance_by_polling()
    {
        // A send through another instance (another process, in production) cannot wake this receiver directly.
        var receiver = Open("signatures");
        var sender = Open("signatures");
        var waiting = receiver.ReceiveAsync(1, TimeSpan.FromMinutes(1));
        await sender.SendAsync(OutgoingMessage.FromText("from elsewhere"));
        Assert.False(waiting.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("from elsewhere", Assert.Single(await waiting.WaitAsync(TimeSpan.FromSeconds(30))).BodyText);
    }

    [Fact]
    public async Task The_file_uses_write_ahead_logging_so_readers_do_not_block_writers()
    {
        await Open("signatures").SendAsync(OutgoingMessage.FromText("x"));

        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";

        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public async Task The_sole_consumer_can_release_a_crashed_run_s_locks_at_once()
    {
        var crashed = Open("signatures");
        await crashed.SendBatchAsync([OutgoingMessage.FromText("a"), OutgoingMessage.FromText("b"), OutgoingMessage.FromText("c")]);
        Assert.Equal(2, (await crashed.ReceiveAsync(2)).Count);
        crashed.Dispose();

        var next = Open("signatures");
        var other = Open("training");
        await other.SendAsync(OutgoingMessage.FromText("elsewhere"));
        Assert.Single(await other.ReceiveAsync(1));
        Assert.Equal(3, next.Count());
        Assert.Equal(2, next.ReleaseLocks());       // without waiting for the 30 s locks to expire
        var all = await next.ReceiveAsync(10);
        Assert.Equal(["a", "b", "c"], all.Select(m => m.BodyText).Order());
        Assert.Equal([1, 2, 2], all.Select(m => m.DeliveryCount).Order());
        Assert.Empty(await other.ReceiveAsync(1));  // another queue's locks are not touched
    }

    private SqliteWorkQueue Open(string queueName)
    {
        var queue = new SqliteWorkQueue(DatabasePath, queueName, Settings, _time);
        _queues.Add(queue);
        return queue;
    }
}
