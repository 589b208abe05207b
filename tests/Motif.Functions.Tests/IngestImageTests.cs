using System.Text.Json;
using Motif.Pipeline;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Testing;

namespace Motif.Functions.Tests;

/// <summary>IngestImage invoked as the Event Grid blob trigger invokes it, on Azurite.</summary>
public sealed class IngestImageTests : IAsyncLifetime
{
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private async Task<int> QueuedJobsAsync() => (await _f.Jobs.ReceiveAsync(32, TimeSpan.Zero)).Count;

    /// <summary>The versions the queued jobs name (null: unversioned), taking them off the queue.</summary>
    private async Task<IReadOnlyList<(string ImageId, string? ModelVersion)>> QueuedJobVersionsAsync() =>
        [.. (await _f.Jobs.ReceiveAsync(32, TimeSpan.Zero)).Select(m => SignatureJob.TryParse(m)!).Select(j => (j.ImageId, j.ModelVersion)).OrderBy(j => j.ModelVersion)];

    [Fact]
    public async Task With_no_rollout_an_upload_gets_one_unversioned_job()
    {
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/a.jpg", ImageFixtures.Jpeg(120, 90)));

        Assert.Equal([("museum/a.jpg", (string?)null)], await QueuedJobVersionsAsync());
    }

    [Fact]
    public async Task While_a_version_is_pending_an_upload_gets_the_serving_job_and_one_naming_the_pending_version()
    {
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/before.jpg", ImageFixtures.Jpeg(120, 90)));
        var version = await _f.RegisterVersionAsync();
        Assert.True((await _f.Get<ModelRollout>().PromoteAsync(version.Id)).Promoted);
        // The upload before and the promotion's job for it.
        Assert.Equal([("museum/before.jpg", (string?)null), ("museum/before.jpg", version.Id)], await QueuedJobVersionsAsync());

        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/during.jpg", ImageFixtures.ColourGrid(1)));

        Assert.Equal([("museum/during.jpg", (string?)null), ("museum/during.jpg", version.Id)], await QueuedJobVersionsAsync());
    }

    [Fact]
    public async Task After_a_switch_an_upload_gets_one_job_naming_the_serving_version()
    {
        var version = await _f.RegisterVersionAsync();
        var rollout = _f.Get<ModelRollout>();
        Assert.True((await rollout.PromoteAsync(version.Id)).Promoted);
        Assert.True((await rollout.AdvanceAsync()).Switched);   // nothing catalogued: nothing to wait for

        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/after.jpg", ImageFixtures.Jpeg(120, 90)));

        Assert.Equal([("museum/after.jpg", (string?)version.Id)], await QueuedJobVersionsAsync());
    }

