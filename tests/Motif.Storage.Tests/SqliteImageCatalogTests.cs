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
}
