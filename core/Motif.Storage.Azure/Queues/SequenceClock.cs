using System.Security.Cryptography;

namespace Motif.Storage.Azure.Queues;

/// <summary>
/// Sequence numbers for a service that assigns none (Azure Queue Storage): a hybrid logical clock per sender.
/// </summary>
/// <remarks>
/// A number is <c>milliseconds since 2020 (41 bits) · counter (10 bits) · sender tag (12 bits)</c>. Within one sender
/// the numbers strictly increase in send order (the counter, then a borrowed millisecond, absorb bursts and a clock that
/// steps back). Across senders they increase with the senders' clocks, and two senders collide only if they drew the same
/// random tag (1 in 4,096) and sent in the same millisecond with the same counter. That is as close to "unique, in send
/// order" as a service without a sequencer allows; the service's own order is only approximately FIFO anyway.
/// </remarks>
internal sealed class SequenceClock(TimeProvider time)
{
    private static readonly DateTimeOffset Epoch = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int CounterBits = 10, TagBits = 12;

    private readonly Lock _lock = new();
    private readonly long _tag = RandomNumberGenerator.GetInt32(1 << TagBits);
    private long _lastMs = -1, _counter;

    /// <summary>The next number of this sender.</summary>
    public long Next()
    {
        var now = (long)(time.GetUtcNow() - Epoch).TotalMilliseconds;
        lock (_lock)
        {
            if (now > _lastMs)
            {
                (_lastMs, _counter) = (now, 0);
            }
            else if (++_counter == 1 << CounterBits)
            {
                (_lastMs, _counter) = (_lastMs + 1, 0);
            }
            return (((_lastMs << CounterBits) | _counter) << TagBits) | _tag;
        }
    }

    /// <summary>The number a message without an envelope gets: its insertion time, as if sent by sender 0.</summary>
    public static long Of(DateTimeOffset insertedOn) => Math.Max(0, (long)(insertedOn - Epoch).TotalMilliseconds) << (CounterBits + TagBits);
}
