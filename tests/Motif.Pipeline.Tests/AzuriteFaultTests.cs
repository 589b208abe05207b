using Microsoft.Extensions.DependencyInjection;
using Motif.Core;
using Motif.Imaging;
using Motif.Storage.Azure.Azurite;
using Motif.Storage.Azure.Composition;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;
using Motif.Storage.Tests;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>
/// The pipeline's services on the Azure adapters, composed as every host composes them (<see cref="MotifAzureStorage"/>:
/// its retry policy included), on an Azurite of this test's own that is stopped and restarted under load. What was
/// lost or duplicated is judged from the catalog, the queue and the blobs, never from logs.
/// </summary>
public sealed class AzuriteFaultTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly ThumbnailEmbedder _embedder = new();
    private AzuriteServer _azurite = null!;
    private ServiceProvider _services = null!;

    private IBlobStore Blobs => _services.GetRequiredService<IBlobStore>();

    private IImageCatalog Catalog => _services.GetRequiredService<IImageCatalog>();

    private IWorkQueue Jobs => _services.GetRequiredService<IWorkQueue>();

    public async Task InitializeAsync()
    {
        _azurite = await SharedAzurite.StartPrivateAsync(_folder.Combine("azurite"));
        var options = new MotifAzureStorageOptions { SignatureJobs = new WorkQueueOptions { LockDuration = TimeSpan.FromSeconds(3), MaxDeliveryCount = 5 } };
        _services = new ServiceCollection().AddMotifAzureStorage(AzureConnection.ForAzurite(_azurite), serviceBus: null, options).BuildServiceProvider();
        await MotifAzureStorage.EnsureCreatedAsync(_services);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _azurite.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task Intake_and_signing_ride_through_Azurite_restarts_and_lose_or_duplicate_nothing()
    {
        var ingest = new IngestService(Blobs, Catalog, Jobs, new IngestOptions { ModelVersion = _embedder.ModelVersion, DerivativeSide = 256, ThumbnailSide = 64 });
        var signing = new SignatureService(Blobs, Catalog, Jobs, _embedder, new SignatureServiceOptions { BatchSize = 3, PreprocessThreads = 2 });
        var photo = TestData.Photo("astronaut.png");
        var images = Enumerable.Range(0, 24).Select(i => ($"uploads/{i:D2}.jpg", ImageFixtures.Variant(photo, 0.6 + 0.015 * i, (1, 1, 1)))).ToArray();

        // Intake (blob puts, table upserts, queue sends) with the emulator stopped and restarted a third of the way in.
        var restart = RestartWhenAsync(() => Volatile.Read(ref _ingested), images.Length / 3);
        foreach (var (id, bytes) in images)
        {
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync(id, "stamp", bytes));
            Interlocked.Increment(ref _ingested);
        }
        // Still ingesting when the emulator was back: the loop ran through the outage, so its requests were retried.
        Assert.InRange(await restart, images.Length / 3, images.Length - 1);

        // Signing (receives, shard puts, catalog commits, completions), restarted again after the first batch.
        restart = RestartWhenAsync(() => Volatile.Read(ref _batches), 1);
        await SignEverythingAsync(signing);
        Assert.InRange(await restart, 1, images.Length / 3 - 1);
        await signing.SweepOrphanShardsAsync(TimeSpan.Zero);

        var records = await Catalog.ListImagesAsync();
        Assert.Equal(images.Select(i => i.Item1), records.Select(r => r.ImageId));                    // none lost, none twice
        Assert.All(records, r => Assert.Equal(ImageStatus.Accepted, r.Status));
        var signed = await Catalog.ListSignedAsync(_embedder.ModelVersion);
        Assert.Equal(images.Select(i => i.Item1), signed.Select(s => s.Image.ImageId));
        Assert.Equal(images.Length, signed.Select(s => (s.Signature.Shard, s.Signature.Row)).Distinct().Count());
        var shards = (await Blobs.ListAsync(CollectionBlobs.SignatureShards(_embedder.ModelVersion))).Items.Select(b => b.Name);
        Assert.Equal(signed.Select(s => s.Signature.Shard).Distinct().Order(StringComparer.Ordinal), shards.Order(StringComparer.Ordinal));   // no orphan left
        Assert.Empty(await Jobs.PeekDeadLetteredAsync(10));
        foreach (var (id, bytes) in images)
        {
            Assert.NotNull(await Blobs.GetPropertiesAsync(CollectionBlobs.Derivative(ContentHash.Of(bytes).Hex)));
        }
    }

    [Fact]
    public async Task A_job_whose_lock_expires_while_it_is_processed_is_redelivered_and_signed_once()
    {
        var ingest = new IngestService(Blobs, Catalog, Jobs, new IngestOptions { ModelVersion = _embedder.ModelVersion, DerivativeSide = 256, ThumbnailSide = 64 });
        var bytes = TestData.Photo("coffee.png");
        await ingest.IngestAsync("uploads/coffee.png", "stamp", bytes);
        var slowEmbedder = new SlowEmbedder(_embedder, Jobs.Options.LockDuration + TimeSpan.FromSeconds(2));
        var slow = new SignatureService(Blobs, Catalog, Jobs, slowEmbedder, new SignatureServiceOptions { BatchSize = 1, PreprocessThreads = 1 });
        var fast = new SignatureService(Blobs, Catalog, Jobs, _embedder, new SignatureServiceOptions { BatchSize = 1, PreprocessThreads = 1 });

        // The slow worker takes the job and stalls past its lock; the fast one gets the redelivery and signs it.
        var stalled = Task.Run(() => slow.ProcessBatchAsync());
        await slowEmbedder.Started.WaitAsync(TimeSpan.FromSeconds(30));
        SignatureRunResult second;
        while ((second = await fast.ProcessBatchAsync()).Received == 0)
        {
            await Task.Delay(200);   // the job is locked by the stalled worker until its lock expires
        }
        var first = await stalled;

        Assert.Equal((1, 1), (first.Received, first.Signed));      // it did its work, but its catalog write found the signature there
        Assert.Equal((1, 1), (second.Received, second.Signed));
        var signature = Assert.Single(await Catalog.ListSignedAsync(_embedder.ModelVersion));
        Assert.Equal(ContentHash.Of(bytes).Hex, signature.Signature.ContentHash);
        // The stalled worker's shard is referenced by nothing: swept; the signature's shard stays.
        Assert.Equal(1, await fast.SweepOrphanShardsAsync(TimeSpan.Zero));
        Assert.Equal([signature.Signature.Shard], (await Blobs.ListAsync(CollectionBlobs.SignatureShards(_embedder.ModelVersion))).Items.Select(b => b.Name));
        Assert.Empty(await Jobs.ReceiveAsync(10));
        Assert.Empty(await Jobs.PeekDeadLetteredAsync(10));
    }

    private int _ingested;
    private int _batches;

    /// <summary>Processes until the catalog has nothing unsigned: jobs whose receive was cut off come back after their lock.</summary>
    private async Task SignEverythingAsync(SignatureService signing)
    {
        var progress = new Progress(() => Interlocked.Increment(ref _batches));
        for (var round = 0; round < 20; round++)
        {
            await signing.ProcessAllAsync(progress);
            if ((await Catalog.ListUnsignedAsync(_embedder.ModelVersion)).Count == 0)
            {
                // Leftover deliveries of signed jobs (a completion whose answer was lost) are no-ops: drain them.
                await Task.Delay(Jobs.Options.LockDuration + TimeSpan.FromSeconds(1));
                await signing.ProcessAllAsync(progress);
                return;
            }
            await Task.Delay(Jobs.Options.LockDuration + TimeSpan.FromSeconds(1));
        }
        Assert.Fail("signing did not finish");
    }

    /// <summary>Stops Azurite (SIGTERM) once <paramref name="progress"/> reaches <paramref name="at"/>, restarts it a second later; returns the progress then.</summary>
    private async Task<int> RestartWhenAsync(Func<int> progress, int at)
    {
        while (progress() < at)
        {
            await Task.Delay(10);
        }
        await _azurite.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await _azurite.RestartAsync();
        return progress();
    }

    private sealed class Progress(Action report) : IProgress<SignatureRunResult>
    {
        public void Report(SignatureRunResult value) => report();
    }

    /// <summary>Embeds like <paramref name="inner"/>, after stalling for <paramref name="stall"/>.</summary>
    private sealed class SlowEmbedder(ISignatureEmbedder inner, TimeSpan stall) : ISignatureEmbedder
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        public string ModelVersion => inner.ModelVersion;

        public int Dimension => inner.Dimension;

        public PreprocessSpec Preprocessing => inner.Preprocessing;

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
        {
            _started.TrySetResult();
            Thread.Sleep(stall);
            inner.Embed(images, count, signatures);
        }
    }
}
