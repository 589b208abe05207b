using System.Security.Cryptography;
using Azure.Storage.Queues;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;
using Motif.Testing;

namespace Motif.Pipeline.Tests.Models;

/// <summary>
/// A rollout as a deployment runs it (issue 11, item 6): the promotion sends a signature job naming the new version for
/// every image, the signing loop opens that version's weights from the registry (the engine's tiny ResNet, fine-tuned by
/// a few steps so its signatures differ from the base's), and the pointer switches only once every image is signed under
/// it. The signature queue is Queue Storage on Azurite (the peek-lock adapter with dead-lettering that Azure runs).
/// </summary>
public sealed class CloudRolloutTests : IDisposable
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";
    private const string BaseVersion = "tiny-base";
    private const int InputSize = 32;

    /// <summary>What <c>Motif__ModelVersion</c> is in this deployment: the base's signatures at 32 px.</summary>
    private static readonly string BaseSignatures = EngineSignatureEmbedder.VersionOf(BaseVersion, InputSize);

    private readonly PipelineFixture _workspace = new();
    private readonly SignatureModel _base = SignatureModel.Create(Tiny);
    private readonly ModelRegistry _registry;

    public CloudRolloutTests() => _registry = new ModelRegistry(_workspace.Blobs, BaseVersion);

    public void Dispose()
    {
        _base.Dispose();
        _workspace.Dispose();
    }

    private static async Task<QueueStorageWorkQueue> QueueAsync()
    {
        var azurite = await SharedAzurite.GetAsync();
        var queue = new QueueStorageWorkQueue(new QueueServiceClient(azurite.ConnectionString, QueueStorageWorkQueue.ClientOptions()), SharedAzurite.UniqueName("signatures"),
            new WorkQueueOptions { LockDuration = TimeSpan.FromSeconds(30), MaxDeliveryCount = 3 });
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    /// <summary>Ingests <paramref name="count"/> distinct pictures; intake sends each an unversioned job.</summary>
    private async Task IngestAsync(IWorkQueue queue, int count)
    {
        var ingest = new IngestService(_workspace.Blobs, _workspace.Catalog, queue, new IngestOptions { ModelVersion = BaseSignatures, DerivativeSide = 64, ThumbnailSide = 32 });
        for (var k = 0; k < count; k++)
        {
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"img{k:D2}.png", "s", ImageFixtures.ColourGrid(k)));
        }
    }

    /// <summary>The signing worker as Program.cs wires it: its configured model (the base) and the versions jobs name.</summary>
    private SignatureService Signing(IWorkQueue queue, ModelVersionEmbedders versions, int batchSize = 4) =>
        new(_workspace.Blobs, _workspace.Catalog, queue, versions.Configured, new SignatureServiceOptions
        {
            BatchSize = batchSize, PreprocessThreads = 1, ModelVersions = versions,
        });

    private ModelVersionEmbedders Versions() =>
        new(_registry, new TinyEmbedders(), new EngineSignatureEmbedder(_base, BaseVersion, InputSize), BaseVersion,
            new ModelVersionEmbeddersOptions { CacheFolder = Path.Combine(Path.GetTempPath(), $"motif-rollout-test-{Guid.NewGuid():N}") });

    /// <summary>A fine-tuned version registered as a training run leaves it: the base's checkpoint as epoch 0, the base
    /// after a few Adam steps on random triplets as epoch 1, validated better.</summary>
    private async Task<ModelVersionRecord> RegisterFineTunedAsync()
    {
        var folder = CollectionBlobs.TrainingRun("run-1");
        var files = Path.Combine(Path.GetTempPath(), $"motif-rollout-ckpt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(files);
        try
        {
            using var tuned = SignatureModel.Create(Tiny);
            var epoch0 = Path.Combine(files, "e0.ckpt");
            tuned.SaveCheckpoint(epoch0);
            tuned.ConfigureTraining(TrainingOptions.Default with { LearningRate = 1e-2 });
            var random = new Random(7);
            var values = 4 * 3 * InputSize * InputSize;
            for (var step = 0; step < 3; step++)
            {
                float[] Batch() => [.. Enumerable.Range(0, values).Select(_ => (float)random.NextDouble())];
                tuned.TrainStep(Batch(), Batch(), Batch(), 4, InputSize, InputSize);
            }
            var epoch1 = Path.Combine(files, "e1.ckpt");
            tuned.SaveCheckpoint(epoch1);
            var epochs = new[]
            {
                new TrainingEpoch(0, 0, 0, [], 0.40, $"{folder}epoch-0000.ckpt", "h0"),
                new TrainingEpoch(1, 3, 3, [0.5f], 0.50, $"{folder}epoch-0001.ckpt", "h1"),
            };
            await using (var e0 = File.OpenRead(epoch0))
            {
                await _workspace.Blobs.PutAsync(epochs[0].Checkpoint, e0);
            }
            await using (var e1 = File.OpenRead(epoch1))
            {
                await _workspace.Blobs.PutAsync(epochs[1].Checkpoint, e1);
            }
            var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "key", BaseVersion, "data-v1", TrainingRunOptions.Cpu, epochs,
                new TrainingTest(1, 0.6, 10, 0.5, 0.9));
            return await _registry.RegisterAsync(new TrainingResult(folder, progress, epochs[1].Checkpoint, StoppedEarly: false, []));
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private ModelRollout Rollout(IWorkQueue queue) => new(_registry, _workspace.Catalog, new QueuedRolloutSteps(_workspace.Catalog, queue, BaseSignatures, _registry.InitialVersion));

    [Fact]
    public async Task A_promotion_sends_every_image_a_job_naming_the_new_version_and_the_worker_signs_it_with_that_versions_weights()
    {
        var queue = await QueueAsync();
        using var versions = Versions();
        var signing = Signing(queue, versions);
        await IngestAsync(queue, 5);
        Assert.Equal(5, (await signing.ProcessAllAsync()).Signed);
        var version = await RegisterFineTunedAsync();

        var promotion = await Rollout(queue).PromoteAsync(version.Id);

        Assert.Equal(PromotionOutcome.Promoted, promotion.Outcome);
        var sent = await queue.ReceiveAsync(10, TimeSpan.FromSeconds(1));
        var jobs = sent.Select(m => SignatureJob.TryParse(m)!).ToArray();
        Assert.Equal(Enumerable.Range(0, 5).Select(k => $"img{k:D2}.png"), jobs.Select(j => j.ImageId).Order());
        Assert.All(jobs, j => Assert.Equal(version.Id, j.ModelVersion));
        foreach (var message in sent)
        {
            await queue.AbandonAsync(message);
        }

        var result = await signing.ProcessAllAsync();

        Assert.Equal((5, 5, 0), (result.Received, result.Signed, result.Failed));
        var tunedSignatures = SignatureVersions.Of(version.Id, BaseSignatures);
        Assert.Equal(EngineSignatureEmbedder.VersionOf(version.Id, InputSize), tunedSignatures);
        var before = await SignatureSet.LoadAsync(_workspace.Blobs, _workspace.Catalog, BaseSignatures);
        var after = await SignatureSet.LoadAsync(_workspace.Blobs, _workspace.Catalog, tunedSignatures);
        Assert.Equal(5, after.Count);
        // The new version's weights, not the base's: every image's signature moved.
        for (var k = 0; k < 5; k++)
        {
            var image = $"img{k:D2}.png";
            var similarity = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(before.Row(before.RowOf(image)!.Value), after.Row(after.RowOf(image)!.Value));
            Assert.True(similarity < 0.9999f, $"{image} signed the same under both versions");
        }
        // And the versioned signatures are the ones the fine-tuned network computes, opened as the registry stores it.
        var weights = Path.Combine(Path.GetTempPath(), $"motif-rollout-check-{Guid.NewGuid():N}.ckpt");
        try
        {
            await _registry.DownloadWeightsAsync(version.Id, weights);
            using var tuned = SignatureModel.FromCheckpoint(weights);
            var embedder = new EngineSignatureEmbedder(tuned, version.Id, InputSize);
            var derivative = await _workspace.Blobs.ReadAllBytesAsync(CollectionBlobs.Derivative((await _workspace.Catalog.GetImageAsync("img03.png"))!.ContentHash!));
            var input = new float[embedder.Preprocessing.ValuesPerImage];
            ImageCodec.PreprocessBatch([derivative], embedder.Preprocessing, input);
            var expected = new float[embedder.Dimension];
            embedder.Embed(input, 1, expected);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(expected, after.Row(after.RowOf("img03.png")!.Value)) > 0.9999f);
        }
        finally
        {
            File.Delete(weights);
        }
        Assert.Empty(await queue.PeekDeadLetteredAsync(10));
    }

    [Fact]
    public async Task The_pointer_stays_on_the_previous_version_while_any_image_lacks_a_new_signature_and_switches_after_the_last()
    {
        var queue = await QueueAsync();
        using var versions = Versions();
        var signing = Signing(queue, versions, batchSize: 1);
        await IngestAsync(queue, 3);
        await signing.ProcessAllAsync();
        var version = await RegisterFineTunedAsync();
        var rollout = Rollout(queue);
        Assert.True((await rollout.PromoteAsync(version.Id)).Promoted);

        Assert.Equal(1, (await signing.ProcessBatchAsync()).Signed);
        Assert.Equal(1, (await signing.ProcessBatchAsync()).Signed);
        var waiting = await rollout.AdvanceAsync();

        Assert.Equal((false, 1, BaseVersion, version.Id), (waiting.Switched, waiting.Unsigned, waiting.Pointer.Serving, waiting.Pointer.Pending));
        Assert.Equal(BaseVersion, (await _registry.ReadPointerAsync()).Pointer.Serving);

        Assert.Equal(1, (await signing.ProcessBatchAsync()).Signed);
        var switched = await rollout.AdvanceAsync();

        Assert.Equal((true, 0, version.Id, (string?)null, (string?)BaseVersion),
            (switched.Switched, switched.Unsigned, switched.Pointer.Serving, switched.Pointer.Pending, switched.Pointer.Previous));
        Assert.Equal(version.Id, (await _registry.ReadPointerAsync()).Pointer.Serving);
        Assert.False((await rollout.AdvanceAsync()).Switched);
    }

    [Fact]
    public async Task A_job_naming_an_unknown_or_damaged_version_is_dead_lettered_with_its_reason_and_an_unversioned_one_signs_under_the_configured_model()
    {
        var queue = await QueueAsync();
        using var versions = Versions();
        var signing = Signing(queue, versions);
        await IngestAsync(queue, 1);
        var image = (await _workspace.Catalog.GetImageAsync("img00.png"))!;
        var damaged = await RegisterFineTunedAsync();
        await _workspace.Blobs.PutAsync(damaged.Weights, new MemoryStream(RandomNumberGenerator.GetBytes(64)));
        await queue.SendAsync(SignatureJob.For(image.ImageId, image.ContentHash!, "checkpoint:0123456789abcdef").ToMessage());
        await queue.SendAsync(SignatureJob.For(image.ImageId, image.ContentHash!, damaged.Id).ToMessage());

        var result = await signing.ProcessAllAsync();

        Assert.Equal((3, 1, 2), (result.Received, result.Signed, result.Failed));
        Assert.NotNull(await _workspace.Catalog.GetSignatureAsync(BaseSignatures, image.ContentHash!));
        var dead = await queue.PeekDeadLetteredAsync(10);
        Assert.Equal(["model-version-unloadable", "unknown-model-version"], dead.Select(d => d.Reason).Order());
        Assert.Contains("checkpoint:0123456789abcdef", dead.Single(d => d.Reason == "unknown-model-version").Description);
        Assert.Contains("damaged or were replaced", dead.Single(d => d.Reason == "model-version-unloadable").Description);
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void The_registrys_packaged_version_is_the_engines()
    {
        Assert.Equal(ModelRegistry.PackagedVersion, SignatureModels.VersionOf(SignatureModels.PackagedResNet50));
        Assert.Equal(SignatureModels.VersionOf(SignatureModels.PackagedResNet50), ModelRegistry.ForWorkspace(_workspace.Blobs).InitialVersion);
        Assert.Equal(EngineSignatureEmbedder.VersionOf("checkpoint:0123456789abcdef", 224, Precision.BFloat16),
            SignatureVersions.Of("checkpoint:0123456789abcdef", EngineSignatureEmbedder.VersionOf(ModelRegistry.PackagedVersion, 224, Precision.BFloat16)));
    }

    private sealed class TinyEmbedders : ISignatureEmbedderFactory
    {
        public (ISignatureEmbedder Embedder, IDisposable Owner) Open(string version, string weightsFile)
        {
            var model = SignatureModel.FromCheckpoint(weightsFile);
            return (new EngineSignatureEmbedder(model, version, InputSize), model);
        }
    }
}
