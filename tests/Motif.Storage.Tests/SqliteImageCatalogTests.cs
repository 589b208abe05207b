using Microsoft.Data.Sqlite;
using Motif.Storage.Catalog;
using Motif.Storage.Sqlite;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Tests;

/// <summary>The catalog conformance suite against the SQLite catalog, one file per catalog.</summary>
public sealed class SqliteImageCatalogConformance : ImageCatalogConformance, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<SqliteImageCatalog> _catalogs = [];

    protected override Task<IImageCatalog> CreateCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(_folder.Combine($"catalog-{_catalogs.Count}.db"));
        _catalogs.Add(catalog);
        return Task.FromResult<IImageCatalog>(catalog);
    }

    public void Dispose()
    {
        _catalogs.ForEach(c => c.Dispose());
        _folder.Dispose();
    }
}

/// <summary>What the SQLite catalog promises beyond the port: it is a file that outlives the process.</summary>
public sealed class SqliteImageCatalogTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_catalog_survives_reopening()
    {
        using (var catalog = new SqliteImageCatalog(_folder.Combine("catalog.db")))
        {
            await catalog.PutImageAsync(new ImageRecord("a.jpg", "stamp", "h1", 100, ImageStatus.Accepted, null, null, "jpeg", 640, 480, DateTimeOffset.UnixEpoch));
            await catalog.AddSignaturesAsync([new("m1", "h1", "shard-1", 3)]);
        }

        using var reopened = new SqliteImageCatalog(_folder.Combine("catalog.db"));
        Assert.Equal("h1", (await reopened.GetImageAsync("a.jpg"))!.ContentHash);
        Assert.Equal(3, (await reopened.GetSignatureAsync("m1", "h1"))!.Row);
    }

    [Fact]
    public async Task A_catalog_made_before_records_carried_a_trace_id_opens_reads_them_untraced_and_keeps_new_trace_ids()
    {
        var path = _folder.Combine("old.db");
        // The process's one SQLite first (as every SqliteDatabase does): a raw connection opened before it would load the
        // bundled library, and later calls resolved to the system one would then mix two SQLites on one handle (a segfault).
        SqliteProcess.UseOneSqlite();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // The table as the catalog created it before trace_id, with one accepted image.
            command.CommandText = """
                CREATE TABLE catalog_images (
                    image_id TEXT PRIMARY KEY, source_stamp TEXT, content_hash TEXT, byte_length INTEGER NOT NULL, status TEXT NOT NULL,
                    reason TEXT, message TEXT, format TEXT, width INTEGER NOT NULL, height INTEGER NOT NULL, updated_at INTEGER NOT NULL);
                INSERT INTO catalog_images VALUES ('old.jpg', 'stamp', 'h1', 100, 'accepted', NULL, NULL, 'jpeg', 640, 480, 0);
                """;
            command.ExecuteNonQuery();
        }

        using (var catalog = new SqliteImageCatalog(path))
        {
            var old = new ImageRecord("old.jpg", "stamp", "h1", 100, ImageStatus.Accepted, null, null, "jpeg", 640, 480, DateTimeOffset.UnixEpoch);
            Assert.Equal(old, await catalog.GetImageAsync("old.jpg"));
            Assert.Null((await catalog.GetImageAsync("old.jpg"))!.TraceId);

            await catalog.PutImageAsync(old with { ImageId = "new.jpg", TraceId = "0af7651916cd43dd8448eb211c80319c" });
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", (await catalog.GetImageAsync("new.jpg"))!.TraceId);
        }

        // Opening it again finds the column there and leaves it be.
        using var reopened = new SqliteImageCatalog(path);
        Assert.Equal([("new.jpg", "0af7651916cd43dd8448eb211c80319c"), ("old.jpg", (string?)null)], (await reopened.ListImagesAsync()).Select(i => (i.ImageId, i.TraceId)));
    }
}
