using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Motif.Storage.Sqlite;

namespace Motif.Storage.Blobs;

/// <summary>
/// The embedded <see cref="IBlobStore"/>: blob contents are files under a root folder, and an index in SQLite
/// (<c>index.db</c> in the same folder) maps each name to its current version, properties and lease.
/// Several threads and processes may open the same root.
/// </summary>
/// <remarks>
/// <para><b>Versions, not names, on disk.</b> Each write stores the bytes in a new immutable file
/// <c>data/xx/VERSION</c>, where VERSION is 128 random bits, and the blob's ETag is that version. The write becomes
/// visible in one SQLite transaction that checks the conditions and lease and points the name at the new version;
/// the previous version's file is deleted after the commit. So a crash at any point leaves either the old or the new
/// version complete and correctly labelled (at worst an unreferenced file remains), which a name-to-path layout with
/// a separate ETag sidecar cannot promise: the rename of the content and the update of its ETag would be two steps.
/// The same choice keeps Azure's flat namespace ("a/b" and "a/b/c" may both be blobs; "A" and "a" differ even on a
/// case-insensitive file system) and means a name never becomes a path, so even a name that slipped past
/// <see cref="BlobName"/> could not reach outside the root. The price: the folder is not browsable by blob name.</para>
/// <para><b>ETags are random version stamps</b>, not content hashes: Azure gives every write a new ETag even for
/// identical bytes, and callers may rely on that (a rewrite is a new version for leases and caches).</para>
/// <para><b>Atomic files.</b> Content is written to a temp file in the target folder, flushed to disk, then renamed:
/// a file under its final name is always complete, and the rename never crosses file systems.</para>
/// <para><b>Concurrency.</b> Conditions and leases are checked inside BEGIN IMMEDIATE transactions on the shared
/// SQLite file (see <see cref="SqliteDatabase"/>), which serialises them across threads and processes without
/// hand-rolled lock files (whose stale-lock recovery after a crash is the hard part SQLite already solves).
/// Readers open the version file with FileShare.Delete, so a concurrent overwrite may delete it while they read.</para>
/// </remarks>
public sealed class LocalFolderBlobStore : IBlobStore, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS blobs (
            name TEXT NOT NULL PRIMARY KEY,   -- BINARY collation: UTF-8 byte order, Azure's listing order
            version TEXT NOT NULL,            -- 32 hex digits: the content file's name and the ETag
            length INTEGER NOT NULL,
            content_type TEXT NOT NULL,
            metadata TEXT NOT NULL,           -- JSON object
            last_modified INTEGER NOT NULL,   -- Unix milliseconds
            lease_id TEXT,                    -- NULL: never leased, released, or cleared by a write after expiry
            lease_duration INTEGER,           -- milliseconds; NULL with a lease_id: infinite
            lease_expires INTEGER             -- Unix milliseconds; NULL with a lease_id: infinite
        ) WITHOUT ROWID;
        """;

    private const string Columns = "name, version, length, content_type, metadata, last_modified, lease_id, lease_duration, lease_expires";

    private readonly string _dataFolder;
    private readonly SqliteDatabase _index;
    private readonly TimeProvider _time;

    /// <summary>Opens (creating if needed) the store kept in <paramref name="rootPath"/>.</summary>
    /// <param name="rootPath">A folder owned by the store; put nothing else in it.</param>
    /// <param name="timeProvider">The clock for LastModified and lease expiry; the system clock by default.</param>
    public LocalFolderBlobStore(string rootPath, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        RootPath = Path.GetFullPath(rootPath);
        _dataFolder = Path.Combine(RootPath, "data");
        Directory.CreateDirectory(_dataFolder);
        _index = new SqliteDatabase(Path.Combine(RootPath, "index.db"), Schema);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The folder holding the index and the content files.</summary>
    public string RootPath { get; }

    public async Task<BlobProperties> PutAsync(string name, Stream content, BlobPutOptions? options = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        options ??= new BlobPutOptions();
        ArgumentNullException.ThrowIfNull(options.ContentType, nameof(options.ContentType));
        var conditions = options.Conditions;
        conditions?.Validate();
        BlobName.ValidateMetadata(options.Metadata, nameof(options.Metadata));
        cancellationToken.ThrowIfCancellationRequested();

        // Refuse a create-only write of an existing blob before copying the content; the transaction below re-checks.
        if (conditions is { IfNotExists: true } && _index.Read(c => ReadRow(c, null, name)) is not null)
        {
            throw new BlobStoreException(BlobErrorCode.BlobAlreadyExists, name, "The blob already exists.");
        }

        var version = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var path = ContentPath(version);
        var length = await WriteContentFileAsync(path, content, cancellationToken).ConfigureAwait(false);
        string? replaced;
        BlobProperties properties;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var metadata = JsonSerializer.Serialize(options.Metadata ?? new Dictionary<string, string>());
            (properties, replaced) = _index.Write((connection, transaction) =>
            {
                var now = _time.GetUtcNow();
                var row = ReadRow(connection, transaction, name);
                CheckWriteAllowed(name, row, conditions, now);
                // A write by the lease holder keeps the lease; a write after the lease expired ends it (Azure).
                var keepLease = row is not null && row.LeaseActive(now);
                var written = new Row(name, version, length, options.ContentType, metadata, now.ToUnixTimeMilliseconds(),
                    keepLease ? row!.LeaseId : null, keepLease ? row!.LeaseDurationMs : null, keepLease ? row!.LeaseExpiresMs : null);
                SqliteDatabase.Execute(connection, transaction,
                    $"INSERT OR REPLACE INTO blobs ({Columns}) VALUES (@name, @version, @length, @type, @metadata, @modified, @lease, @duration, @expires)",
                    ("@name", name), ("@version", version), ("@length", length), ("@type", written.ContentType), ("@metadata", metadata),
                    ("@modified", written.LastModifiedMs), ("@lease", written.LeaseId), ("@duration", written.LeaseDurationMs), ("@expires", written.LeaseExpiresMs));
                return (written.ToProperties(now), row?.Version);
            });
        }
        catch
        {
            TryDelete(path);
            throw;
        }
        if (replaced is not null)
        {
            TryDelete(ContentPath(replaced));
        }
        return properties;
    }

    public Task<BlobDownload> GetAsync(string name, BlobRange? range = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        if (range is { } r && (r.Offset < 0 || r.Length < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(range), r, "A range has a non-negative offset and length.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        var row = _index.Read(c => ReadRow(c, null, name)) ?? throw NotFound(name);
        while (true)
        {
            if (range is { } requested && requested.Offset > 0 && requested.Offset >= row.Length)
            {
                throw new BlobStoreException(BlobErrorCode.InvalidRange, name, $"The range starts at {requested.Offset}, the blob has {row.Length} bytes.");
            }
            FileStream file;
            try
            {
                // FileShare.Delete: a writer replacing this version may delete the file while we read (on Linux the
                // open handle keeps the bytes; on Windows the share mode is what allows the delete).
                file = new FileStream(ContentPath(row.Version), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // The version was replaced or deleted between reading the index and opening its file: read the index again.
                var current = _index.Read(c => ReadRow(c, null, name)) ?? throw NotFound(name);
                if (current.Version == row.Version)
                {
                    throw new IOException($"The blob store at '{RootPath}' is damaged: the content file of '{name}' version {row.Version} is missing.", e);
                }
                row = current;
                continue;
            }
            var offset = range?.Offset ?? 0;
            var length = Math.Min(range?.Length ?? long.MaxValue, row.Length - offset);
            file.Seek(offset, SeekOrigin.Begin);
            return Task.FromResult(new BlobDownload(row.ToProperties(_time.GetUtcNow()), new BoundedReadStream(file, length)));
        }
    }

    public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        cancellationToken.ThrowIfCancellationRequested();
        var row = _index.Read(c => ReadRow(c, null, name));
        return Task.FromResult(row?.ToProperties(_time.GetUtcNow()));
    }

    public Task<BlobPage> ListAsync(string prefix, int pageSize = BlobPage.DefaultPageSize, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, BlobPage.MaxPageSize);
        cancellationToken.ThrowIfCancellationRequested();
        // The continuation token is the last name returned: stable under concurrent writes (no offset to shift),
        // and no blob name is the empty string, so "" means "from the start".
        var after = continuationToken ?? "";
        var upper = PrefixUpperBound(prefix);
        var rows = _index.Read(connection =>
        {
            using var command = SqliteDatabase.Command(connection, null,
                $"SELECT {Columns} FROM blobs WHERE name > @after AND name >= @prefix {(upper is null ? "" : "AND name < @upper")} ORDER BY name LIMIT @limit",
                ("@after", after), ("@prefix", prefix), ("@upper", upper), ("@limit", pageSize + 1));
            return ReadRows(command);
        });
        var now = _time.GetUtcNow();
        var items = rows.Take(pageSize).Select(r => r.ToProperties(now)).ToArray();
        return Task.FromResult(new BlobPage(items, rows.Count > pageSize ? items[^1].Name : null));
    }

    public Task<bool> DeleteAsync(string name, BlobConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        conditions?.Validate();
        if (conditions is { IfNotExists: true })
        {
            throw new ArgumentException("A delete cannot be conditional on the blob not existing.", nameof(conditions));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = _index.Write((connection, transaction) =>
        {
            var row = ReadRow(connection, transaction, name);
            if (row is null)
            {
                return null;
            }
            CheckWriteAllowed(name, row, conditions, _time.GetUtcNow());
            SqliteDatabase.Execute(connection, transaction, "DELETE FROM blobs WHERE name = @name", ("@name", name));
            return row.Version;
        });
        if (deleted is null)
        {
            return Task.FromResult(false);
        }
        TryDelete(ContentPath(deleted));
        return Task.FromResult(true);
    }

    public Task<BlobLease> AcquireLeaseAsync(string name, TimeSpan? duration, string? proposedLeaseId = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        BlobName.ValidateLeaseDuration(duration);
        var leaseId = proposedLeaseId is null ? Guid.NewGuid().ToString("D") : NormalizeLeaseId(proposedLeaseId)
            ?? throw new ArgumentException("A proposed lease id is a GUID.", nameof(proposedLeaseId));
        cancellationToken.ThrowIfCancellationRequested();
        var durationMs = duration is { } d ? (long)d.TotalMilliseconds : (long?)null;
        return Task.FromResult(_index.Write((connection, transaction) =>
        {
            var now = _time.GetUtcNow();
            var row = ReadRow(connection, transaction, name) ?? throw NotFound(name);
            if (row.LeaseActive(now) && row.LeaseId != leaseId)
            {
                throw new BlobStoreException(BlobErrorCode.LeaseAlreadyPresent, name, "Another lease is active on the blob.");
            }
            return SetLease(connection, transaction, name, leaseId, durationMs, now);
        }));
    }

    public Task<BlobLease> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(leaseId);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_index.Write((connection, transaction) =>
        {
            var now = _time.GetUtcNow();
            var row = ReadRow(connection, transaction, name) ?? throw NotFound(name);
            CheckLeaseHolder(name, row, leaseId);
            return SetLease(connection, transaction, name, row.LeaseId!, row.LeaseDurationMs, now);
        }));
    }

    public Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(leaseId);
        cancellationToken.ThrowIfCancellationRequested();
        _index.Write((connection, transaction) =>
        {
            var row = ReadRow(connection, transaction, name) ?? throw NotFound(name);
            CheckLeaseHolder(name, row, leaseId);
            return SqliteDatabase.Execute(connection, transaction,
                "UPDATE blobs SET lease_id = NULL, lease_duration = NULL, lease_expires = NULL WHERE name = @name", ("@name", name));
        });
        return Task.CompletedTask;
    }

    public void Dispose() => _index.Dispose();

    /// <summary>
    /// The smallest string greater than every string starting with <paramref name="prefix"/>, in code point order:
    /// the prefix with its last code point incremented (dropping trailing U+10FFFF). Null when there is no bound.
    /// It lets the listing query seek the index to the prefix's range instead of scanning to the end.
    /// </summary>
    internal static string? PrefixUpperBound(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToList();
        while (runes.Count > 0)
        {
            var last = runes[^1].Value;
            runes.RemoveAt(runes.Count - 1);
            if (last < 0x10FFFF)
            {
                runes.Add(new Rune(last + 1 == 0xD800 ? 0xE000 : last + 1));
                var sb = new StringBuilder();
                foreach (var rune in runes)
                {
                    sb.Append(rune.ToString());
                }
                return sb.ToString();
            }
        }
        return null;
    }

    private string ContentPath(string version) => Path.Combine(_dataFolder, version[..2], version);

    private static async Task<long> WriteContentFileAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $"{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            long length;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                // On disk before the rename and the commit that refers to it, so a power loss cannot leave a
                // committed version whose file is empty.
                file.Flush(flushToDisk: true);
                length = file.Length;
            }
            File.Move(temp, path);
            return length;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    // An unreferenced content file only costs disk space, so failing to delete one must not fail the operation.
    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void CheckWriteAllowed(string name, Row? row, BlobConditions? conditions, DateTimeOffset now)
    {
        var leaseId = conditions?.LeaseId is { } given ? NormalizeLeaseId(given) ?? given : null;
        if (row is not null && row.LeaseActive(now))
        {
            if (leaseId is null)
            {
                throw new BlobStoreException(BlobErrorCode.LeaseIdMissing, name, "The blob is leased and no lease id was given.");
            }
            if (leaseId != row.LeaseId)
            {
                throw new BlobStoreException(BlobErrorCode.LeaseIdMismatch, name, "The lease id given is not the blob's active lease.");
            }
        }
        else if (leaseId is not null)
        {
            throw new BlobStoreException(BlobErrorCode.LeaseNotPresent, name, "A lease id was given but the blob has no active lease.");
        }
        if (conditions is { IfNotExists: true } && row is not null)
        {
            throw new BlobStoreException(BlobErrorCode.BlobAlreadyExists, name, "The blob already exists.");
        }
        if (conditions?.IfMatch is { } etag && (row is null || ETagOf(row.Version) != etag))
        {
            throw new BlobStoreException(BlobErrorCode.ConditionNotMet, name,
                row is null ? "If-Match was given but the blob does not exist." : "The blob's ETag is no longer the one given in If-Match.");
        }
    }

    private static void CheckLeaseHolder(string name, Row row, string leaseId)
    {
        if (row.LeaseId is null)
        {
            throw new BlobStoreException(BlobErrorCode.LeaseNotPresent, name, "The blob has no lease.");
        }
        if ((NormalizeLeaseId(leaseId) ?? leaseId) != row.LeaseId)
        {
            throw new BlobStoreException(BlobErrorCode.LeaseIdMismatch, name, "The lease id given is not the blob's lease.");
        }
    }

    private static BlobLease SetLease(SqliteConnection connection, SqliteTransaction transaction, string name, string leaseId, long? durationMs, DateTimeOffset now)
    {
        var expires = durationMs is { } ms ? now.ToUnixTimeMilliseconds() + ms : (long?)null;
        SqliteDatabase.Execute(connection, transaction,
            "UPDATE blobs SET lease_id = @lease, lease_duration = @duration, lease_expires = @expires WHERE name = @name",
            ("@lease", leaseId), ("@duration", durationMs), ("@expires", expires), ("@name", name));
        return new BlobLease(leaseId, expires is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null);
    }

    // Lease ids are GUIDs; comparing their canonical form makes "ABC…" and "abc…" the same lease, as in Azure.
    private static string? NormalizeLeaseId(string leaseId) => Guid.TryParse(leaseId, out var guid) ? guid.ToString("D") : null;

    private static string ETagOf(string version) => $"\"{version}\"";

    private static BlobStoreException NotFound(string name) => new(BlobErrorCode.BlobNotFound, name, "The blob does not exist.");

    private static Row? ReadRow(SqliteConnection connection, SqliteTransaction? transaction, string name)
    {
        using var command = SqliteDatabase.Command(connection, transaction, $"SELECT {Columns} FROM blobs WHERE name = @name", ("@name", name));
        return ReadRows(command).SingleOrDefault();
    }

    private static List<Row> ReadRows(SqliteCommand command)
    {
        var rows = new List<Row>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new Row(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetInt64(8)));
        }
        return rows;
    }

    private sealed record Row(string Name, string Version, long Length, string ContentType, string MetadataJson, long LastModifiedMs,
        string? LeaseId, long? LeaseDurationMs, long? LeaseExpiresMs)
    {
        public bool LeaseActive(DateTimeOffset now) => LeaseId is not null && (LeaseExpiresMs is null || LeaseExpiresMs > now.ToUnixTimeMilliseconds());

        public BlobProperties ToProperties(DateTimeOffset now)
        {
            var metadata = new Dictionary<string, string>(JsonSerializer.Deserialize<Dictionary<string, string>>(MetadataJson) ?? [], StringComparer.OrdinalIgnoreCase);
            return new BlobProperties(Name, Length, ETagOf(Version), DateTimeOffset.FromUnixTimeMilliseconds(LastModifiedMs), ContentType,
                metadata.AsReadOnly(), LeaseActive(now) ? BlobLeaseState.Leased : BlobLeaseState.Available);
        }
    }
}
