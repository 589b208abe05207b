using System.Text;
using Motif.Storage.Blobs;

namespace Motif.Storage.Tests.Conformance;

/// <summary>
/// What every <see cref="IBlobStore"/> must do, whatever it stores blobs in. Derive one class per adapter; the suite
/// knows the adapter only through <see cref="CreateStoreAsync"/> and <see cref="LetTimePassAsync"/>, so the Azure
/// adapter (against Azurite) runs the same facts as the local folder.
/// </summary>
public abstract class BlobStoreConformance
{
    /// <summary>A new, empty store. xUnit makes a new instance of the test class per test; dispose what you create there.</summary>
    protected abstract Task<IBlobStore> CreateStoreAsync();

    /// <summary>Moves the store's clock on by <paramref name="duration"/> (a fake clock's advance, or a real wait).</summary>
    protected abstract Task LetTimePassAsync(TimeSpan duration);

    [Fact]
    public async Task A_written_blob_reads_back_with_its_bytes_and_properties()
    {
        var store = await CreateStoreAsync();
        var metadata = new Dictionary<string, string> { ["collection"] = "rijks", ["Source_Path"] = "a/b c.jpg" };

        var written = await Put(store, "uploads/rijks/SK-A-1.jpg", "pixels", new BlobPutOptions { ContentType = "image/jpeg", Metadata = metadata });
        await using var download = await store.GetAsync("uploads/rijks/SK-A-1.jpg");
        var head = await store.GetPropertiesAsync("uploads/rijks/SK-A-1.jpg");

        Assert.Equal("pixels", await ReadText(download));
        Assert.NotNull(head);
        foreach (var properties in new[] { written, download.Properties, head })
        {
            Assert.Equal("uploads/rijks/SK-A-1.jpg", properties.Name);
            Assert.Equal(6, properties.ContentLength);
            Assert.Equal(written.ETag, properties.ETag);
            Assert.Equal("image/jpeg", properties.ContentType);
            Assert.Equal("rijks", properties.Metadata["COLLECTION"]);
            Assert.Equal("a/b c.jpg", properties.Metadata["source_path"]);
            Assert.Equal(BlobLeaseState.Available, properties.Lease);
        }
    }

    [Fact]
    public async Task Every_write_gets_a_new_etag_even_with_identical_bytes()
    {
        var store = await CreateStoreAsync();

        var first = await Put(store, "manifests/latest.json", "{}");
        var second = await Put(store, "manifests/latest.json", "{}");

        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal(second.ETag, (await store.GetPropertiesAsync("manifests/latest.json"))!.ETag);
    }

