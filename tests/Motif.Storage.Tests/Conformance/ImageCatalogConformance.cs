using Motif.Storage.Catalog;
namespace Motif.Storage.Tests.Conformance;

/// <summary>
/// What every <see cref="IImageCatalog"/> must do, whatever it keeps the catalog in. Derive one class per adapter; the
/// suite knows the adapter only through <see cref="CreateCatalogAsync"/>, so the Table Storage adapter (against
/// Azurite) runs the same facts as the SQLite file. Orders are ordinal (UTF-16 code units), as the port says.
/// </summary>
public abstract class ImageCatalogConformance
{
    /// <summary>A new, empty catalog. xUnit makes a new instance of the test class per test; dispose what you create there.</summary>
    protected abstract Task<IImageCatalog> CreateCatalogAsync();

    /// <summary>
    /// Ids the port must keep apart and give back verbatim: path tricks, characters that are special in URLs, OData
    /// filters, SQL or storage keys (Table Storage forbids '/', '\', '#', '?' and control characters in keys), strings
    /// that look like some plausible escaping of another entry, case and Unicode-normalisation twins, characters on both
    /// sides of the surrogate range (where UTF-8 and UTF-16 orders differ), and long ids.
    /// </summary>
    public static readonly IReadOnlyList<string> HostileIds =
    [
        "", " ", "  ", "\t", ".", "..", "a.", "a ", " a",
        "a/b.jpg", "a%2Fb.jpg", "a%2fb.jpg", "a~002Fb.jpg", "a_2Fb.jpg", "a\\b.jpg", "a//b.jpg", "/etc/passwd", "../../outside",
        "a#b", "a?b", "a&b=c", "100%.jpg", "%", "%%", "~", "~~", "~h", "'", "''", "a'b", "\"", "a' or ''='",
        "x'; DROP TABLE catalog_images; --", "PartitionKey eq 'x'", "a+b", "a b", "a\u00A0b",
        "\0", "a\0b", "\u0001", "\u001F", "\u007F", "\u0080", "\u0085", "\u009F", "line\nbreak", "line\r\nbreak",
        "A.jpg", "a.jpg", "\u00E9", "e\u0301", "\uFB01", "fi", "\u212B", "\u00C5",
        "\u202Egpj.exe", "\uFEFFbom", "\uD83D\uDE42", "\uD83D\uDE42\uD83D\uDE42", "\uE000", "\uFF0F", "\uFFFD", "\uFFFF",
        new string('x', 4000), new string('x', 3999) + "y", string.Concat(Enumerable.Repeat("/#?%\\\u0001", 700)),
        string.Concat(Enumerable.Repeat("a/", 300)), string.Concat(Enumerable.Repeat("a%2F", 300)),
    ];

    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static ImageRecord Accepted(string id, string hash) =>
        new(id, "stamp", hash, 100, ImageStatus.Accepted, null, null, "jpeg", 640, 480, When);

    private static ImageRecord Rejected(string id, string? hash) =>
        new(id, "stamp", hash, 5, ImageStatus.Rejected, "corrupt", "The bytes do not decode.", null, 0, 0, When);

    private static IEnumerable<string> Ordinal(IEnumerable<string> ids) => ids.Order(StringComparer.Ordinal);

    [Fact]
    public async Task An_empty_catalog_knows_nothing_and_lists_nothing()
    {
        var catalog = await CreateCatalogAsync();

        Assert.Null(await catalog.GetImageAsync("a.jpg"));
        Assert.Null(await catalog.GetSignatureAsync("m1", "h1"));
        Assert.Empty(await catalog.ListImagesAsync());
        Assert.Empty(await catalog.ListUnsignedAsync("m1"));
        Assert.Empty(await catalog.ListSignedAsync("m1"));
        Assert.Empty(await catalog.ListSignatureFailuresAsync("m1"));
        Assert.Empty(await catalog.ListReferencedShardsAsync());
        Assert.Equal(0, await catalog.RemoveImagesAsync(["a.jpg"]));
        Assert.Equal(0, await catalog.AddSignaturesAsync([]));
    }

