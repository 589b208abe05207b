using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Motif.Storage.Queues;
using Motif.Storage.Tests;

namespace Motif.Pipeline.Tests;

/// <summary>
/// <see cref="HeldMessages"/> renews a held lock about every third of the lock duration, and only a lock that is at
/// least half a period old: a job settled soon after it arrived costs no renewal, one that waits is never left to lapse.
/// </summary>
public sealed class HeldMessagesTests : IDisposable
{
    private static readonly TimeSpan Lock = TimeSpan.FromSeconds(30);   // renewal passes every 10 s, locks older than 5 s
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly TempFolder _folder = new();

    [Fact]
    public async Task A_pass_renews_the_locks_half_a_period_old_and_leaves_younger_ones_for_the_next()
    {
        using var inner = new SqliteWorkQueue(Path.Combine(_folder.Path, "queue.db"), "jobs", new WorkQueueOptions { LockDuration = Lock }, _time);
        var queue = new RenewalCountingQueue(inner);
        await queue.SendBatchAsync([new OutgoingMessage("a"u8.ToArray()), new OutgoingMessage("b"u8.ToArray()),
            new OutgoingMessage("c"u8.ToArray())]);
        await using var held = new HeldMessages(queue, _time, renew: true, NullLogger.Instance);

        var early = await queue.ReceiveAsync(2);                 // at 0 s: two jobs, one settled at once
        held.Add(early);
        await held.SettleAsync(early[1], m => queue.CompleteAsync(m));
        _time.Advance(TimeSpan.FromSeconds(7));
        var late = (await queue.ReceiveAsync(1)).Single();        // at 7 s
        held.Add([late]);

        _time.Advance(TimeSpan.FromSeconds(3));                   // the pass at 10 s: the early lock is 10 s old, the late one 3 s
        await WaitForAsync(() => queue.Renewals(early[0]) == 1);
        Assert.Equal(0, queue.Renewals(late));
        Assert.Equal(0, queue.Renewals(early[1]));

        _time.Advance(TimeSpan.FromSeconds(10));                  // the pass at 20 s: both are 10 s or more old
        await WaitForAsync(() => queue.Renewals(early[0]) == 2 && queue.Renewals(late) == 1);
        Assert.Equal(0, queue.Renewals(early[1]));

        // The renewed locks hold: both jobs settle with the receipts of their last renewals.
        await held.SettleAsync(early[0], m => queue.CompleteAsync(m));
        await held.SettleAsync(late, m => queue.CompleteAsync(m));
        Assert.Empty(await queue.ReceiveAsync(3));
    }

    [Fact]
    public async Task A_lock_skipped_once_is_renewed_before_it_lapses_even_if_the_next_renewal_fails()
    {
        using var inner = new SqliteWorkQueue(Path.Combine(_folder.Path, "queue.db"), "jobs", new WorkQueueOptions { LockDuration = Lock }, _time);
        var queue = new RenewalCountingQueue(inner) { FailNext = 1 };
        await queue.SendAsync(new OutgoingMessage("a"u8.ToArray()));
        await using var held = new HeldMessages(queue, _time, renew: true, NullLogger.Instance);

        _time.Advance(TimeSpan.FromSeconds(5.5));
        var message = (await queue.ReceiveAsync(1)).Single();     // 4.5 s before the first pass: skipped there
        held.Add([message]);
        _time.Advance(TimeSpan.FromSeconds(4.5));                 // 10 s: 4.5 s old, skipped
        _time.Advance(TimeSpan.FromSeconds(10));                  // 20 s: 14.5 s old, renewal fails
        await WaitForAsync(() => queue.Attempts(message) == 1);
        _time.Advance(TimeSpan.FromSeconds(10));                  // 30 s: 24.5 s old, renewed 5.5 s before the lock would lapse
        await WaitForAsync(() => queue.Renewals(message) == 1);
        _time.Advance(TimeSpan.FromSeconds(10));

        await held.SettleAsync(message, m => queue.CompleteAsync(m));
        Assert.Empty(await queue.ReceiveAsync(1));
    }

    public void Dispose() => _folder.Dispose();

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Deadline, "the renewal pass did not happen");
            await Task.Delay(10);
        }
    }

    /// <summary>The queue, counting renewals per message; <see cref="FailNext"/> renewals fail as a transient error would.</summary>
    private sealed class RenewalCountingQueue(IWorkQueue inner) : IWorkQueue
    {
        private readonly Dictionary<string, (int Attempts, int Renewals)> _counts = new(StringComparer.Ordinal);

        public int FailNext { get; set; }

        public WorkQueueOptions Options => inner.Options;

        public int Renewals(ReceivedMessage message)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(message.MessageId).Renewals;
            }
        }

        public int Attempts(ReceivedMessage message)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(message.MessageId).Attempts;
            }
        }

        public async Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
        {
            bool fail;
            lock (_counts)
            {
                var (attempts, renewals) = _counts.GetValueOrDefault(message.MessageId);
                _counts[message.MessageId] = (attempts + 1, renewals);
                fail = FailNext > 0;
                FailNext -= fail ? 1 : 0;
            }
            if (fail)
            {
                throw new IOException("a transient failure");
            }
            var renewed = await inner.RenewLockAsync(message, cancellationToken);
            lock (_counts)
            {
                var (attempts, renewals) = _counts[message.MessageId];
                _counts[message.MessageId] = (attempts, renewals + 1);
            }
            return renewed;
        }

        public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default) =>
            inner.ReceiveAsync(maxMessages, maxWait, cancellationToken);

        public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => inner.SendAsync(message, cancellationToken);

        public Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) => inner.SendBatchAsync(messages, cancellationToken);

        public Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default) => inner.CompleteAsync(message, cancellationToken);

        public Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default) => inner.AbandonAsync(message, cancellationToken);

        public Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default) =>
            inner.DeadLetterAsync(message, reason, description, cancellationToken);

        public Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default) =>
            inner.PeekDeadLetteredAsync(maxMessages, fromSequenceNumber, cancellationToken);
    }
}
