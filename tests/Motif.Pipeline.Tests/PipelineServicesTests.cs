using System.Text.Json;
using Motif.Core;
using Motif.Core.Manifests;
using Motif.Imaging;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>Intake, signatures, reclustering and search through the embedded adapters, as one collection's life.</summary>
public sealed class PipelineServicesTests : IDisposable
{
    private static readonly ClusteringParameters Parameters = new(0.13, 2, Extraction.Xi, 0.05, null, true, null);
    private readonly PipelineFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static byte[] Photo(string name) => TestData.Photo(name);

    /// <summary>A photo and a mildly cropped, colour-shifted copy: a pattern family of two.</summary>
    private static (byte[] Original, byte[] Copy) Family(string name)
    {
        var original = Photo(name);
        return (original, ImageFixtures.Variant(original, 0.92, (1.04, 1.0, 0.97)));
    }

    [Fact]
    public async Task Accepted_image_gets_derivative_thumbnail_catalog_record_and_one_job()
    {
        var bytes = Photo("coffee.png");
        Assert.Equal(IngestOutcome.Accepted, await _f.Ingest.IngestAsync("a/coffee.png", "stamp-1", bytes));
        var hash = ContentHash.Of(bytes).Hex;

        var record = await _f.Catalog.GetImageAsync("a/coffee.png");
        Assert.NotNull(record);
        Assert.Equal((ImageStatus.Accepted, hash, "png", 600, 400), (record.Status, record.ContentHash, record.Format, record.Width, record.Height));
        var derivative = await _f.Blobs.GetPropertiesAsync(CollectionBlobs.Derivative(hash));
        Assert.NotNull(derivative);
        var thumbnail = ImageCodec.Probe(await _f.Blobs.ReadAllBytesAsync(CollectionBlobs.Thumbnail(hash)));
        Assert.Equal((ImageFormat.Jpeg, 64, 43), (thumbnail.Format, thumbnail.Width, thumbnail.Height));
        Assert.Equal(1, _f.Jobs.Count());

        // The same bytes again (new stamp, e.g. a touched file): nothing redone, no second job.
        Assert.Equal(IngestOutcome.Unchanged, await _f.Ingest.IngestAsync("a/coffee.png", "stamp-2", bytes));
        Assert.Equal(1, _f.Jobs.Count());

        // The recorded stamp again (a rerun, a duplicate event): the source is not even read.
        var rerun = new StampedSource("stamp-2", IntakeRead.Of(bytes));
        Assert.Equal(IngestOutcome.Unchanged, await _f.Ingest.IngestAsync("a/coffee.png", rerun));
        Assert.Equal(0, rerun.Reads);
        var touched = new StampedSource("stamp-3", IntakeRead.Of(bytes));
        Assert.Equal(IngestOutcome.Unchanged, await _f.Ingest.IngestAsync("a/coffee.png", touched));
        Assert.Equal((1, "stamp-3"), (touched.Reads, (await _f.Catalog.GetImageAsync("a/coffee.png"))!.SourceStamp));
        Assert.Equal(1, _f.Jobs.Count());
    }

    [Fact]
    public async Task Rejected_image_lands_in_quarantine_with_its_reason_and_bytes()
    {
        var broken = ImageFixtures.Truncated(ImageFixtures.Jpeg(400, 300));
        Assert.Equal(IngestOutcome.Rejected, await _f.Ingest.IngestAsync("uploads/../evil\n.jpg", null, broken));

        var record = await _f.Catalog.GetImageAsync("uploads/../evil\n.jpg");
        Assert.Equal((ImageStatus.Rejected, "corrupt"), (record!.Status, record.ReasonCode));
        var folder = CollectionBlobs.Quarantine("uploads/../evil\n.jpg");
        var quarantine = JsonSerializer.Deserialize<QuarantineRecord>(await _f.ReadTextAsync(folder + "record.json"), JsonSerializerOptions.Web)!;
        Assert.Equal(("uploads/../evil\n.jpg", "corrupt", broken.Length), (quarantine.ImageId, quarantine.Reason, quarantine.ByteLength));
        Assert.Equal(broken, await _f.Blobs.ReadAllBytesAsync(folder + quarantine.ContentHash));
        Assert.Equal(0, _f.Jobs.Count());

        var link = new StampedSource("link", IntakeRead.Refused(RejectionReason.Unreadable, 0, "A symbolic link."));
        Assert.Equal(IngestOutcome.Rejected, await _f.Ingest.IngestAsync("link.jpg", link));
        Assert.Equal("unreadable", (await _f.Catalog.GetImageAsync("link.jpg"))!.ReasonCode);
        Assert.Contains("A symbolic link.", await _f.ReadTextAsync(CollectionBlobs.Quarantine("link.jpg") + "record.json"));
        Assert.Equal(IngestOutcome.Unchanged, await _f.Ingest.IngestAsync("link.jpg", link));
        Assert.Equal(1, link.Reads);
    }

