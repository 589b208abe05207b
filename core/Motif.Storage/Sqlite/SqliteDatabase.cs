using Microsoft.Data.Sqlite;

namespace Motif.Storage.Sqlite;

/// <summary>
/// One SQLite file shared by threads and processes: the embedded adapters keep their state (the blob index, the
/// queues) in such files and rely on SQLite's file locking to serialise writers across processes.
/// </summary>
/// <remarks>
/// WAL mode lets readers proceed while one writer commits. Every state change runs in a BEGIN IMMEDIATE transaction:
/// it takes the write lock before reading, so a read-check-write sequence (an ETag condition, a queue receive) cannot
/// interleave with another writer's, and two writers never deadlock on a read-to-write upgrade. Writers that find the
/// lock taken wait (busy timeout) instead of failing. synchronous=FULL because a message acknowledged by Send or a blob
/// acknowledged by Put must survive a power loss, not only a process crash.
/// </remarks>
internal sealed class SqliteDatabase : IDisposable
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly string _schema;
    private readonly Action<SqliteConnection, SqliteTransaction>? _upgrade;
    private readonly Lock _schemaLock = new();
    private volatile bool _schemaReady;
    private bool _disposed;

    /// <param name="path">The file.</param>
    /// <param name="schema">CREATE ... IF NOT EXISTS statements of the current schema.</param>
    /// <param name="upgrade">Brings a file created by an older version up to <paramref name="schema"/> (columns added
    /// since), in the same transaction as the schema, so two processes opening an old file cannot both alter it.</param>
    public SqliteDatabase(string path, string schema, Action<SqliteConnection, SqliteTransaction>? upgrade = null)
    {
        SqliteProcess.UseOneSqlite();
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(path),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
        _schema = schema;
        _upgrade = upgrade;
    }

    /// <summary>Opens a pooled connection (a SqliteConnection is not thread-safe: one per operation).</summary>
    public SqliteConnection Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, null, $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = FULL;");
        EnsureSchema(connection);
        return connection;
    }

    /// <summary>Runs <paramref name="work"/> in a BEGIN IMMEDIATE transaction and commits it unless it throws.</summary>
    public T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction(deferred: false);
        var result = work(connection, transaction);
        transaction.Commit();
        return result;
    }

    /// <summary>Runs a read in one statement-consistent snapshot (WAL: does not wait for writers).</summary>
    public T Read<T>(Func<SqliteConnection, T> work)
    {
        using var connection = Open();
        return work(connection);
    }

    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    public static int Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Adds <paramref name="column"/> to <paramref name="table"/> unless it has it: CREATE TABLE IF NOT EXISTS leaves a
    /// table made by an older version as it was. The names are the caller's constants, never input.
    /// </summary>
    public static void AddColumnIfMissing(SqliteConnection connection, SqliteTransaction transaction, string table, string column, string definition)
    {
        using (var command = Command(connection, transaction, $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = @column", ("@column", column)))
        {
            if (command.ExecuteScalar() is not null)
            {
                return;
            }
        }
        Execute(connection, transaction, $"ALTER TABLE {table} ADD COLUMN {column} {definition}");
    }

    /// <summary>Releases the pooled connections so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private void EnsureSchema(SqliteConnection connection)
    {
        if (_schemaReady)
        {
            return;
        }
        lock (_schemaLock)
        {
            if (_schemaReady)
            {
                return;
            }
            // journal_mode is persistent in the file, so every later connection (of any process) uses WAL.
            Execute(connection, null, "PRAGMA journal_mode = WAL;");
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                Execute(connection, transaction, _schema);
                _upgrade?.Invoke(connection, transaction);
                transaction.Commit();
            }
            _schemaReady = true;
        }
    }
}