    [Fact]
    public async Task A_bad_image_is_quarantined_with_its_reason_and_the_invocation_succeeds()
    {
        var outcome = await _f.UploadAndIngestAsync("museum/broken.jpg", ImageFixtures.Truncated(ImageFixtures.Jpeg(), 0.4));

        Assert.Equal(IngestOutcome.Rejected, outcome);
        var record = await _f.Catalog.GetImageAsync("museum/broken.jpg");
        Assert.Equal((ImageStatus.Rejected, "corrupt"), (record!.Status, record.ReasonCode));
        await using var quarantine = await _f.Blobs.GetAsync(CollectionBlobs.Quarantine("museum/broken.jpg") + "record.json");
        var json = await JsonDocument.ParseAsync(quarantine.Content);
        Assert.Equal("corrupt", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(0, await QueuedJobsAsync());
    }

    [Fact]
    public async Task The_same_upload_twice_gives_one_record_and_one_job()
    {
        var bytes = ImageFixtures.Jpeg(120, 90);
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/prints/a b/é.jpg", bytes));
        Assert.Equal(IngestOutcome.Unchanged, await _f.IngestAsync("museum/prints/a b/é.jpg"));            // a duplicate event
        Assert.Equal(IngestOutcome.Unchanged, await _f.UploadAndIngestAsync("museum/prints/a b/é.jpg", bytes));   // re-uploaded, same bytes

        var images = await _f.Catalog.ListImagesAsync();
        Assert.Equal("museum/prints/a b/é.jpg", Assert.Single(images).ImageId);
        Assert.Equal(ImageStatus.Accepted, images[0].Status);
        Assert.Equal(1, await QueuedJobsAsync());
    }

    [Theory]
    [InlineData("museum/evil\u0000.jpg")]
    [InlineData("museum/\u202Egpj.exe")]
    [InlineData("museum/../../etc/passwd")]
    [InlineData("museum//double.jpg")]
    [InlineData("no-collection.jpg")]
    [InlineData("museum/back\\slash.jpg")]
    public async Task A_hostile_name_is_refused_with_a_reason_without_crashing(string name)
    {
        // The trigger hands over whatever name the event carried; no blob needs to exist for a refusal.
        var outcome = await _f.IngestAsync(name);

        Assert.Equal(IngestOutcome.Rejected, outcome);
        Assert.Empty(await _f.Catalog.ListImagesAsync());
        await using var record = await _f.Blobs.GetAsync(CollectionBlobs.Quarantine(name) + "record.json");
        var json = await JsonDocument.ParseAsync(record.Content);
        Assert.Equal("invalid-name", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(0, await QueuedJobsAsync());
    }

    [Fact]
    public async Task A_collections_metadata_csv_is_imported_for_its_collection_and_never_catalogued()
    {
        // The CSV may come before its images: a row for an image not uploaded yet is kept for when it arrives.
        var csv = "Filename,Title,Artist,Permalink\ncoffee.jpg,\"<script>alert(1)</script>\",Ann,javascript:alert(1)\nlater.jpg,Later,,https://example.org/later\n";
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/metadata.csv", System.Text.Encoding.UTF8.GetBytes(csv)));
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/coffee.jpg", ImageFixtures.Jpeg(120, 90)));
        // Another collection's file of the same name is that collection's: its filenames resolve under it.
        Assert.Equal(IngestOutcome.Accepted, await _f.UploadAndIngestAsync("other/metadata.csv", "filename,title\ncoffee.jpg,Other\n"u8.ToArray()));

        var all = await _f.Get<MetadataStore>().ReadAllAsync();
        Assert.Equal(new Core.Metadata.ImageMetadata("<script>alert(1)</script>", "Ann", null, null, null, null), all["museum/coffee.jpg"]);
        Assert.Equal("https://example.org/later", all["museum/later.jpg"].Source);
        Assert.Equal("Other", all["other/coffee.jpg"].Title);
        Assert.Equal("museum/coffee.jpg", Assert.Single(await _f.Catalog.ListImagesAsync()).ImageId);
        Assert.Equal(1, await QueuedJobsAsync());

        // A file without a filename column is refused whole; the collection's previous import stands.
        Assert.Equal(IngestOutcome.Rejected, await _f.UploadAndIngestAsync("museum/metadata.csv", "title\nx\n"u8.ToArray()));
        Assert.Equal("Ann", (await _f.Get<MetadataStore>().ReadAllAsync())["museum/coffee.jpg"].Artist);
    }

    [Fact]
    public void A_name_too_long_or_empty_has_no_image_id()
    {
        Assert.Null(UploadName.ToImageId("museum/" + new string('x', UploadName.MaxLength), out var problem));
        Assert.Contains("characters", problem);
        Assert.Null(UploadName.ToImageId("", out _));
        Assert.Equal("museum/folder/ok.jpg", UploadName.ToImageId("museum/folder/ok.jpg", out _));
    }

    [Fact]
    public async Task An_oversized_blob_is_rejected_from_its_length_without_being_read()
    {
        await using var small = await FunctionsFixture.StartAsync();
        var bytes = ImageFixtures.Jpeg(400, 300);
        await small.Uploads.PutAsync("museum/huge.jpg", new MemoryStream(bytes));
        var uploads = new CountingBlobStore(small.Uploads);
        var ingest = new IngestImage(
            new IngestService(small.Blobs, small.Catalog, small.Jobs, new IngestOptions { ModelVersion = TinyEmbedder.Version, Limits = Imaging.ValidationLimits.Default with { MaxBytes = bytes.Length - 1 } }),
            small.Get<MetadataStore>(), uploads, Microsoft.Extensions.Logging.Abstractions.NullLogger<IngestImage>.Instance);

        Assert.Equal(IngestOutcome.Rejected, await ingest.RunAsync(IngestImage.TriggerHandle(small.Services, "museum/huge.jpg"), "museum/huge.jpg", CancellationToken.None));
        Assert.Equal((1, 0L), (uploads.Downloads, uploads.BytesRead));
        var record = await small.Catalog.GetImageAsync("museum/huge.jpg");
        Assert.Equal(("file-too-large", (long)bytes.Length), (record!.ReasonCode, record.ByteLength));
    }

    [Fact]
    public async Task A_duplicate_event_reads_the_upload_once_and_not_its_body()
    {
        var uploads = new CountingBlobStore(_f.Uploads);
        var ingest = new IngestImage(_f.Get<IngestService>(), _f.Get<MetadataStore>(), uploads, Microsoft.Extensions.Logging.Abstractions.NullLogger<IngestImage>.Instance);
        var bytes = ImageFixtures.Jpeg(160, 120);
        await _f.Uploads.PutAsync("museum/once.jpg", new MemoryStream(bytes));
        var handle = IngestImage.TriggerHandle(_f.Services, "museum/once.jpg");

        Assert.Equal(IngestOutcome.Accepted, await ingest.RunAsync(handle, "museum/once.jpg", CancellationToken.None));
        Assert.Equal((1, 0, (long)bytes.Length), (uploads.Downloads, uploads.PropertyReads, uploads.BytesRead));
        Assert.Equal(IngestOutcome.Unchanged, await ingest.RunAsync(handle, "museum/once.jpg", CancellationToken.None));
        Assert.Equal((2, 0, (long)bytes.Length), (uploads.Downloads, uploads.PropertyReads, uploads.BytesRead));
        Assert.Equal((await _f.Uploads.GetPropertiesAsync("museum/once.jpg"))!.ETag, (await _f.Catalog.GetImageAsync("museum/once.jpg"))!.SourceStamp);
    }
}