    [Fact]
    public async Task Records_round_trip_and_are_listed_in_id_order()
    {
        var catalog = await CreateCatalogAsync();
        var hostile = "a/../../etc/passwd'; DROP TABLE catalog_images; --\n\u202Egpj.exe";
        await catalog.PutImageAsync(Accepted("b.jpg", "h2"));
        await catalog.PutImageAsync(Accepted(hostile, "h1"));
        await catalog.PutImageAsync(new ImageRecord("c.txt", "s", "h3", 5, ImageStatus.Rejected, "unknown-format", "Not an image.", null, 0, 0, DateTimeOffset.UnixEpoch));

        Assert.Equal(Accepted(hostile, "h1"), await catalog.GetImageAsync(hostile));
        Assert.Equal([hostile, "b.jpg", "c.txt"], (await catalog.ListImagesAsync()).Select(i => i.ImageId));
        Assert.Equal(("unknown-format", "Not an image."), ((await catalog.GetImageAsync("c.txt"))!.ReasonCode, (await catalog.GetImageAsync("c.txt"))!.Message));
        Assert.Null(await catalog.GetImageAsync("missing"));

        // Replacing keeps one record per id.
        await catalog.PutImageAsync(Accepted("b.jpg", "h2b"));
        Assert.Equal("h2b", (await catalog.GetImageAsync("b.jpg"))!.ContentHash);
        Assert.Equal(3, (await catalog.ListImagesAsync()).Count);
    }

    [Fact]
    public async Task Every_field_of_a_record_round_trips_nulls_and_large_values_included()
    {
        var catalog = await CreateCatalogAsync();
        var full = new ImageRecord("full.tif", "len=5000000000;mtime=638000000000000000", new string('f', 64), 5_000_000_000, ImageStatus.Accepted,
            null, null, "tiff", 100_000, 70_000, new DateTimeOffset(2024, 2, 29, 23, 59, 59, 999, TimeSpan.FromHours(5.5)));
        var sparse = new ImageRecord("unreadable.jpg", null, null, 0, ImageStatus.Rejected, "unreadable", "line 1\nline 2\ttab \"quoted\" \0", null, 0, 0, When);
        var wordy = Rejected("wordy.jpg", "h") with { Message = string.Concat(Enumerable.Repeat("Very long reason. ", 1_000)) };

        foreach (var record in new[] { full, sparse, wordy })
        {
            await catalog.PutImageAsync(record);
        }

        foreach (var record in new[] { full, sparse, wordy })
        {
            Assert.Equal(record, await catalog.GetImageAsync(record.ImageId));
        }
        Assert.Equal([full, sparse, wordy], await catalog.ListImagesAsync());
    }

    [Fact]
    public async Task A_trace_id_round_trips_through_every_read_and_an_untraced_record_reads_back_without_one()
    {
        var catalog = await CreateCatalogAsync();
        var traced = Accepted("traced.jpg", "h1") with { TraceId = "4bf92f3577b34da6a3ce929d0e0e4736" };
        var untraced = Accepted("untraced.jpg", "h2");
        await catalog.PutImageAsync(traced);
        await catalog.PutImageAsync(untraced);

        Assert.Equal(traced, await catalog.GetImageAsync("traced.jpg"));
        Assert.Null((await catalog.GetImageAsync("untraced.jpg"))!.TraceId);
        Assert.Equal([traced, untraced], await catalog.ListImagesAsync());
        Assert.Equal([traced, untraced], await catalog.ListUnsignedAsync("m1"));
        await catalog.AddSignaturesAsync([new("m1", "h1", "shard-1", 0), new("m1", "h2", "shard-1", 1)]);
        Assert.Equal([traced, untraced], (await catalog.ListSignedAsync("m1")).Select(s => s.Image));

        // Replacing a record replaces its trace id too, also with none.
        await catalog.PutImageAsync(traced with { TraceId = null });
        Assert.Null((await catalog.GetImageAsync("traced.jpg"))!.TraceId);
    }

