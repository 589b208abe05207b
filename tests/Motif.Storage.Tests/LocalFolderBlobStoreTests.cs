using System.Text;
using Microsoft.Extensions.Time.Testing;
using Motif.Storage.Blobs;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Tests;

/// <summary>The conformance suite against the local folder store, on a fake clock.</summary>
public sealed class LocalFolderBlobStoreConformance : BlobStoreConformance, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<LocalFolderBlobStore> _stores = [];

    protected override Task<IBlobStore> CreateStoreAsync()
    {
        var store = new LocalFolderBlobStore(_folder.Combine($"store-{_stores.Count}"), _time);
        _stores.Add(store);
        return Task.FromResult<IBlobStore>(store);
    }

    protected override Task LetTimePassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        _folder.Dispose();
    }
}

/// <summary>What the local folder store promises beyond the port: its files, crashes, several instances on one root.</summary>
public sealed class LocalFolderBlobStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<LocalFolderBlobStore> _stores = [];

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        _folder.Dispose();
    }

    [Fact]
    public async Task Hostile_names_create_nothing_outside_the_root()
    {
        // The store's root sits in a sandbox folder; after every attack the sandbox must hold the root and nothing else.
        var sandbox = Directory.CreateDirectory(_folder.Combine("sandbox")).FullName;
        var store = Open(Path.Combine(sandbox, "root"));
        foreach (var name in BlobStoreConformance.HostileNames.Values)
        {
            await Assert.ThrowsAsync<ArgumentException>(() => Put(store, name, "attack"));
        }
        await Put(store, "..a/b..", "odd but valid");
        await Put(store, "a/.../b", "odd but valid");

        Assert.Equal([Path.Combine(sandbox, "root")], Directory.GetFileSystemEntries(sandbox));
        Assert.DoesNotContain(Directory.EnumerateFiles(_folder.Path, "*", SearchOption.AllDirectories), f => f.Contains("attack", StringComparison.Ordinal));
        var contentFiles = Directory.GetFiles(Path.Combine(sandbox, "root", "data"), "*", SearchOption.AllDirectories);
        Assert.Equal(2, contentFiles.Length);
        Assert.All(contentFiles, f => Assert.Matches("^[0-9a-f]{32}$", Path.GetFileName(f)));
    }

    [Fact]
    public async Task Blobs_survive_reopening_the_root()
    {
        var root = _folder.Combine("root");
        var first = Open(root);
        var written = await Put(first, "manifests/latest.json", "run-7", new BlobPutOptions { ContentType = "application/json" });
        var lease = await first.AcquireLeaseAsync("manifests/latest.json", duration: null);
        first.Dispose();

        var reopened = Open(root);

        Assert.Equal("run-7", await GetText(reopened, "manifests/latest.json"));
        var properties = (await reopened.GetPropertiesAsync("manifests/latest.json"))!;
        Assert.Equal(written.ETag, properties.ETag);
        Assert.Equal("application/json", properties.ContentType);
        Assert.Equal(BlobLeaseState.Leased, properties.Lease);
        await reopened.ReleaseLeaseAsync("manifests/latest.json", lease.LeaseId);
    }

    [Fact]
    public async Task Two_stores_on_one_root_share_blobs_conditions_and_leases()
    {
        // Two instances use separate SQLite connections and content writes, as two processes would.
        var root = _folder.Combine("root");
        var a = Open(root);
        var b = Open(root);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await Put(i % 2 == 0 ? a : b, "claims/img-1", $"writer-{i}", new BlobPutOptions { Conditions = BlobConditions.CreateOnly });
                return $"writer-{i}";
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
            {
                return null;
            }
        })));
        var lease = await a.AcquireLeaseAsync("claims/img-1", TimeSpan.FromSeconds(60));

        var winner = Assert.Single(outcomes, o => o is not null);
        Assert.Equal(winner, await GetText(b, "claims/img-1"));
        Assert.Equal(BlobErrorCode.LeaseIdMissing, (await Assert.ThrowsAsync<BlobStoreException>(() => Put(b, "claims/img-1", "x"))).ErrorCode);
        await Put(b, "claims/img-1", "holder", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = lease.LeaseId } });
        Assert.Equal("holder", await GetText(a, "claims/img-1"));
    }

    [Fact]
    public async Task A_reader_keeps_the_version_it_opened_while_the_blob_is_replaced()
    {
        var store = Open(_folder.Combine("root"));
        var v1 = await Put(store, "manifests/latest.json", "version one");

        await using var reading = await store.GetAsync("manifests/latest.json");
        await Put(store, "manifests/latest.json", "version two");
        await store.DeleteAsync("manifests/latest.json");

        Assert.Equal(v1.ETag, reading.Properties.ETag);
        using var reader = new StreamReader(reading.Content);
        Assert.Equal("version one", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task A_failed_upload_keeps_the_previous_version_and_leaves_no_file_behind()
    {
        var root = _folder.Combine("root");
        var store = Open(root);
        var kept = await Put(store, "derivatives/img-1.jpg", "good bytes");

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("derivatives/img-1.jpg", new FailingStream(bytesBeforeFailure: 4096)));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            store.PutAsync("derivatives/img-1.jpg", new MemoryStream(new byte[100]), cancellationToken: cancelled.Token));

        Assert.Equal("good bytes", await GetText(store, "derivatives/img-1.jpg"));
        Assert.Equal(kept.ETag, (await store.GetPropertiesAsync("derivatives/img-1.jpg"))!.ETag);
        Assert.Single(ContentFiles(root));
    }

    [Fact]
    public async Task Replaced_refused_and_deleted_versions_leave_exactly_one_file_per_blob()
    {
        var root = _folder.Combine("root");
        var store = Open(root);
        await Put(store, "a", "a");
        await Put(store, "b", "b");
        await Put(store, "c", "c");
        for (var i = 0; i < 5; i++)
        {
            await Put(store, "a", $"a{i}");
        }
        await Assert.ThrowsAsync<BlobStoreException>(() => Put(store, "b", "b2", new BlobPutOptions { Conditions = BlobConditions.Matching("\"stale\"") }));
        await store.DeleteAsync("c");

        var files = ContentFiles(root);

        Assert.Equal(2, files.Count);
        Assert.DoesNotContain(files, f => f.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal("a4", await GetText(store, "a"));
        Assert.Equal("b", await GetText(store, "b"));
    }

    [Theory]
    [InlineData("abc", "abd")]
    [InlineData("runs/", "runs0")]
    [InlineData("a\U0010FFFF", "b")]
    [InlineData("\uD7FF", "\uE000")]
    public void A_prefix_range_ends_just_after_every_name_with_that_prefix(string prefix, string upperBound) =>
        Assert.Equal(upperBound, LocalFolderBlobStore.PrefixUpperBound(prefix));

    [Fact]
    public void An_empty_or_maximal_prefix_has_no_upper_bound()
    {
        Assert.Null(LocalFolderBlobStore.PrefixUpperBound(""));
        Assert.Null(LocalFolderBlobStore.PrefixUpperBound("\U0010FFFF"));
    }

    private LocalFolderBlobStore Open(string root)
    {
        var store = new LocalFolderBlobStore(root);
        _stores.Add(store);
        return store;
    }

    private static List<string> ContentFiles(string root) => [.. Directory.EnumerateFiles(Path.Combine(root, "data"), "*", SearchOption.AllDirectories)];

    private static Task<BlobProperties> Put(IBlobStore store, string name, string text, BlobPutOptions? options = null) =>
        store.PutAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    private static async Task<string> GetText(IBlobStore store, string name)
    {
        await using var download = await store.GetAsync(name);
        using var reader = new StreamReader(download.Content);
        return await reader.ReadToEndAsync();
    }

    /// <summary>An upload that breaks off after some bytes, like a dropped connection.</summary>
    private sealed class FailingStream(int bytesBeforeFailure) : Stream
    {
        private int _left = bytesBeforeFailure;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw new IOException("The connection was reset.");
            }
            var n = Math.Min(count, _left);
            Array.Fill(buffer, (byte)'x', offset, n);
            _left -= n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
