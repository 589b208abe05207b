using Microsoft.Data.Sqlite;
using Motif.Storage.Sqlite;

namespace Motif.Storage.Queues;

/// <summary>
/// The embedded <see cref="IWorkQueue"/>: one named queue in a SQLite file. Several queues (e.g. "signatures" and
/// "training") may share a file, and several threads and processes may use one queue at once.
/// </summary>
/// <remarks>
/// <para>A message row carries a <c>visible_at</c> time: it can be received once that time has passed. Receiving sets
/// it to the lock's expiry and stamps a fresh lock token, so the lock needs no separate state and an expired lock
/// simply makes the message receivable again; nothing has to run in the background. Settling checks the token and
/// that the lock has not expired, which is how a consumer that stalled past its lock learns (MessageLockLost) that
/// someone else may be processing the message.</para>
/// <para>Receives run in BEGIN IMMEDIATE transactions (see <see cref="SqliteDatabase"/>): the select of visible
/// messages and their locking are one atomic step across threads and processes, so no message is locked by two
/// receivers at once.</para>
/// <para>Dead-lettering moves the row to a dead-letter table with its reason, never deletes it: at receive time for a
/// message whose deliveries are used up (its last lock expired), on abandon of its last delivery, on request of the
/// consumer, and before listing dead letters, so a message that exhausted its deliveries shows up there even if no
/// receiver has come by since.</para>
/// <para>All times come from the injected <see cref="TimeProvider"/>, stored as Unix milliseconds.</para>
/// </remarks>
public sealed class SqliteWorkQueue : IWorkQueue, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS queue_messages (
            sequence_number INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, even after deletes
            queue TEXT NOT NULL,
            message_id TEXT NOT NULL,
            body BLOB NOT NULL,
            content_type TEXT NOT NULL,
            enqueued_at INTEGER NOT NULL,
            visible_at INTEGER NOT NULL,          -- receivable from then; while locked, the lock's expiry
            delivery_count INTEGER NOT NULL DEFAULT 0,
            lock_token TEXT                       -- the current or last delivery's lock; NULL if none or abandoned
        );
        CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at);
        CREATE TABLE IF NOT EXISTS queue_dead_letters (
            sequence_number INTEGER PRIMARY KEY,  -- the one it had in queue_messages
            queue TEXT NOT NULL,
            message_id TEXT NOT NULL,
            body BLOB NOT NULL,
            content_type TEXT NOT NULL,
            enqueued_at INTEGER NOT NULL,
            delivery_count INTEGER NOT NULL,
            dead_lettered_at INTEGER NOT NULL,
            reason TEXT NOT NULL,
            description TEXT
        );
        CREATE INDEX IF NOT EXISTS queue_dead_letters_queue ON queue_dead_letters (queue, sequence_number);
        """;

    // Another process's send cannot signal this one, so an idle long poll looks again this often.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    private readonly SqliteDatabase _database;
    private readonly string _queue;
    private readonly TimeProvider _time;
    private readonly long _lockMs;

    // Completed (and replaced) by every send through this instance, to wake its long-polling receivers at once.
    private TaskCompletionSource _arrival = NewArrival();

    /// <summary>Opens (creating if needed) the queue <paramref name="queueName"/> in the SQLite file <paramref name="databasePath"/>.</summary>
    public SqliteWorkQueue(string databasePath, string queueName, WorkQueueOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        Options = options ?? new WorkQueueOptions();
        Options.Validate();
        _queue = queueName;
        _time = timeProvider ?? TimeProvider.System;
        _lockMs = (long)Math.Ceiling(Options.LockDuration.TotalMilliseconds);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _database = new SqliteDatabase(databasePath, Schema);
    }

    public WorkQueueOptions Options { get; }

    public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        Options.CheckOutgoing(message);
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((connection, transaction) => Insert(connection, transaction, message));
        SignalArrival();
        return Task.CompletedTask;
    }

    public Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Options.CheckOutgoing(message);
        }
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((connection, transaction) =>
        {
            foreach (var message in messages)
            {
                Insert(connection, transaction, message);
            }
            return messages.Count;
        });
        SignalArrival();
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        var deadline = _time.GetUtcNow() + maxWait;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Taken before looking, so a send that lands between the look and the wait still wakes us.
            var arrival = Volatile.Read(ref _arrival).Task;
            var received = TryReceive(maxMessages);
            var left = deadline - _time.GetUtcNow();
            if (received.Count > 0 || left <= TimeSpan.Zero)
            {
                return received;
            }
            using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(left < PollInterval ? left : PollInterval, _time, stopWaiting.Token);
            await Task.WhenAny(arrival, delay).ConfigureAwait(false);
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    public Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((connection, transaction) =>
        {
            RequireLock(connection, transaction, message);
            return SqliteDatabase.Execute(connection, transaction, "DELETE FROM queue_messages WHERE sequence_number = @seq", ("@seq", message.SequenceNumber));
        });
        return Task.CompletedTask;
    }

    public Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var madeVisible = _database.Write((connection, transaction) =>
        {
            var deliveries = RequireLock(connection, transaction, message);
            if (deliveries >= Options.MaxDeliveryCount)
            {
                MoveToDeadLetters(connection, transaction, message.SequenceNumber, DeadLetterReasons.MaxDeliveryCountExceeded,
                    $"Abandoned after {deliveries} deliveries.");
                return false;
            }
            SqliteDatabase.Execute(connection, transaction,
                "UPDATE queue_messages SET visible_at = @now, lock_token = NULL WHERE sequence_number = @seq",
                ("@now", NowMs()), ("@seq", message.SequenceNumber));
            return true;
        });
        if (madeVisible)
        {
            SignalArrival();
        }
        return Task.CompletedTask;
    }

    public Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var lockedUntil = _database.Write((connection, transaction) =>
        {
            RequireLock(connection, transaction, message);
            var until = NowMs() + _lockMs;
            SqliteDatabase.Execute(connection, transaction, "UPDATE queue_messages SET visible_at = @until WHERE sequence_number = @seq",
                ("@until", until), ("@seq", message.SequenceNumber));
            return until;
        });
        return Task.FromResult(message with { LockedUntil = DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil) });
    }

    public Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((connection, transaction) =>
        {
            RequireLock(connection, transaction, message);
            MoveToDeadLetters(connection, transaction, message.SequenceNumber, reason, description);
            return 0;
        });
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<DeadLetteredMessage>>(_database.Write((connection, transaction) =>
        {
            using (var exhausted = SqliteDatabase.Command(connection, transaction,
                "SELECT sequence_number, delivery_count FROM queue_messages WHERE queue = @queue AND visible_at <= @now AND delivery_count >= @max",
                ("@queue", _queue), ("@now", NowMs()), ("@max", Options.MaxDeliveryCount)))
            {
                foreach (var (sequenceNumber, deliveries) in ReadPairs(exhausted))
                {
                    MoveToDeadLetters(connection, transaction, sequenceNumber, DeadLetterReasons.MaxDeliveryCountExceeded, LockExpiredDescription(deliveries));
                }
            }
            using var command = SqliteDatabase.Command(connection, transaction,
                """
                SELECT message_id, sequence_number, body, content_type, delivery_count, enqueued_at, dead_lettered_at, reason, description
                FROM queue_dead_letters WHERE queue = @queue AND sequence_number >= @from ORDER BY sequence_number LIMIT @limit
                """,
                ("@queue", _queue), ("@from", fromSequenceNumber), ("@limit", maxMessages));
            using var reader = command.ExecuteReader();
            var messages = new List<DeadLetteredMessage>();
            while (reader.Read())
            {
                messages.Add(new DeadLetteredMessage(reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<byte[]>(2), reader.GetString(3),
                    reader.GetInt32(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                    reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
            }
            return messages;
        }));
    }

    /// <summary>
    /// Makes every locked message of this queue receivable now, as if its lock had expired (delivery counts stay).
    /// Only for an embedded consumer that knows it is the queue's sole consumer (<c>motif run</c> holds an exclusive
    /// lease on its workspace): after a crash, the dead process's locks would otherwise hide its messages for up to
    /// <see cref="WorkQueueOptions.LockDuration"/>. Returns how many locks were released.
    /// </summary>
    public int ReleaseLocks() => _database.Write((connection, transaction) => SqliteDatabase.Execute(connection, transaction,
        "UPDATE queue_messages SET visible_at = @now, lock_token = NULL WHERE queue = @queue AND visible_at > @now",
        ("@now", NowMs()), ("@queue", _queue)));

    /// <summary>How many messages the queue holds (visible or locked; dead letters not counted).</summary>
    public long Count() => _database.Read(connection =>
    {
        using var command = SqliteDatabase.Command(connection, null, "SELECT COUNT(*) FROM queue_messages WHERE queue = @queue", ("@queue", _queue));
        return (long)command.ExecuteScalar()!;
    });

    public void Dispose() => _database.Dispose();

    private IReadOnlyList<ReceivedMessage> TryReceive(int maxMessages) => _database.Write((connection, transaction) =>
    {
        var now = NowMs();
        var received = new List<ReceivedMessage>();
        while (received.Count < maxMessages)
        {
            var candidates = new List<(long Seq, string Id, byte[] Body, string Type, long Enqueued, int Deliveries)>();
            using (var command = SqliteDatabase.Command(connection, transaction,
                """
                SELECT sequence_number, message_id, body, content_type, enqueued_at, delivery_count FROM queue_messages
                WHERE queue = @queue AND visible_at <= @now ORDER BY sequence_number LIMIT @limit
                """,
                ("@queue", _queue), ("@now", now), ("@limit", maxMessages - received.Count)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    candidates.Add((reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt32(5)));
                }
            }
            if (candidates.Count == 0)
            {
                break;
            }
            foreach (var c in candidates)
            {
                if (c.Deliveries >= Options.MaxDeliveryCount)
                {
                    // Its last lock expired with every delivery used: dead-letter it rather than deliver it again.
                    MoveToDeadLetters(connection, transaction, c.Seq, DeadLetterReasons.MaxDeliveryCountExceeded, LockExpiredDescription(c.Deliveries));
                    continue;
                }
                var token = Guid.NewGuid().ToString("D");
                var lockedUntil = now + _lockMs;
                SqliteDatabase.Execute(connection, transaction,
                    "UPDATE queue_messages SET delivery_count = delivery_count + 1, lock_token = @token, visible_at = @until WHERE sequence_number = @seq",
                    ("@token", token), ("@until", lockedUntil), ("@seq", c.Seq));
                received.Add(new ReceivedMessage(c.Id, c.Seq, c.Body, c.Type, c.Deliveries + 1, DateTimeOffset.FromUnixTimeMilliseconds(c.Enqueued),
                    token, DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil)));
            }
        }
        return received;
    });

    /// <summary>Throws MessageLockLost unless <paramref name="message"/>'s lock is the current, unexpired one; returns its delivery count.</summary>
    private int RequireLock(SqliteConnection connection, SqliteTransaction transaction, ReceivedMessage message)
    {
        using var command = SqliteDatabase.Command(connection, transaction,
            "SELECT delivery_count FROM queue_messages WHERE sequence_number = @seq AND queue = @queue AND lock_token = @token AND visible_at > @now",
            ("@seq", message.SequenceNumber), ("@queue", _queue), ("@token", message.LockToken), ("@now", NowMs()));
        return command.ExecuteScalar() is long deliveries
            ? (int)deliveries
            : throw new WorkQueueException(WorkQueueErrorCode.MessageLockLost,
                $"The lock on message {message.SequenceNumber} ('{message.MessageId}') expired or the message was already settled.");
    }

    private long Insert(SqliteConnection connection, SqliteTransaction transaction, OutgoingMessage message)
    {
        var now = NowMs();
        using var command = SqliteDatabase.Command(connection, transaction,
            """
            INSERT INTO queue_messages (queue, message_id, body, content_type, enqueued_at, visible_at)
            VALUES (@queue, @id, @body, @type, @now, @now) RETURNING sequence_number
            """,
            ("@queue", _queue), ("@id", message.MessageId ?? Guid.NewGuid().ToString("N")), ("@body", message.Body.ToArray()),
            ("@type", message.ContentType ?? "application/octet-stream"), ("@now", now));
        return (long)command.ExecuteScalar()!;
    }

    private void MoveToDeadLetters(SqliteConnection connection, SqliteTransaction transaction, long sequenceNumber, string reason, string? description)
    {
        SqliteDatabase.Execute(connection, transaction,
            """
            INSERT INTO queue_dead_letters (sequence_number, queue, message_id, body, content_type, enqueued_at, delivery_count, dead_lettered_at, reason, description)
            SELECT sequence_number, queue, message_id, body, content_type, enqueued_at, delivery_count, @now, @reason, @description
            FROM queue_messages WHERE sequence_number = @seq;
            DELETE FROM queue_messages WHERE sequence_number = @seq;
            """,
            ("@now", NowMs()), ("@reason", reason), ("@description", description), ("@seq", sequenceNumber));
    }

    private void SignalArrival() => Interlocked.Exchange(ref _arrival, NewArrival()).TrySetResult();

    private static TaskCompletionSource NewArrival() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string LockExpiredDescription(int deliveries) => $"The lock of delivery {deliveries} expired and no deliveries are left.";

    private static IEnumerable<(long, int)> ReadPairs(SqliteCommand command)
    {
        var pairs = new List<(long, int)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            pairs.Add((reader.GetInt64(0), reader.GetInt32(1)));
        }
        return pairs;
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