    [Fact]
    public async Task Hostile_ids_round_trip_never_collide_and_list_in_ordinal_order()
    {
        var catalog = await CreateCatalogAsync();
        Assert.Equal(HostileIds.Count, HostileIds.Distinct(StringComparer.Ordinal).Count());

        await Parallel.ForEachAsync(HostileIds.Select((id, i) => (id, i)), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (entry, token) => await catalog.PutImageAsync(Accepted(entry.id, $"h{entry.i}"), token));

        for (var i = 0; i < HostileIds.Count; i++)
        {
            Assert.Equal(Accepted(HostileIds[i], $"h{i}"), await catalog.GetImageAsync(HostileIds[i]));
        }
        var listed = await catalog.ListImagesAsync();
        Assert.Equal(Ordinal(HostileIds), listed.Select(i => i.ImageId));
        Assert.Equal(HostileIds.Select((id, i) => (id, $"h{i}")).OrderBy(p => p.id, StringComparer.Ordinal), listed.Select(i => (i.ImageId, i.ContentHash!)));
        Assert.Null(await catalog.GetImageAsync("a/b.jpg/"));
        Assert.Null(await catalog.GetImageAsync(new string('x', 4001)));

        // Removing one never takes its look-alikes with it.
        Assert.Equal(1, await catalog.RemoveImagesAsync(["a/b.jpg"]));
        Assert.Null(await catalog.GetImageAsync("a/b.jpg"));
        Assert.NotNull(await catalog.GetImageAsync("a%2Fb.jpg"));
        Assert.NotNull(await catalog.GetImageAsync("a~002Fb.jpg"));
        Assert.Equal(HostileIds.Count - 1, await catalog.RemoveImagesAsync(HostileIds.ToArray()));
        Assert.Empty(await catalog.ListImagesAsync());
    }

    [Fact]
    public async Task More_than_a_thousand_images_are_all_listed_in_ordinal_id_order()
    {
        var catalog = await CreateCatalogAsync();
        // Insertion order is not id order, and ordinal order is not culture order ('Z' < '_' < 'a').
        string[] prefixes = ["a/", "Z/", "_/", "z/", "A-"];
        var ids = Enumerable.Range(0, 1_500).Select(i => $"{prefixes[i % prefixes.Length]}img-{i * 7919 % 1_500:D4}.jpg").ToArray();

        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (id, token) => await catalog.PutImageAsync(Accepted(id, $"hash-{id}"), token));