    [Fact]
    public async Task A_create_only_write_refuses_an_existing_blob_and_leaves_it_unchanged()
    {
        var store = await CreateStoreAsync();
        var original = await Put(store, "catalog/img-1.json", "original", new BlobPutOptions { Conditions = BlobConditions.CreateOnly });

        var refused = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "catalog/img-1.json", "intruder", new BlobPutOptions { Conditions = BlobConditions.CreateOnly }));

        Assert.Equal(BlobErrorCode.BlobAlreadyExists, refused.ErrorCode);
        Assert.True(refused.IsConditionFailure);
        Assert.Equal("original", await GetText(store, "catalog/img-1.json"));
        Assert.Equal(original.ETag, (await store.GetPropertiesAsync("catalog/img-1.json"))!.ETag);
    }

    [Fact]
    public async Task A_conditional_replace_needs_the_current_etag()
    {
        var store = await CreateStoreAsync();
        var v1 = await Put(store, "manifests/latest.json", "run-1");
        var v2 = await Put(store, "manifests/latest.json", "run-2", new BlobPutOptions { Conditions = BlobConditions.Matching(v1.ETag) });

        var stale = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "manifests/latest.json", "run-3", new BlobPutOptions { Conditions = BlobConditions.Matching(v1.ETag) }));

        Assert.Equal(BlobErrorCode.ConditionNotMet, stale.ErrorCode);
        Assert.True(stale.IsConditionFailure);
        Assert.Equal("run-2", await GetText(store, "manifests/latest.json"));
        Assert.Equal(v2.ETag, (await store.GetPropertiesAsync("manifests/latest.json"))!.ETag);
    }

    [Fact]
    public async Task An_if_match_write_to_a_missing_blob_fails_its_condition()
    {
        var store = await CreateStoreAsync();
        var gone = await Put(store, "manifests/latest.json", "run-1");
        await store.DeleteAsync("manifests/latest.json");

        var refused = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "manifests/latest.json", "run-2", new BlobPutOptions { Conditions = BlobConditions.Matching(gone.ETag) }));

        Assert.Equal(BlobErrorCode.ConditionNotMet, refused.ErrorCode);
        Assert.Null(await store.GetPropertiesAsync("manifests/latest.json"));
    }

    [Fact]
    public async Task Concurrent_read_modify_write_cycles_with_if_match_lose_no_update()
    {
        // The manifest swap: read the pointer and its ETag, write it back only if nobody else did meanwhile, else retry.
        var store = await CreateStoreAsync();
        await Put(store, "counter", "0");
        const int Writers = 12;

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                await using var current = await store.GetAsync("counter");
                var next = int.Parse(await ReadText(current)) + 1;
                try
                {
                    await Put(store, "counter", next.ToString(), new BlobPutOptions { Conditions = BlobConditions.Matching(current.Properties.ETag) });
                    return;
                }
                catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.ConditionNotMet)
                {
                    // Someone else's increment landed first: read again.
                }
            }
        })));

        Assert.Equal(Writers.ToString(), await GetText(store, "counter"));
    }

    [Fact]
    public async Task Concurrent_create_only_writes_have_exactly_one_winner()
    {
        var store = await CreateStoreAsync();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            try
            {
                await Put(store, "claims/img-1", $"writer-{i}", new BlobPutOptions { Conditions = BlobConditions.CreateOnly });
                return $"writer-{i}";
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
            {
                return null;
            }
        })));

        var winner = Assert.Single(outcomes, o => o is not null);
        Assert.Equal(winner, await GetText(store, "claims/img-1"));
    }

    [Fact]
    public async Task A_range_read_returns_exactly_the_requested_bytes()
    {
        var store = await CreateStoreAsync();
        await Put(store, "signatures/shard-0.bin", "0123456789");

        Assert.Equal("3456", await GetText(store, "signatures/shard-0.bin", new BlobRange(3, 4)));
        Assert.Equal("789", await GetText(store, "signatures/shard-0.bin", new BlobRange(7)));
        Assert.Equal("89", await GetText(store, "signatures/shard-0.bin", new BlobRange(8, 100)));
        await using var ranged = await store.GetAsync("signatures/shard-0.bin", new BlobRange(3, 4));
        Assert.Equal(10, ranged.Properties.ContentLength);
    }

    [Fact]
    public async Task A_range_starting_past_the_end_is_refused()
    {
        var store = await CreateStoreAsync();
        await Put(store, "signatures/shard-0.bin", "0123456789");

        var refused = await Assert.ThrowsAsync<BlobStoreException>(() => store.GetAsync("signatures/shard-0.bin", new BlobRange(10, 1)));

        Assert.Equal(BlobErrorCode.InvalidRange, refused.ErrorCode);
    }

    [Fact]
    public async Task A_missing_blob_is_reported_as_missing()
    {
        var store = await CreateStoreAsync();

        var get = await Assert.ThrowsAsync<BlobStoreException>(() => store.GetAsync("nothing/here"));

        Assert.Equal(BlobErrorCode.BlobNotFound, get.ErrorCode);
        Assert.Null(await store.GetPropertiesAsync("nothing/here"));
        Assert.False(await store.DeleteAsync("nothing/here"));
    }

    [Fact]
    public async Task A_listing_pages_through_one_prefix_in_code_point_order()
    {
        var store = await CreateStoreAsync();
        // Names chosen so that numeric, case-sensitive and "folder" orders would each differ from code point order.
        string[] inside = ["runs/r1/10.json", "runs/r1/2.json", "runs/r1/B.json", "runs/r1/a.json", "runs/r1/a.json/x", "runs/r1/\u00e9.json"];
        foreach (var name in inside.Reverse().Concat(["runs/r0/1.json", "runs/r10/1.json", "runs/r1", "runs/r2/1.json"]))
        {
            await Put(store, name, name);
        }

        var listed = new List<string>();
        var pages = 0;
        string? token = null;
        do
        {
            var page = await store.ListAsync("runs/r1/", pageSize: 2, continuationToken: token);
            Assert.InRange(page.Items.Count, 0, 2);
            listed.AddRange(page.Items.Select(i => i.Name));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(inside.Order(StringComparer.Ordinal), listed);
        Assert.True(pages >= 3, $"{pages} pages of at most 2 for 6 blobs");
        Assert.Equal(10, (await store.ListAsync("")).Items.Count);
        Assert.Empty((await store.ListAsync("runs/r3")).Items);
    }

    [Fact]
    public async Task A_listing_reports_each_blobs_properties()
    {
        var store = await CreateStoreAsync();
        var written = await Put(store, "thumbs/img-1.jpg", "abc", new BlobPutOptions { ContentType = "image/jpeg" });

        var item = Assert.Single((await store.ListAsync("thumbs/")).Items);

        Assert.Equal(written.ETag, item.ETag);
        Assert.Equal(3, item.ContentLength);
        Assert.Equal("image/jpeg", item.ContentType);
    }

    [Fact]
    public async Task A_conditional_delete_needs_the_current_etag()
    {
        var store = await CreateStoreAsync();
        var v1 = await Put(store, "runs/old.json", "1");
        var v2 = await Put(store, "runs/old.json", "2");

        var stale = await Assert.ThrowsAsync<BlobStoreException>(() => store.DeleteAsync("runs/old.json", BlobConditions.Matching(v1.ETag)));
        Assert.Equal(BlobErrorCode.ConditionNotMet, stale.ErrorCode);
        Assert.NotNull(await store.GetPropertiesAsync("runs/old.json"));

        Assert.True(await store.DeleteAsync("runs/old.json", BlobConditions.Matching(v2.ETag)));
        Assert.Null(await store.GetPropertiesAsync("runs/old.json"));
    }

    [Fact]
    public async Task A_leased_blob_refuses_writes_and_deletes_without_its_lease()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/recluster", "idle");
        var lease = await store.AcquireLeaseAsync("locks/recluster", TimeSpan.FromSeconds(30));
        var otherLease = Guid.NewGuid().ToString();

        var noLease = await Assert.ThrowsAsync<BlobStoreException>(() => Put(store, "locks/recluster", "intruder"));
        var wrongLease = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "locks/recluster", "intruder", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = otherLease } }));
        var deleteWithoutLease = await Assert.ThrowsAsync<BlobStoreException>(() => store.DeleteAsync("locks/recluster"));

        Assert.Equal(BlobErrorCode.LeaseIdMissing, noLease.ErrorCode);
        Assert.Equal(BlobErrorCode.LeaseIdMismatch, wrongLease.ErrorCode);
        Assert.Equal(BlobErrorCode.LeaseIdMissing, deleteWithoutLease.ErrorCode);
        Assert.Equal("idle", await GetText(store, "locks/recluster"));
        Assert.Equal(BlobLeaseState.Leased, (await store.GetPropertiesAsync("locks/recluster"))!.Lease);

        // The holder writes, and the write keeps the lease.
        await Put(store, "locks/recluster", "running", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = lease.LeaseId } });
        Assert.Equal("running", await GetText(store, "locks/recluster"));
        await Assert.ThrowsAsync<BlobStoreException>(() => Put(store, "locks/recluster", "intruder"));
        Assert.True(await store.DeleteAsync("locks/recluster", new BlobConditions { LeaseId = lease.LeaseId }));
    }

    [Fact]
    public async Task Only_one_holder_at_a_time_and_release_frees_the_blob()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/recluster", "idle");
        var lease = await store.AcquireLeaseAsync("locks/recluster", duration: null);

        var second = await Assert.ThrowsAsync<BlobStoreException>(() => store.AcquireLeaseAsync("locks/recluster", TimeSpan.FromSeconds(15)));
        var wrongRenew = await Assert.ThrowsAsync<BlobStoreException>(() => store.RenewLeaseAsync("locks/recluster", Guid.NewGuid().ToString()));
        var wrongRelease = await Assert.ThrowsAsync<BlobStoreException>(() => store.ReleaseLeaseAsync("locks/recluster", Guid.NewGuid().ToString()));
        var again = await store.AcquireLeaseAsync("locks/recluster", duration: null, proposedLeaseId: lease.LeaseId);

        Assert.Equal(BlobErrorCode.LeaseAlreadyPresent, second.ErrorCode);
        Assert.Equal(BlobErrorCode.LeaseIdMismatch, wrongRenew.ErrorCode);
        Assert.Equal(BlobErrorCode.LeaseIdMismatch, wrongRelease.ErrorCode);
        Assert.Equal(lease.LeaseId, again.LeaseId);
        Assert.Null(again.ExpiresOn);

        await store.ReleaseLeaseAsync("locks/recluster", lease.LeaseId);

        Assert.Equal(BlobLeaseState.Available, (await store.GetPropertiesAsync("locks/recluster"))!.Lease);
        await Put(store, "locks/recluster", "anyone");
        var next = await store.AcquireLeaseAsync("locks/recluster", TimeSpan.FromSeconds(15));
        Assert.NotEqual(lease.LeaseId, next.LeaseId);
    }

    [Fact]
    public async Task An_expired_lease_frees_the_blob_unless_renewed()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/a", "idle");
        await Put(store, "locks/b", "idle");
        var renewed = await store.AcquireLeaseAsync("locks/a", TimeSpan.FromSeconds(15));
        var lapsed = await store.AcquireLeaseAsync("locks/b", TimeSpan.FromSeconds(15));
        Assert.NotNull(lapsed.ExpiresOn);

        await LetTimePassAsync(TimeSpan.FromSeconds(10));
        await store.RenewLeaseAsync("locks/a", renewed.LeaseId);
        await LetTimePassAsync(TimeSpan.FromSeconds(7));

        // "a" was renewed 7 s ago for 15 s: still held. "b" lapsed 2 s ago: free for anyone.
        Assert.Equal(BlobLeaseState.Leased, (await store.GetPropertiesAsync("locks/a"))!.Lease);
        Assert.Equal(BlobErrorCode.LeaseAlreadyPresent,
            (await Assert.ThrowsAsync<BlobStoreException>(() => store.AcquireLeaseAsync("locks/a", TimeSpan.FromSeconds(15)))).ErrorCode);
        Assert.Equal(BlobLeaseState.Available, (await store.GetPropertiesAsync("locks/b"))!.Lease);
        var stolen = await store.AcquireLeaseAsync("locks/b", TimeSpan.FromSeconds(15));
        Assert.NotEqual(lapsed.LeaseId, stolen.LeaseId);
        var late = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "locks/b", "late", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = lapsed.LeaseId } }));
        Assert.Equal(BlobErrorCode.LeaseIdMismatch, late.ErrorCode);
    }

    [Fact]
    public async Task A_write_after_a_lease_lapsed_needs_no_lease_and_one_naming_the_lapsed_lease_is_refused()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/c", "idle");
        var lease = await store.AcquireLeaseAsync("locks/c", TimeSpan.FromSeconds(15));

        await LetTimePassAsync(TimeSpan.FromSeconds(16));
        var stale = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "locks/c", "stale holder", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = lease.LeaseId } }));
        await Put(store, "locks/c", "anyone");

        Assert.Equal(BlobErrorCode.LeaseNotPresent, stale.ErrorCode);
        Assert.Equal("anyone", await GetText(store, "locks/c"));
    }

    [Fact]
    public async Task An_infinite_lease_outlives_the_longest_finite_one()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/forever", "idle");
        await store.AcquireLeaseAsync("locks/forever", duration: null);

        await LetTimePassAsync(BlobName.MaxLeaseDuration + TimeSpan.FromSeconds(1));

        Assert.Equal(BlobLeaseState.Leased, (await store.GetPropertiesAsync("locks/forever"))!.Lease);
        await Assert.ThrowsAsync<BlobStoreException>(() => Put(store, "locks/forever", "intruder"));
    }

    [Fact]
    public async Task Lease_calls_on_a_missing_blob_or_with_bad_arguments_are_refused()
    {
        var store = await CreateStoreAsync();
        await Put(store, "locks/d", "idle");

        var missing = await Assert.ThrowsAsync<BlobStoreException>(() => store.AcquireLeaseAsync("locks/none", TimeSpan.FromSeconds(15)));
        var neverLeased = await Assert.ThrowsAsync<BlobStoreException>(() =>
            Put(store, "locks/d", "x", new BlobPutOptions { Conditions = new BlobConditions { LeaseId = Guid.NewGuid().ToString() } }));

        Assert.Equal(BlobErrorCode.BlobNotFound, missing.ErrorCode);
        Assert.Equal(BlobErrorCode.LeaseNotPresent, neverLeased.ErrorCode);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AcquireLeaseAsync("locks/d", TimeSpan.FromSeconds(14)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AcquireLeaseAsync("locks/d", TimeSpan.FromSeconds(61)));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AcquireLeaseAsync("locks/d", TimeSpan.FromSeconds(15), "not-a-guid"));
    }

    [Fact]
    public async Task Invalid_metadata_and_contradictory_conditions_are_refused_before_writing()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => Put(store, "m/1", "x", new BlobPutOptions { Metadata = new Dictionary<string, string> { ["1st"] = "v" } }));
        await Assert.ThrowsAsync<ArgumentException>(() => Put(store, "m/1", "x", new BlobPutOptions { Metadata = new Dictionary<string, string> { ["key-with-dash"] = "v" } }));
        await Assert.ThrowsAsync<ArgumentException>(() => Put(store, "m/1", "x", new BlobPutOptions { Metadata = new Dictionary<string, string> { ["k"] = "line\nbreak" } }));
        await Assert.ThrowsAsync<ArgumentException>(() => Put(store, "m/1", "x", new BlobPutOptions { Conditions = new BlobConditions { IfNotExists = true, IfMatch = "\"x\"" } }));

        Assert.Null(await store.GetPropertiesAsync("m/1"));
    }

    /// <summary>Names an attacker might send, by label (the labels keep control characters out of test names).</summary>
    public static readonly IReadOnlyDictionary<string, string> HostileNames = new Dictionary<string, string>
    {
        ["empty"] = "",
        ["rooted"] = "/etc/passwd",
        ["parent"] = "../outside",
        ["parent-deep"] = "uploads/../../outside",
        ["parent-last"] = "uploads/..",
        ["only-parent"] = "..",
        ["dot"] = "./uploads",
        ["only-dot"] = ".",
        ["double-slash"] = "uploads//x",
        ["trailing-slash"] = "uploads/",
        ["backslash"] = "uploads\\..\\..\\outside",
        ["drive"] = "C:/Windows/win.ini",
        ["drive-relative"] = "C:outside",
        ["nul"] = "uploads/a\0.jpg",
        ["newline"] = "uploads/a\n.jpg",
        ["delete-char"] = "uploads/a\u007f",
        ["c1-control"] = "uploads/a\u0085b",
        ["lone-surrogate"] = "uploads/\ud800.jpg",
        ["too-long"] = new string('a', BlobName.MaxLength + 1),
    };

    public static TheoryData<string> HostileNameLabels => new(HostileNames.Keys);

    [Theory]
    [MemberData(nameof(HostileNameLabels))]
    public async Task A_hostile_name_is_refused_by_every_operation(string label)
    {
        var store = await CreateStoreAsync();
        var name = HostileNames[label];
        var lease = Guid.NewGuid().ToString();

        await Assert.ThrowsAsync<ArgumentException>(() => Put(store, name, "x"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetPropertiesAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AcquireLeaseAsync(name, null));
        await Assert.ThrowsAsync<ArgumentException>(() => store.RenewLeaseAsync(name, lease));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReleaseLeaseAsync(name, lease));
        Assert.Empty((await store.ListAsync("")).Items);
    }

    [Fact]
    public async Task Names_that_only_look_odd_are_ordinary_blobs()
    {
        var store = await CreateStoreAsync();
        string[] names = ["..a/b..", "a/.../b", "%2e%2e/x", "uploads/名前 1.jpg", "emoji/\U0001F5BC.png", "a/b", "a/b/c", "A/b", new string('n', BlobName.MaxLength)];

        foreach (var name in names)
        {
            await Put(store, name, name);
        }

        foreach (var name in names)
        {
            Assert.Equal(name, await GetText(store, name));
        }
        Assert.Equal(names.Order(StringComparer.Ordinal), (await store.ListAsync("")).Items.Select(i => i.Name));
    }

    protected static Task<BlobProperties> Put(IBlobStore store, string name, string text, BlobPutOptions? options = null) =>
        store.PutAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    protected static async Task<string> GetText(IBlobStore store, string name, BlobRange? range = null)
    {
        await using var download = await store.GetAsync(name, range);
        return await ReadText(download);
    }

    protected static async Task<string> ReadText(BlobDownload download)
    {
        using var reader = new StreamReader(download.Content, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync();
    }
}