    [Fact]
    public async Task Signatures_are_computed_once_per_content_and_recorded_with_their_shard()
    {
        var (coffee, coffeeCopy) = Family("coffee.png");
        await _f.Ingest.IngestAsync("coffee.png", null, coffee);
        await _f.Ingest.IngestAsync("coffee-copy.jpg", null, coffeeCopy);
        await _f.Ingest.IngestAsync("same-bytes-elsewhere.png", null, coffee);
        await _f.Ingest.IngestAsync("rocket.jpg", null, Photo("rocket.jpg"));
        await _f.Ingest.IngestAsync("chelsea.png", null, Photo("chelsea.png"));
        // A job sent twice (a redelivery, or a retried send) must not make a second signature.
        await _f.Jobs.SendAsync(new SignatureJob("rocket.jpg", ContentHash.Of(Photo("rocket.jpg")).Hex, CollectionBlobs.Derivative(ContentHash.Of(Photo("rocket.jpg")).Hex)).ToMessage());

        var result = await _f.Signatures.ProcessAllAsync();
        Assert.Equal(4, result.Signed);
        Assert.Equal(2, result.AlreadySigned);   // the duplicate job, and the file with the same bytes
        Assert.Equal(0, _f.Jobs.Count());

        var signed = await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion);
        Assert.Equal(5, signed.Count);           // every accepted image has a row; identical bytes share one signature
        Assert.Equal(signed.Single(s => s.Image.ImageId == "coffee.png").Signature, signed.Single(s => s.Image.ImageId == "same-bytes-elsewhere.png").Signature);
        var set = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
        Assert.Equal(["chelsea.png", "coffee-copy.jpg", "coffee.png", "rocket.jpg", "same-bytes-elsewhere.png"], set.ImageIds);
        for (var i = 0; i < set.Count; i++)
        {
            Assert.Equal(1.0, System.Numerics.Tensors.TensorPrimitives.Norm(set.Row(i)), 1e-5);
        }
        Assert.Equal(0, await _f.Signatures.EnqueueMissingAsync());
    }

    [Fact]
    public async Task Poison_jobs_are_dead_lettered_with_a_reason_and_recorded_as_failures()
    {
        // A derivative that does not decode (the store was tampered with), a job whose derivative is gone, and junk.
        var fake = new string('a', 64);
        await _f.Blobs.PutAsync(CollectionBlobs.Derivative(fake), new MemoryStream("not a jpeg"u8.ToArray()));
        await _f.Jobs.SendAsync(new SignatureJob("tampered.jpg", fake, CollectionBlobs.Derivative(fake)).ToMessage());
        var gone = new string('b', 64);
        await _f.Jobs.SendAsync(new SignatureJob("gone.jpg", gone, CollectionBlobs.Derivative(gone)).ToMessage());
        await _f.Jobs.SendAsync(OutgoingMessage.FromText("{\"imageId\": 42}"));
        await _f.Jobs.SendAsync(new SignatureJob("escape.jpg", fake, "../../etc/passwd").ToMessage());

        var result = await _f.Signatures.ProcessAllAsync();
        Assert.Equal((4, 0, 4), (result.Received, result.Signed, result.Failed));
        var dead = await _f.Jobs.PeekDeadLetteredAsync(10);
        Assert.Equal(["unknown-format", "derivative-missing", "malformed-job", "malformed-job"], dead.Select(d => d.Reason));
        var failures = await _f.Catalog.ListSignatureFailuresAsync(_f.Embedder.ModelVersion);
        Assert.Equal([(fake, "unknown-format"), (gone, "derivative-missing")], failures.Select(x => (x.ContentHash, x.ReasonCode)).OrderBy(x => x.ContentHash));
        Assert.Equal(0, _f.Embedder.Calls);
    }

    [Fact]
    public async Task Jobs_lost_between_catalog_and_queue_are_found_again_and_orphan_shards_are_swept()
    {
        await _f.Ingest.IngestAsync("coffee.png", null, Photo("coffee.png"));
        await _f.Ingest.IngestAsync("rocket.jpg", null, Photo("rocket.jpg"));
        // Lose both jobs, as a crash between the catalog commit and the send would.
        foreach (var message in await _f.Jobs.ReceiveAsync(10))
        {
            await _f.Jobs.CompleteAsync(message);
        }
        Assert.Equal(2, await _f.Signatures.EnqueueMissingAsync());
        Assert.Equal(2, (await _f.Signatures.ProcessAllAsync()).Signed);

        // A shard written by a worker killed before its catalog commit is unreferenced: swept, the others kept.
        var shards = CollectionBlobs.SignatureShards(_f.Embedder.ModelVersion);
        await _f.Blobs.PutAsync(shards + "orphan.npy", new MemoryStream(new byte[128]));
        Assert.Equal(0, await _f.Signatures.SweepOrphanShardsAsync(TimeSpan.FromHours(1)));   // too young: may be in flight
        Assert.Equal(1, await _f.Signatures.SweepOrphanShardsAsync(TimeSpan.Zero));
        Assert.DoesNotContain(shards + "orphan.npy", await _f.ListAsync(shards));
        Assert.Equal(2, (await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion)).Count);
    }

    [Fact]
    public async Task Derivatives_of_content_no_image_has_any_more_are_swept()
    {
        var coffee = Photo("coffee.png");
        var rocket = Photo("rocket.jpg");
        await _f.Ingest.IngestAsync("a.png", null, coffee);
        await _f.Ingest.IngestAsync("b.png", null, coffee);
        await _f.Ingest.IngestAsync("c.jpg", null, rocket);
        await _f.Ingest.IngestAsync("c.jpg", null, Photo("chelsea.png"));   // c.jpg changed: rocket's blobs are orphans
        await _f.Catalog.RemoveImagesAsync(["a.png"]);                       // coffee is still b.png's

        Assert.Equal(0, await _f.Ingest.SweepOrphanDerivativesAsync(TimeSpan.FromHours(1)));
        Assert.Equal(2, await _f.Ingest.SweepOrphanDerivativesAsync(TimeSpan.Zero));
        var left = (await _f.ListAsync("derivatives/")).Concat(await _f.ListAsync("thumbnails/")).ToArray();
        Assert.Equal(4, left.Length);
        Assert.DoesNotContain(CollectionBlobs.Derivative(ContentHash.Of(rocket).Hex), left);
        Assert.Contains(CollectionBlobs.Thumbnail(ContentHash.Of(coffee).Hex), left);
    }

    [Fact]
    public async Task Recluster_publishes_families_keeps_ids_and_skips_unchanged_input()
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png", "rocket.jpg" })
        {
            var (original, copy) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/copy", null, copy);
        }
        // A loner well beyond the radius of every family under the thumbnail embedder (0.22 from the nearest; astronaut.png,
        // 0.12 from chelsea's copy once the model input was resized as torchvision does, is too close for a 0.13 radius).
        await _f.Ingest.IngestAsync("loner.png", null, Photo("horse.png"));
        await _f.Signatures.ProcessAllAsync();

        var first = await _f.UpdateGraphAndReclusterAsync(Parameters);
        Assert.True(first.Published);
        var manifest = first.Manifest!.Manifest;
        Assert.Equal((7, 3, 1), (manifest.Counts.Images, manifest.Counts.Clusters, manifest.Counts.Noise));
        Assert.All(manifest.Clusters, c => Assert.Single(c.Members.Select(m => m.ImageId.Split('/')[0]).Distinct()));

        var again = await _f.UpdateGraphAndReclusterAsync(Parameters);
        Assert.False(again.Published);
        Assert.Equal(manifest.RunId, again.Manifest!.Manifest.RunId);

        // A new image joins: republished, and the three families keep their ids.
        await _f.Ingest.IngestAsync("moon.png", null, Photo("moon.png"));
        await _f.Signatures.ProcessAllAsync();
        var third = await _f.UpdateGraphAndReclusterAsync(Parameters);
        Assert.True(third.Published);
        Assert.Equal(manifest.Clusters.Select(c => c.Id).Order(), third.Manifest!.Manifest.Clusters.Select(c => c.Id).Order());
        Assert.Equal(8, third.Manifest.Manifest.Counts.Images);
    }

    [Fact]
    public async Task Recluster_publishes_a_map_with_the_run_and_keeps_unchanged_images_in_place()
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png" })
        {
            var (original, copy) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/copy", null, copy);
        }
        await _f.Ingest.IngestAsync("loner.png", null, Photo("horse.png"));
        await _f.Signatures.ProcessAllAsync();
        var publisher = new ManifestPublisher(_f.Blobs);

        var first = await _f.UpdateGraphAndReclusterAsync(Parameters);
        var manifest = first.Manifest!.Manifest;
        var map = await publisher.ReadMapAsync(manifest.RunId);
        Assert.NotNull(map);
        Assert.Equal(manifest.Images.Select(i => i.ImageId), map.Ids);
        Assert.Equal(manifest.Images.Select(i => i.ClusterId), map.Cluster.Select(c => c < 0 ? null : map.Clusters[c]));
        Assert.Equal(0, first.MapKept);
        // Each family's two images lie closer together than to the other family.
        double Distance(string a, string b)
        {
            int i = map.Ids.ToList().IndexOf(a), j = map.Ids.ToList().IndexOf(b);
            return Math.Sqrt(Math.Pow(map.X[i] - map.X[j], 2) + Math.Pow(map.Y[i] - map.Y[j], 2));
        }
        Assert.True(Distance("coffee.png/original", "coffee.png/copy") < Distance("coffee.png/original", "chelsea.png/original"));

        await _f.Ingest.IngestAsync("moon.png", null, Photo("moon.png"));
        await _f.Signatures.ProcessAllAsync();
        var second = await _f.UpdateGraphAndReclusterAsync(Parameters);
        var next = await publisher.ReadMapAsync(second.Manifest!.Manifest.RunId);

        Assert.Equal(5, second.MapKept);
        Assert.Equal(6, next!.Ids.Count);
        foreach (var id in map.Ids)
        {
            int before = map.Ids.ToList().IndexOf(id), after = next.Ids.ToList().IndexOf(id);
            Assert.Equal((map.X[before], map.Y[before]), (next.X[after], next.Y[after]));
        }
    }

    [Fact]
    public async Task Recluster_reads_the_stored_graph_and_leaves_out_rows_that_left_the_catalog()
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png" })
        {
            var (original, copy) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/copy", null, copy);
        }
        await _f.Signatures.ProcessAllAsync();
        Assert.False((await _f.Recluster.RunAsync(_f.Embedder.ModelVersion, Parameters)).Published);   // no graph yet: nothing to cluster

        var first = await _f.UpdateGraphAndReclusterAsync(Parameters);
        Assert.Equal((4, 0, true), (first.Images, first.StaleRows, first.Published));

        // The catalog changes but nobody updates the graph: the timer clusters what is both in the graph and catalogued,
        // and never reads a signature (the shards are gone).
        await _f.Catalog.RemoveImagesAsync(["chelsea.png/copy"]);
        foreach (var shard in await _f.ListAsync("signatures/"))
        {
            await _f.Blobs.DeleteAsync(shard);
        }
        var second = await _f.Recluster.RunAsync(_f.Embedder.ModelVersion, Parameters);
        Assert.Equal((3, 1, true), (second.Images, second.StaleRows, second.Published));
        Assert.DoesNotContain(second.Manifest!.Manifest.Images, i => i.ImageId == "chelsea.png/copy");
        Assert.All(second.Manifest.Manifest.Clusters, c => Assert.Contains(c.Medoid, c.Members.Select(m => m.ImageId)));
    }

    [Fact]
    public async Task The_stored_graph_is_updated_with_new_rows_only_and_equals_a_build_from_scratch()
    {
        var names = new[] { "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png", "camera.png", "moon.png" };
        foreach (var name in names[..4])
        {
            var (original, copy) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/copy", null, copy);
        }
        await _f.Signatures.ProcessAllAsync();
        var store = new NeighbourGraphStore(_f.Blobs);
        var set = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
        var first = await store.UpdateAsync(set, 0.3);
        Assert.Equal((0, 8), (first.KeptRows, first.AppendedRows));

        // One image removed, one changed, two added: six rows kept, three appended.
        await _f.Catalog.RemoveImagesAsync(["rocket.jpg/copy"]);
        await _f.Ingest.IngestAsync("coffee.png/copy", null, Photo("moon.png"));
        await _f.Ingest.IngestAsync("camera.png", null, Photo("camera.png"));
        await _f.Ingest.IngestAsync("a-first-in-order.png", null, Photo("motorcycle_left.png"));
        await _f.Signatures.ProcessAllAsync();
        set = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
        var second = await store.UpdateAsync(set, 0.3);
        Assert.Equal((6, 3), (second.KeptRows, second.AppendedRows));

        var scratch = Core.Signatures.NeighbourGraph.Build(set.Values, set.Dimension, 0.3);
        Assert.Equal(scratch.RowOffsets.ToArray(), second.Graph.RowOffsets.ToArray());
        Assert.Equal(scratch.NeighbourIndices.ToArray(), second.Graph.NeighbourIndices.ToArray());
        Assert.Equal(scratch.NeighbourDistances.ToArray(), second.Graph.NeighbourDistances.ToArray());
        Assert.True(scratch.EntryCount > 0);

        // A damaged stored graph is rebuilt, not trusted.
        await _f.Blobs.PutAsync(NeighbourGraphStore.BlobName(set.ModelVersion, 0.3), new MemoryStream("garbage"u8.ToArray()));
        var rebuilt = await store.UpdateAsync(set, 0.3);
        Assert.Equal((0, set.Count), (rebuilt.KeptRows, rebuilt.AppendedRows));
        Assert.Equal(scratch.NeighbourIndices.ToArray(), rebuilt.Graph.NeighbourIndices.ToArray());
    }

    [Fact]
    public async Task A_graph_update_computed_from_an_older_graph_never_overwrites_a_newer_one()
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png" })
        {
            var (original, copy) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/copy", null, copy);
        }
        await _f.Signatures.ProcessAllAsync();
        var older = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
        await _f.Ingest.IngestAsync("rocket.jpg", null, Photo("rocket.jpg"));
        await _f.Signatures.ProcessAllAsync();
        var newer = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);

        // Two workers: the slow one read the (absent) graph, then the other stored the newer graph before the slow one wrote.
        var rival = new NeighbourGraphStore(_f.Blobs);
        var slow = new NeighbourGraphStore(new InterceptedBlobStore(_f.Blobs, InterceptedBlobStore.Once(() => rival.UpdateAsync(newer, 0.3))));
        await Assert.ThrowsAsync<NeighbourGraphConflictException>(() => slow.UpdateAsync(older, 0.3));
        Assert.Equal(newer.Count, (await rival.ReadAsync(newer.ModelVersion, 0.3))!.Rows.Count);

        // The same over a stored graph (If-Match instead of create-only): the slow worker read the newer graph, the other
        // signed one more image and stored it before the slow one wrote its stale set.
        slow = new NeighbourGraphStore(new InterceptedBlobStore(_f.Blobs, InterceptedBlobStore.Once(async () =>
        {
            await _f.Ingest.IngestAsync("camera.png", null, Photo("camera.png"));
            await _f.Signatures.ProcessAllAsync();
            await rival.UpdateAsync(await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion), 0.3);
        })));
        await Assert.ThrowsAsync<NeighbourGraphConflictException>(() => slow.UpdateAsync(older, 0.3));
        Assert.Equal(newer.Count + 1, (await rival.ReadAsync(newer.ModelVersion, 0.3))!.Rows.Count);
    }

    [Fact]
    public async Task Search_finds_the_family_member_first_by_id_and_by_uploaded_bytes()
    {
        var (coffee, copy) = Family("coffee.png");
        await _f.Ingest.IngestAsync("coffee.png", null, coffee);
        await _f.Ingest.IngestAsync("coffee-copy.jpg", null, copy);
        foreach (var name in new[] { "chelsea.png", "rocket.jpg", "astronaut.png", "camera.png" })
        {
            await _f.Ingest.IngestAsync(name, null, Photo(name));
        }
        await _f.Signatures.ProcessAllAsync();
        var set = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
        var search = new SearchService(set, _f.Embedder);

        var byId = search.Nearest("coffee.png", 3);
        Assert.Equal("coffee-copy.jpg", byId[0].ImageId);
        Assert.DoesNotContain(byId, h => h.ImageId == "coffee.png");
        Assert.True(byId[0].Distance < byId[1].Distance);

        var byBytes = search.Nearest(ImageFixtures.Variant(coffee, 0.95, (1, 1, 1)), 2);
        Assert.StartsWith("coffee", byBytes[0].ImageId);
        Assert.Throws<KeyNotFoundException>(() => search.Nearest("not-there.png", 3));
        Assert.Throws<ImageRejectedException>(() => search.Nearest("junk"u8, 3));
        Assert.Throws<InvalidOperationException>(() => new SearchService(set).Nearest(coffee, 3));
    }

    [Fact]
    public async Task Workspace_lease_admits_one_holder_at_a_time()
    {
        await using (var lease = await WorkspaceLease.AcquireAsync(_f.Blobs))
        {
            await Assert.ThrowsAsync<WorkspaceBusyException>(() => WorkspaceLease.AcquireAsync(_f.Blobs, wait: TimeSpan.Zero));
            Assert.Null(lease.Lost);
        }
        await using var next = await WorkspaceLease.AcquireAsync(_f.Blobs, wait: TimeSpan.Zero);
        // Another lock blob is another lease: the recluster singleton does not contend with the workspace.
        await using var recluster = await WorkspaceLease.AcquireAsync(_f.Blobs, CollectionBlobs.ReclusterLock, wait: TimeSpan.Zero);
        await Assert.ThrowsAsync<WorkspaceBusyException>(() => WorkspaceLease.AcquireAsync(_f.Blobs, CollectionBlobs.ReclusterLock, wait: TimeSpan.Zero));
    }

    [Fact]
    public async Task A_lease_that_cannot_be_renewed_cancels_its_token_at_the_next_renewal()
    {
        var takenOver = false;
        // Renewals fail as if another process had taken the lease, once takenOver says so.
        var blobs = new InterceptedBlobStore(_f.Blobs, _ => Task.CompletedTask, beforeRenew: name => Volatile.Read(ref takenOver)
            ? throw new BlobStoreException(BlobErrorCode.LeaseIdMismatch, name, "The lease id given is not the blob's lease.")
            : Task.CompletedTask);
        await using var lease = await WorkspaceLease.AcquireAsync(blobs, wait: TimeSpan.Zero);
        // Renewals succeed while nothing is wrong: the lease outlives a renewal period untouched.
        await Task.Delay(WorkspaceLease.Term / 3 + TimeSpan.FromSeconds(1));
        Assert.False(lease.LostToken.IsCancellationRequested);
        Assert.Null(lease.Lost);

        Volatile.Write(ref takenOver, true);
        var cancelled = new TaskCompletionSource();
        await using var registration = lease.LostToken.Register(() => cancelled.TrySetResult());
        // The next renewal, at most a third of a term later, finds the lease gone.
        await cancelled.Task.WaitAsync(WorkspaceLease.Term);
        Assert.Equal(BlobErrorCode.LeaseIdMismatch, Assert.IsType<BlobStoreException>(lease.Lost).ErrorCode);
    }

    /// <summary>A source with a given stamp that counts how often it is read.</summary>
    private sealed class StampedSource(string stamp, IntakeRead read) : IntakeSource
    {
        public int Reads { get; private set; }

        public override string Stamp => stamp;

        public override Task<IntakeRead> ReadAsync(ValidationLimits limits, CancellationToken cancellationToken)
        {
            Reads++;
            return Task.FromResult(read);
        }
    }
}