        var listed = await catalog.ListImagesAsync();
        Assert.Equal(Ordinal(ids), listed.Select(i => i.ImageId));
        Assert.All(listed, i => Assert.Equal($"hash-{i.ImageId}", i.ContentHash));
        Assert.Equal(Ordinal(ids), (await catalog.ListUnsignedAsync("m1")).Select(i => i.ImageId));
    }

    [Fact]
    public async Task Removing_images_counts_only_those_that_existed_and_keeps_their_signatures()
    {
        var catalog = await CreateCatalogAsync();
        var many = Enumerable.Range(0, 150).Select(i => $"many/{i:D3}.jpg").ToArray();
        foreach (var id in new[] { "a.jpg", "b.jpg", "c.jpg" }.Concat(many))
        {
            await catalog.PutImageAsync(Accepted(id, $"h-{id}"));
        }
        await catalog.AddSignaturesAsync([new("m1", "h-a.jpg", "shard-1", 0)]);

        Assert.Equal(2, await catalog.RemoveImagesAsync(["a.jpg", "never-there", "c.jpg", "a.jpg", "A.JPG"]));
        Assert.Equal(0, await catalog.RemoveImagesAsync(["a.jpg", "c.jpg"]));
        Assert.Equal(["b.jpg", .. many], (await catalog.ListImagesAsync()).Select(i => i.ImageId));
        Assert.Equal(new SignatureLocation("m1", "h-a.jpg", "shard-1", 0), await catalog.GetSignatureAsync("m1", "h-a.jpg"));
        Assert.Equal(["shard-1"], await catalog.ListReferencedShardsAsync());

        Assert.Equal(150, await catalog.RemoveImagesAsync([.. many, .. many.Select(id => id + ".gone")]));
        Assert.Equal(["b.jpg"], (await catalog.ListImagesAsync()).Select(i => i.ImageId));
    }

    [Fact]
    public async Task A_content_is_signed_once_per_model_and_unsigned_work_is_listed_once_per_content()
    {
        var catalog = await CreateCatalogAsync();
        await catalog.PutImageAsync(Accepted("a.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("a-copy.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("b.jpg", "h2"));
        await catalog.PutImageAsync(Accepted("c.jpg", "h3"));
        await catalog.PutImageAsync(Rejected("bad.jpg", "h4"));

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
    public async Task Unsigned_work_is_the_lowest_accepted_id_per_content_without_a_signature_or_failure()
    {
        var catalog = await CreateCatalogAsync();
        // Ordinal: "B" < "_" < "a" < "b"; the rejected "A" shares h1 but is not work.
        await catalog.PutImageAsync(Accepted("b", "h1"));
        await catalog.PutImageAsync(Accepted("a", "h1"));
        await catalog.PutImageAsync(Accepted("B", "h1"));
        await catalog.PutImageAsync(Rejected("A", "h1"));
        await catalog.PutImageAsync(Accepted("_", "h2"));
        await catalog.PutImageAsync(Accepted("z", "h3"));
        await catalog.PutImageAsync(Accepted("\uFF0F", "h4"));
        await catalog.PutImageAsync(Accepted("\uD83D\uDE42", "h4"));
        await catalog.PutImageAsync(Rejected("only-rejected", "h5"));
        await catalog.PutImageAsync(Rejected("unreadable", null));

        Assert.Equal(["B", "_", "z", "\uD83D\uDE42"], (await catalog.ListUnsignedAsync("m1")).Select(i => i.ImageId));
        Assert.Equal(Accepted("B", "h1"), (await catalog.ListUnsignedAsync("m1"))[0]);

        await catalog.AddSignaturesAsync([new("m1", "h1", "shard-1", 0)]);
        await catalog.RecordSignatureFailureAsync("m1", "h3", "corrupt", "x");
        await catalog.AddSignaturesAsync([new("m2", "h2", "shard-2", 0)]);

        Assert.Equal(["_", "\uD83D\uDE42"], (await catalog.ListUnsignedAsync("m1")).Select(i => i.ImageId));
        Assert.Equal(["B", "z", "\uD83D\uDE42"], (await catalog.ListUnsignedAsync("m2")).Select(i => i.ImageId));

        // An image that is rejected later leaves the work to the next lowest id with the same content.
        await catalog.PutImageAsync(Rejected("B", "h1"));
        Assert.Equal(["_", "a", "z", "\uD83D\uDE42"], (await catalog.ListUnsignedAsync("m3")).Select(i => i.ImageId));
    }

    [Fact]
    public async Task Signed_images_join_on_content_hash_per_model_and_leave_out_rejected_ones()
    {
        var catalog = await CreateCatalogAsync();
        await catalog.PutImageAsync(Accepted("z.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("y.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("x.jpg", "h2"));
        await catalog.PutImageAsync(Accepted("w.jpg", "h3"));
        await catalog.PutImageAsync(Rejected("v.jpg", "h1"));
        await catalog.AddSignaturesAsync([new("m1", "h1", "shard-a", 4), new("m1", "h2", "shard-b", 0), new("m2", "h3", "shard-c", 1)]);
        await catalog.AddSignaturesAsync([new("m1", "h-no-image", "shard-b", 1)]);

        var signed = await catalog.ListSignedAsync("m1");

        Assert.Equal(
            [
                (Accepted("x.jpg", "h2"), new SignatureLocation("m1", "h2", "shard-b", 0)),
                (Accepted("y.jpg", "h1"), new SignatureLocation("m1", "h1", "shard-a", 4)),
                (Accepted("z.jpg", "h1"), new SignatureLocation("m1", "h1", "shard-a", 4)),
            ],
            signed);
        Assert.Equal([(Accepted("w.jpg", "h3"), new SignatureLocation("m2", "h3", "shard-c", 1))], await catalog.ListSignedAsync("m2"));
        Assert.Empty(await catalog.ListSignedAsync("m3"));
    }

    [Fact]
    public async Task More_than_a_hundred_signatures_are_added_at_once_and_duplicates_in_one_call_keep_the_first()
    {
        var catalog = await CreateCatalogAsync();
        var first = Enumerable.Range(0, 250).Select(i => new SignatureLocation("m1", $"h{i:D3}", $"shard-{i % 3}", i / 3)).ToArray();

        Assert.Equal(250, await catalog.AddSignaturesAsync(first));

        foreach (var location in first)
        {
            Assert.Equal(location, await catalog.GetSignatureAsync("m1", location.ContentHash));
        }
        Assert.Equal(["shard-0", "shard-1", "shard-2"], Ordinal(await catalog.ListReferencedShardsAsync()));

        // 120 already there, 130 new, and a hash twice in one call: the first occurrence is the one kept.
        var second = Enumerable.Range(130, 250).Select(i => new SignatureLocation("m1", $"h{i:D3}", "shard-3", i)).ToList();
        second.Add(new SignatureLocation("m1", "h379", "shard-4", 0));
        Assert.Equal(130, await catalog.AddSignaturesAsync(second));
        Assert.Equal(first[200], await catalog.GetSignatureAsync("m1", "h200"));
        Assert.Equal(new SignatureLocation("m1", "h379", "shard-3", 379), await catalog.GetSignatureAsync("m1", "h379"));
        Assert.Equal(["shard-0", "shard-1", "shard-2", "shard-3"], Ordinal(await catalog.ListReferencedShardsAsync()));
    }

    [Fact]
    public async Task Racing_writers_of_the_same_signatures_record_each_once_and_the_first_writer_wins()
    {
        var catalog = await CreateCatalogAsync();
        var hashes = Enumerable.Range(0, 150).Select(i => $"h{i:D3}").ToArray();
        SignatureLocation[] Job(string shard, IEnumerable<string> contents) => contents.Select((h, row) => new SignatureLocation("m1", h, shard, row)).ToArray();
        // Two deliveries of the same jobs, one in reverse order, so each may win some of the contents.
        var writers = new[] { Job("shard-a", hashes), Job("shard-b", hashes.Reverse()), Job("shard-c", hashes.Where((_, i) => i % 2 == 0)) };

        var added = await Task.WhenAll(writers.Select(job => Task.Run(() => catalog.AddSignaturesAsync(job))));

        Assert.Equal(hashes.Length, added.Sum());
        var kept = new List<SignatureLocation>();
        foreach (var hash in hashes)
        {
            kept.Add(Assert.IsType<SignatureLocation>(await catalog.GetSignatureAsync("m1", hash)));
        }
        // Each writer's count is exactly the number of locations of its own that stand, and each stands whole.
        for (var w = 0; w < writers.Length; w++)
        {
            var shard = writers[w][0].Shard;
            Assert.Equal(added[w], kept.Count(k => k.Shard == shard));
            Assert.All(kept.Where(k => k.Shard == shard), k => Assert.Contains(k, writers[w]));
        }
        Assert.Equal(Ordinal(kept.Select(k => k.Shard).Distinct()), Ordinal(await catalog.ListReferencedShardsAsync()));

        // A later redelivery is ignored whole.
        Assert.Equal(0, await catalog.AddSignaturesAsync(Job("shard-d", hashes)));
        Assert.DoesNotContain("shard-d", await catalog.ListReferencedShardsAsync());
    }

    [Fact]
    public async Task Referenced_shards_span_every_model_and_only_shards_with_a_signature()
    {
        var catalog = await CreateCatalogAsync();
        await catalog.AddSignaturesAsync([new("m1", "h1", "shards/m1/a.npy", 0), new("m1", "h2", "shards/m1/b.npy", 0)]);
        await catalog.AddSignaturesAsync([new("m2", "h1", "shards/m2/a.npy", 0), new("m3", "h9", "shards/m3/a.npy", 0)]);
        await catalog.AddSignaturesAsync([new("m2", "h1", "shards/m2/duplicate.npy", 0)]);
        await catalog.RecordSignatureFailureAsync("m4", "h1", "corrupt", "x");

        Assert.Equal(["shards/m1/a.npy", "shards/m1/b.npy", "shards/m2/a.npy", "shards/m3/a.npy"], Ordinal(await catalog.ListReferencedShardsAsync()));
    }

    [Fact]
    public async Task Signature_failures_are_per_model_listed_by_content_hash_and_replaced_by_a_later_record()
    {
        var catalog = await CreateCatalogAsync();
        await catalog.RecordSignatureFailureAsync("m1", "h2", "corrupt", "first");
        await catalog.RecordSignatureFailureAsync("m1", "h1", "too-small", "");
        await catalog.RecordSignatureFailureAsync("m2", "h2", "corrupt", "other model");
        await catalog.RecordSignatureFailureAsync("m1", "h2", "unsupported", "second");

        Assert.Equal([new SignatureFailure("m1", "h1", "too-small", ""), new SignatureFailure("m1", "h2", "unsupported", "second")],
            await catalog.ListSignatureFailuresAsync("m1"));
        Assert.Equal([new SignatureFailure("m2", "h2", "corrupt", "other model")], await catalog.ListSignatureFailuresAsync("m2"));
        Assert.Empty(await catalog.ListSignatureFailuresAsync("m3"));
        Assert.Null(await catalog.GetSignatureAsync("m1", "h2"));
    }

    [Fact]
    public async Task Hostile_model_versions_content_hashes_and_shard_names_are_kept_apart()
    {
        var catalog = await CreateCatalogAsync();
        string[] models = ["m/1", "m%2F1", "m~002F1", "m", "m-1", "M", "", " ", "m#1?x", "\0", new string('m', 2000)];
        string[] hashes = ["h/1", "h%2F1", "h", "H", "", "\t", "h'1", new string('h', 3000)];
        var locations = models.SelectMany((m, i) => hashes.Select((h, j) => new SignatureLocation(m, h, $"shards/{m}/{i}-{j}?#.npy", i * 100 + j))).ToArray();

        Assert.Equal(locations.Length, await catalog.AddSignaturesAsync(locations));
        foreach (var (m, i) in models.Select((m, i) => (m, i)))
        {
            await catalog.RecordSignatureFailureAsync(m, $"failed-{i}", "corrupt", m);
        }
        foreach (var location in locations)
        {
            Assert.Equal(location, await catalog.GetSignatureAsync(location.ModelVersion, location.ContentHash));
        }
        Assert.Equal(Ordinal(locations.Select(l => l.Shard)), Ordinal(await catalog.ListReferencedShardsAsync()));
        foreach (var (m, i) in models.Select((m, i) => (m, i)))
        {
            Assert.Equal([new SignatureFailure(m, $"failed-{i}", "corrupt", m)], await catalog.ListSignatureFailuresAsync(m));
        }
        await catalog.PutImageAsync(Accepted("a.jpg", "h/1"));
        Assert.Equal(Ordinal(models), Ordinal(await Task.WhenAll(models.Select(async m => Assert.Single(await catalog.ListSignedAsync(m)).Signature.ModelVersion))));
        Assert.Empty(await catalog.ListUnsignedAsync("m/1"));
        Assert.Single(await catalog.ListUnsignedAsync("m/2"));
    }
}
