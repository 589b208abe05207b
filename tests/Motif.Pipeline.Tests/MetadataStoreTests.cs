using System.Text;
using Motif.Core.Metadata;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline.Tests;

/// <summary>Metadata imports against the embedded blob store and catalog (the ports the Azure adapters implement too).</summary>
public sealed class MetadataStoreTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("motif-metadata-");

    public void Dispose() => _root.Delete(recursive: true);

    private static ImageRecord Accepted(string id) =>
        new(id, "stamp", new string('a', 64), 10, ImageStatus.Accepted, null, null, "jpeg", 10, 10, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Every_record_is_imported_refused_or_reported_unknown_and_a_new_import_replaces_the_scope()
    {
        using var blobs = new LocalFolderBlobStore(Path.Combine(_root.FullName, "blobs"));
        using var catalog = new SqliteImageCatalog(Path.Combine(_root.FullName, "catalog.db"));
        await catalog.PutImageAsync(Accepted("paris/a.jpg"));
        await catalog.PutImageAsync(Accepted("paris/sub/b.jpg"));
        await catalog.PutImageAsync(Accepted("rome/c.jpg"));
        var store = new MetadataStore(blobs, catalog);

        var csv = "filename,title,artist,permalink\n" +
                  "a.jpg,Alpha,Ann,javascript:alert(1)\n" +
                  "sub/b.jpg,Beta,Bob,https://example.org/b\n" +
                  "a.jpg,Again,,\n" +
                  "typo.jpg,Lost,,\n" +
                  "../rome/c.jpg,Escape,,\n";
        var import = await store.ImportAsync("paris/", Encoding.UTF8.GetBytes(csv), name => "paris/" + name);

        Assert.Equal(5, import.Records);
        Assert.Equal(3, import.Imported);   // a, sub/b and typo (kept for when it arrives)
        Assert.Equal([4L, 6L], import.Refused.Select(r => r.Line));
        Assert.Contains("second row", import.Refused[0].Message, StringComparison.Ordinal);
        Assert.Equal(5, Assert.Single(import.Unknown).Line);
        Assert.Equal(2, Assert.Single(import.Notes).Line);
        Assert.Equal(import.Records, import.Imported + import.Refused.Count);

        await store.ImportAsync("rome/", Encoding.UTF8.GetBytes("FileName,Title\nc.jpg,Gamma\n"), name => "rome/" + name);
        var all = await store.ReadAllAsync();
        Assert.Equal(new ImageMetadata("Alpha", "Ann", null, null, null, null), all["paris/a.jpg"]);
        Assert.Equal("https://example.org/b", all["paris/sub/b.jpg"].Source);
        Assert.Equal("Gamma", all["rome/c.jpg"].Title);
        Assert.False(all.ContainsKey("rome/../rome/c.jpg"));

        // The museum replaces its CSV: the scope's rows are what the new file says, the other scope is untouched.
        await store.ImportAsync("paris/", Encoding.UTF8.GetBytes("filename,title\na.jpg,Alpha 2\n"), name => "paris/" + name);
        all = await store.ReadAllAsync();
        Assert.Equal("Alpha 2", all["paris/a.jpg"].Title);
        Assert.False(all.ContainsKey("paris/sub/b.jpg"));
        Assert.Equal("Gamma", all["rome/c.jpg"].Title);
    }

    [Fact]
    public async Task A_file_without_a_filename_column_or_too_large_stores_nothing()
    {
        using var blobs = new LocalFolderBlobStore(Path.Combine(_root.FullName, "blobs"));
        using var catalog = new SqliteImageCatalog(Path.Combine(_root.FullName, "catalog.db"));
        var store = new MetadataStore(blobs, catalog);
        await store.ImportAsync("", Encoding.UTF8.GetBytes("filename,title\na.jpg,Kept\n"), name => name);

        await Assert.ThrowsAsync<FormatException>(() => store.ImportAsync("", Encoding.UTF8.GetBytes("title\nx\n"), name => name));
        var huge = new byte[MetadataCsv.MaxBytes + 1];
        var error = await Assert.ThrowsAsync<FormatException>(() => store.ImportAsync("", huge, name => name));
        Assert.Contains("at most", error.Message, StringComparison.Ordinal);
        Assert.Equal("Kept", (await store.ReadAllAsync())["a.jpg"].Title);
    }
}
