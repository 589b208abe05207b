namespace Motif.Storage.Tests;

public sealed class SqliteImageCatalogTests : IDisposable
{
    private readonly TempFolder folder = new();
    private readonly SqliteImageCatalog catalog;

    public SqliteImageCatalogTests() => catalog = new SqliteImageCatalog(folder.Combine("catalog.db"));

    public void Dispose()
    {
        catalog.Dispose();
        folder.Dispose();
    }

    private static ImageRecord Accepted(string id, string hash) =>
        new(id, "stamp", hash, 100, ImageStatus.Accepted, null, null, "jpeg", 640, 480, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));

    [Fact]
    public async Task Records_round_trip_hostile_ids_included_and_are_listed_in_id_order()
    {
        var hostile = "a/../../etc/passwd'; DROP TABLE catalog_images; --\n\u202Egpj.exe";
        await catalog.PutImageAsync(Accepted("b.jpg", "h2"));
        await catalog.PutImageAsync(Accepted(hostile, "h1"));
        await catalog.PutImageAsync(new ImageRecord("c.txt", "s", "h3", 5, ImageStatus.Rejected, "unknown-format", "Not an image.", null, 0, 0, DateTimeOffset.UnixEpoch));

        Assert.Equal(Accepted(hostile, "h1"), await catalog.GetImageAsync(hostile));
        Assert.Equal([hostile, "b.jpg", "c.txt"], (await catalog.ListImagesAsync()).Select(i => i.ImageId));
        Assert.Equal(("unknown-format", "Not an image."), ((await catalog.GetImageAsync("c.txt"))!.ReasonCode, (await catalog.GetImageAsync("c.txt"))!.Message));
        Assert.Null(await catalog.GetImageAsync("missing"));

        // Replacing keeps one record per id; removing leaves signatures alone.
        await catalog.PutImageAsync(Accepted("b.jpg", "h2b"));
        Assert.Equal("h2b", (await catalog.GetImageAsync("b.jpg"))!.ContentHash);
        Assert.Equal(1, await catalog.RemoveImagesAsync(["b.jpg", "never-there"]));
        Assert.Equal(2, (await catalog.ListImagesAsync()).Count);
    }

    [Fact]
    public async Task A_content_is_signed_once_per_model_and_unsigned_work_is_listed_once_per_content()
    {
        await catalog.PutImageAsync(Accepted("a.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("a-copy.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("b.jpg", "h2"));
        await catalog.PutImageAsync(Accepted("c.jpg", "h3"));
        await catalog.PutImageAsync(new ImageRecord("bad.jpg", "s", "h4", 5, ImageStatus.Rejected, "corrupt", "x", null, 0, 0, DateTimeOffset.UnixEpoch));

        Assert.Equal(["a-copy.jpg", "b.jpg", "c.jpg"], (await catalog.ListUnsignedAsync("m1")).Select(i => i.ImageId));

        Assert.Equal(2, await catalog.AddSignaturesAsync([new("m1", "h1", "shard-1", 0), new("m1", "h2", "shard-1", 1)]));
        // A redelivered job's second shard does not move or duplicate a signature.
        Assert.Equal(0, await catalog.AddSignaturesAsync([new("m1", "h1", "shard-2", 0)]));
        Assert.Equal(new SignatureLocation("m1", "h1", "shard-1", 0), await catalog.GetSignatureAsync("m1", "h1"));
        await catalog.RecordSignatureFailureAsync("m1", "h3", "corrupt", "The derivative does not decode.");

        Assert.Empty(await catalog.ListUnsignedAsync("m1"));
        Assert.Equal(["a-copy.jpg", "b.jpg", "c.jpg"], (await catalog.ListUnsignedAsync("m2")).Select(i => i.ImageId));
        Assert.Equal(["a-copy.jpg", "a.jpg", "b.jpg"], (await catalog.ListSignedAsync("m1")).Select(s => s.Image.ImageId));
        Assert.Equal(new SignatureFailure("m1", "h3", "corrupt", "The derivative does not decode."), Assert.Single(await catalog.ListSignatureFailuresAsync("m1")));
        Assert.Equal(["shard-1"], await catalog.ListReferencedShardsAsync());
    }

    [Fact]
    public async Task The_catalog_survives_reopening()
    {
        await catalog.PutImageAsync(Accepted("a.jpg", "h1"));
        await catalog.AddSignaturesAsync([new("m1", "h1", "shard-1", 3)]);
        using var reopened = new SqliteImageCatalog(folder.Combine("catalog.db"));
        Assert.Equal("h1", (await reopened.GetImageAsync("a.jpg"))!.ContentHash);
        Assert.Equal(3, (await reopened.GetSignatureAsync("m1", "h1"))!.Row);
    }
}
