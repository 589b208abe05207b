using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Motif.Storage.Queues;

namespace Motif.Pipeline;

/// <summary>
/// The received messages of a signing loop that are not settled yet: while they wait for their batch's turn and
/// during its forward pass, their locks are renewed about every third of <see cref="WorkQueueOptions.LockDuration"/>,
/// and every settlement goes through here with the message as last renewed.
/// </summary>
/// <remarks>
/// Some services change a message's receipt on renewal (Queue Storage's pop receipt), so a renewal and a settlement
/// of the same message must not overlap: each message has its own gate, taken by both. A third of the lock leaves
/// two renewal attempts before the lock lapses, so one slow or failed renewal (a transient storage error) does not
/// cost the delivery. A pass renews only the locks at least half a period old (by this process's clock, from the
/// receive or the last renewal): most jobs are settled a few seconds after they arrive, and renewing every held lock
/// on every pass cost one request per job for nothing (304 renewals for 468 jobs under <c>motif dev</c>, with 30 s
/// locks). A lock skipped at one pass is at most 1.5 periods old at the next, which still leaves two attempts before
/// it lapses at 3. Whatever is still held when the loop ends is abandoned by <see cref="AbandonAllAsync"/>, so
/// a message is never left to its lock's expiry by a loop that stopped on purpose.
/// </remarks>
internal sealed class HeldMessages : IAsyncDisposable
{
    private readonly IWorkQueue _queue;
    private readonly TimeProvider _time;
    private readonly TimeSpan _renewAfter;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, Held> _held = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewals;

    /// <param name="queue">Where the messages came from.</param>
    /// <param name="time">The renewals' clock.</param>
    /// <param name="renew">False: hold and settle only, and let a lock lapse (<see cref="SignatureService.ProcessBatchAsync"/>).</param>
    /// <param name="logger">Where lost locks are reported.</param>
    public HeldMessages(IWorkQueue queue, TimeProvider time, bool renew, ILogger logger)
    {
        (_queue, _time, _logger) = (queue, time, logger);
        var period = queue.Options.LockDuration / 3;
        _renewAfter = period / 2;
        // The timer starts here, not in the task, so that the passes are a period apart from this moment whenever the
        // task gets to run.
        var timer = renew ? new PeriodicTimer(period, time) : null;
        _renewals = timer is null ? Task.CompletedTask : Task.Run(() => RenewPeriodicallyAsync(timer, _stop.Token));
    }

    public void Add(IEnumerable<ReceivedMessage> messages)
    {
        foreach (var message in messages)
        {
            _held[message.SequenceNumber] = new Held(message, _time.GetTimestamp());
        }
    }

    /// <summary>
    /// Settles <paramref name="message"/> with <paramref name="settle"/>, given its latest lock; it is no longer held
    /// once <paramref name="settle"/> returns. If it throws, the message stays held (and is abandoned at the end).
    /// </summary>
    public async Task SettleAsync(ReceivedMessage message, Func<ReceivedMessage, Task> settle)
    {
        if (!_held.TryGetValue(message.SequenceNumber, out var held))
        {
            return;
        }
        await held.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (held.Settled)
            {
                return;
            }
            await settle(held.Message).ConfigureAwait(false);
            held.Settled = true;
            _held.TryRemove(message.SequenceNumber, out _);
        }
        finally
        {
            held.Gate.Release();
        }
    }

    /// <summary>
    /// Gives back every message still held for another delivery. <paramref name="beforeAbandon"/> sees each one first
    /// (to record why a last delivery failed). A message whose lock is gone comes back by itself.
    /// </summary>
    public async Task AbandonAllAsync(Func<ReceivedMessage, Task>? beforeAbandon = null)
    {
        foreach (var message in _held.Values.Select(h => h.Message).OrderBy(m => m.SequenceNumber).ToArray())
        {
            await SettleAsync(message, async latest =>
            {
                try
                {
                    if (beforeAbandon is not null)
                    {
                        await beforeAbandon(latest).ConfigureAwait(false);
                    }
                    await _queue.AbandonAsync(latest, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Already settled, its lock expired, or the store is unreachable: it comes back when its lock lapses.
                    _logger.LogDebug(e, "Could not abandon job {MessageId}; it returns when its lock expires.", latest.MessageId);
                }
            }).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _renewals.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        _stop.Dispose();
    }

    private async Task RenewPeriodicallyAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using var _ = timer;
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            await Task.WhenAll(_held.Values.ToArray().Select(h => RenewAsync(h, cancellationToken))).ConfigureAwait(false);
        }
    }

    private async Task RenewAsync(Held held, CancellationToken cancellationToken)
    {
        await held.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!held.Settled && _time.GetElapsedTime(held.LockedAt) >= _renewAfter)
            {
                held.Message = await _queue.RenewLockAsync(held.Message, cancellationToken).ConfigureAwait(false);
                held.LockedAt = _time.GetTimestamp();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A lost lock means another delivery may be under way; the catalog keeps the work exactly-once, and the
            // settlement of this one fails harmlessly. A transient error gets another try a third of a lock later.
            _logger.LogWarning("Could not renew the lock on job {MessageId}: {Message}", held.Message.MessageId, e.Message);
        }
        finally
        {
            held.Gate.Release();
        }
    }

    private sealed class Held(ReceivedMessage message, long lockedAt)
    {
        public ReceivedMessage Message { get; set; } = message;

        /// <summary>When the lock was taken or last renewed (<see cref="TimeProvider.GetTimestamp"/>).</summary>
        public long LockedAt { get; set; } = lockedAt;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool Settled { get; set; }
    }
}
