using Microsoft.Data.Sqlite;
using Motif.Storage.Sqlite;

namespace Motif.Storage.Catalog;

/// <summary>
/// The embedded <see cref="IImageCatalog"/>: two tables in a SQLite file (WAL, one writer at a time, safe across
/// threads and processes; see <see cref="SqliteDatabase"/>). Every write is one transaction, so a killed process
/// leaves either the whole change or none of it.
/// </summary>
public sealed class SqliteImageCatalog : IImageCatalog, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS catalog_images (
            image_id TEXT PRIMARY KEY,
            source_stamp TEXT,
            content_hash TEXT,
            byte_length INTEGER NOT NULL,
            status TEXT NOT NULL,             -- accepted | rejected
            reason TEXT,
            message TEXT,
            format TEXT,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,      -- Unix milliseconds
            trace_id TEXT                     -- W3C trace id of the upload's ingestion
        );
        CREATE INDEX IF NOT EXISTS catalog_images_hash ON catalog_images (content_hash);
        CREATE TABLE IF NOT EXISTS catalog_signatures (
            model_version TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            shard TEXT NOT NULL,
            row INTEGER NOT NULL,
            PRIMARY KEY (model_version, content_hash)
        );
        CREATE TABLE IF NOT EXISTS catalog_signature_failures (
            model_version TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            PRIMARY KEY (model_version, content_hash)
        );
        """;

    private const string ImageColumns = "i.image_id, i.source_stamp, i.content_hash, i.byte_length, i.status, i.reason, i.message, i.format, i.width, i.height, i.updated_at, i.trace_id";

    private readonly SqliteDatabase _database;

    /// <summary>Opens (creating if needed) the catalog in the SQLite file <paramref name="databasePath"/>.</summary>
    public SqliteImageCatalog(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _database = new SqliteDatabase(databasePath, Schema, Upgrade);
    }

    public Task<ImageRecord?> GetImageAsync(string imageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_database.Read(c => ReadImages(c, $"SELECT {ImageColumns} FROM catalog_images i WHERE i.image_id = @id", ("@id", imageId)).SingleOrDefault()));
    }

    public Task<IReadOnlyList<ImageRecord>> ListImagesAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<ImageRecord>>(CatalogConventions.OrderedById(_database.Read(c => ReadImages(c, $"SELECT {ImageColumns} FROM catalog_images i")), i => i.ImageId));
    }

    public Task PutImageAsync(ImageRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(record.ImageId, nameof(record));
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((c, t) => SqliteDatabase.Execute(c, t, """
            INSERT OR REPLACE INTO catalog_images (image_id, source_stamp, content_hash, byte_length, status, reason, message, format, width, height, updated_at, trace_id)
            VALUES (@id, @stamp, @hash, @length, @status, @reason, @message, @format, @width, @height, @updated, @trace)
            """,
            ("@id", record.ImageId), ("@stamp", record.SourceStamp), ("@hash", record.ContentHash), ("@length", record.ByteLength),
            ("@status", CatalogConventions.StatusCode(record.Status)), ("@reason", record.ReasonCode), ("@message", record.Message), ("@format", record.Format),
            ("@width", record.Width), ("@height", record.Height), ("@updated", record.UpdatedAt.ToUnixTimeMilliseconds()), ("@trace", record.TraceId)));
        return Task.CompletedTask;
    }

    public Task<int> RemoveImagesAsync(IReadOnlyCollection<string> imageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_database.Write((c, t) => imageIds.Sum(id =>
            SqliteDatabase.Execute(c, t, "DELETE FROM catalog_images WHERE image_id = @id", ("@id", id)))));
    }

    public Task<SignatureLocation?> GetSignatureAsync(string modelVersion, string contentHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(contentHash);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_database.Read(c =>
        {
            using var command = SqliteDatabase.Command(c, null, "SELECT shard, row FROM catalog_signatures WHERE model_version = @model AND content_hash = @hash",
                ("@model", modelVersion), ("@hash", contentHash));
            using var reader = command.ExecuteReader();
            return reader.Read() ? new SignatureLocation(modelVersion, contentHash, reader.GetString(0), reader.GetInt32(1)) : null;
        }));
    }

    public Task<int> AddSignaturesAsync(IReadOnlyList<SignatureLocation> locations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(locations);
        cancellationToken.ThrowIfCancellationRequested();
        // INSERT OR IGNORE keeps the first location: a redelivered job must not move a signature that was already
        // clustered, and the key makes a duplicate impossible rather than merely unlikely.
        return Task.FromResult(_database.Write((c, t) => locations.Sum(l => SqliteDatabase.Execute(c, t,
            "INSERT OR IGNORE INTO catalog_signatures (model_version, content_hash, shard, row) VALUES (@model, @hash, @shard, @row)",
            ("@model", l.ModelVersion), ("@hash", l.ContentHash), ("@shard", l.Shard), ("@row", l.Row)))));
    }

    public Task RecordSignatureFailureAsync(string modelVersion, string contentHash, string reasonCode, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(contentHash);
        ArgumentNullException.ThrowIfNull(reasonCode);
        cancellationToken.ThrowIfCancellationRequested();
        _database.Write((c, t) => SqliteDatabase.Execute(c, t,
            "INSERT OR REPLACE INTO catalog_signature_failures (model_version, content_hash, reason, message) VALUES (@model, @hash, @reason, @message)",
            ("@model", modelVersion), ("@hash", contentHash), ("@reason", reasonCode), ("@message", message ?? string.Empty)));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SignatureFailure>> ListSignatureFailuresAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<SignatureFailure>>(_database.Read(c =>
        {
            using var command = SqliteDatabase.Command(c, null,
                "SELECT content_hash, reason, message FROM catalog_signature_failures WHERE model_version = @model ORDER BY content_hash", ("@model", modelVersion));
            using var reader = command.ExecuteReader();
            var failures = new List<SignatureFailure>();
            while (reader.Read())
            {
                failures.Add(new SignatureFailure(modelVersion, reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
            return failures;
        }));
    }

    public Task<IReadOnlyList<ImageRecord>> ListUnsignedAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        cancellationToken.ThrowIfCancellationRequested();
        // The lowest id per content is picked here, not by MIN(image_id), for the reason CatalogConventions.OrderedById gives.
        var open = _database.Read(c => ReadImages(c, $"""
            SELECT {ImageColumns} FROM catalog_images i
            WHERE i.status = '{CatalogConventions.Accepted}' AND i.content_hash IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM catalog_signatures s WHERE s.model_version = @model AND s.content_hash = i.content_hash)
              AND NOT EXISTS (SELECT 1 FROM catalog_signature_failures f WHERE f.model_version = @model AND f.content_hash = i.content_hash)
            """, ("@model", modelVersion)));
        return Task.FromResult<IReadOnlyList<ImageRecord>>(CatalogConventions.OrderedById(open.GroupBy(i => i.ContentHash, StringComparer.Ordinal)
            .Select(g => g.MinBy(i => i.ImageId, StringComparer.Ordinal)!), i => i.ImageId));
    }

    public Task<IReadOnlyList<(ImageRecord Image, SignatureLocation Signature)>> ListSignedAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<(ImageRecord, SignatureLocation)>>(_database.Read(c =>
        {
            using var command = SqliteDatabase.Command(c, null, $"""
                SELECT {ImageColumns}, s.shard, s.row FROM catalog_images i
                JOIN catalog_signatures s ON s.content_hash = i.content_hash AND s.model_version = @model
                WHERE i.status = '{CatalogConventions.Accepted}'
                """, ("@model", modelVersion));
            using var reader = command.ExecuteReader();
            var rows = new List<(ImageRecord, SignatureLocation)>();
            while (reader.Read())
            {
                var image = ReadImage(reader);
                rows.Add((image, new SignatureLocation(modelVersion, image.ContentHash!, reader.GetString(12), reader.GetInt32(13))));
            }
            return CatalogConventions.OrderedById(rows, r => r.Item1.ImageId);
        }));
    }

    public Task<IReadOnlySet<string>> ListReferencedShardsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlySet<string>>(_database.Read(c =>
        {
            using var command = SqliteDatabase.Command(c, null, "SELECT DISTINCT shard FROM catalog_signatures");
            using var reader = command.ExecuteReader();
            var shards = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read())
            {
                shards.Add(reader.GetString(0));
            }
            return shards;
        }));
    }

    public void Dispose() => _database.Dispose();

    // Workspaces catalogued before images carried their upload's trace id have the table without trace_id; their
    // records read back untraced.
    private static void Upgrade(SqliteConnection connection, SqliteTransaction transaction) =>
        SqliteDatabase.AddColumnIfMissing(connection, transaction, "catalog_images", "trace_id", "TEXT");

    private static List<ImageRecord> ReadImages(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = SqliteDatabase.Command(connection, null, sql, parameters);
        using var reader = command.ExecuteReader();
        var records = new List<ImageRecord>();
        while (reader.Read())
        {
            records.Add(ReadImage(reader));
        }
        return records;
    }

    private static ImageRecord ReadImage(SqliteDataReader r) => new(
        r.GetString(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.GetInt64(3),
        CatalogConventions.ParseStatus(r.GetString(4)),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.GetInt32(8),
        r.GetInt32(9),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)))
    {
        TraceId = r.IsDBNull(11) ? null : r.GetString(11),
    };
}
