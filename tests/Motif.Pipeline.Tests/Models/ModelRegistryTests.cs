using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Motif.Engine;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Tests;

namespace Motif.Pipeline.Tests.Models;

/// <summary>The registry's records, weights and pointer, the promotion rules and the rollout's switch, on a folder blob
/// store and a SQLite catalog, with training results made by hand (the registry only reads what a run stored).</summary>
public sealed class ModelRegistryTests : IDisposable
{
    private const string Base = "resnet50-imagenet@1.0.4";
    private readonly TempFolder _folder = new();
    private readonly LocalFolderBlobStore _blobs;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero));
    private int _runs;

    public ModelRegistryTests() => _blobs = new LocalFolderBlobStore(_folder.Combine("blobs"));

    public void Dispose() => _folder.Dispose();

    /// <summary>A finished run stored as TrainingService stores it: a checkpoint per kept epoch (random bytes), validation
    /// mAP per epoch, the test of the best epoch.</summary>
    private async Task<TrainingResult> RunAsync(string parent, params double[] validation)
    {
        var folder = CollectionBlobs.TrainingRun($"run-{_runs++}");
        var epochs = validation.Select((map, e) => new TrainingEpoch(e, e * 3, e == 0 ? 0 : 12, e == 0 ? [] : [0.5f], map, $"{folder}epoch-{e:D4}.ckpt", $"hash-{e}")).ToArray();
        foreach (var epoch in epochs)
        {
            await _blobs.PutAsync(epoch.Checkpoint, new MemoryStream(RandomNumberGenerator.GetBytes(1000)));
        }
        var best = TrainingProgress.BestOf(epochs);
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "key", parent, "data-v1", TrainingRunOptions.Cpu with { Seed = _runs }, epochs,
            new TrainingTest(best.Epoch, 0.5 + best.ValidationMap / 10, 20, 0.4, 0.9));
        return new TrainingResult(folder, progress, best.Checkpoint, StoppedEarly: false, []);
    }

    private ModelRegistry Registry(IBlobStore? blobs = null) => new(blobs ?? _blobs, Base, _time);

    [Fact]
    public async Task A_run_registers_its_best_epoch_with_weights_named_by_their_hash_once()
    {
        var run = await RunAsync(Base, 0.30, 0.35, 0.42, 0.40);
        var registry = Registry();

        var record = await registry.RegisterAsync(run);

        var checkpoint = await _blobs.ReadAllBytesAsync(run.Progress.Epochs[2].Checkpoint);
        Assert.Equal(ModelRegistry.VersionIdOf(SHA256.HashData(checkpoint)), record.Id);
        Assert.Equal(checkpoint, await _blobs.ReadAllBytesAsync(record.Weights));
        Assert.Equal((Base, "data-v1", run.Progress.Options, run.Folder, "hash-2"), (record.Parent, record.DataVersion, record.HyperParameters, record.TrainingRun, record.WeightsHash));
        Assert.Equal(new ModelVersionMetrics(2, 0.42, 0.30, 0.5 + 0.042, 20), record.Metrics);
        Assert.Equal(_time.GetUtcNow(), record.CreatedAt);

        // Registering the same run again (a rerun after a kill, a redelivered job) finds the version, unchanged.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(record, await registry.RegisterAsync(run));
        Assert.Equal([record], await registry.ListAsync());
        Assert.Equal(record, await registry.GetAsync(record.Id));
        Assert.Null(await registry.GetAsync("checkpoint:0000000000000000"));
    }

    /// <summary>A run whose kept projection was fitted on its base (epoch 0, the best): the version is the projected
    /// checkpoint (the id is its hash, not the base's), with the projection's validation mAP, so it improves on its
    /// parent; its record names the projection; and a fit-only run (no trained epoch) registers too.</summary>
    [Fact]
    public async Task A_run_with_a_kept_projection_registers_the_projected_checkpoint()
    {
        foreach (var validation in new[] { new[] { 0.50, 0.45 }, new[] { 0.50 } })
        {
            var run = await RunAsync(Base, validation);
            var projected = $"{run.Folder}projected-epoch-0000.ckpt";
            await _blobs.PutAsync(projected, new MemoryStream(RandomNumberGenerator.GetBytes(1000)));
            var projection = new TrainingProjection(0, 0.5, 2048, 480, 0.61, projected, 3.5);
            run = run with { Progress = run.Progress with { Projection = projection }, BestCheckpoint = projected };

            var record = await Registry().RegisterAsync(run);

            Assert.Equal(ModelRegistry.VersionIdOf(SHA256.HashData(await _blobs.ReadAllBytesAsync(projected))), record.Id);
            Assert.Equal(new ModelVersionMetrics(0, 0.61, 0.50, 0.5 + 0.050, 20), record.Metrics);
            Assert.True(record.Metrics.Improves);
            Assert.Equal(projection, record.Projection);
            Assert.Equal(record, await Registry().GetAsync(record.Id));
        }
        // Without a projection a fit-only run has nothing to register.
        await Assert.ThrowsAsync<ArgumentException>(async () => await Registry().RegisterAsync(await RunAsync(Base, 0.50)));
    }

    [Fact]
    public async Task When_no_epoch_beats_the_base_the_last_epoch_is_registered_without_a_test_score()
    {
        var run = await RunAsync(Base, 0.50, 0.45, 0.48);

        var record = await Registry().RegisterAsync(run);

        Assert.Equal(new ModelVersionMetrics(2, 0.48, 0.50, null, null), record.Metrics);
        Assert.False(record.Metrics.Improves);
    }

    [Fact]
    public async Task A_killed_registration_leaves_no_record_and_a_rerun_completes_it()
    {
        var run = await RunAsync(Base, 0.3, 0.4);
        var dying = new InterceptedBlobStore(_blobs, name => name.EndsWith("record.json", StringComparison.Ordinal)
            ? throw new IOException("killed") : Task.CompletedTask);

        await Assert.ThrowsAsync<IOException>(() => Registry(dying).RegisterAsync(run));
        Assert.Empty(await Registry().ListAsync());
        Assert.Equal(Base, (await Registry().ReadPointerAsync()).Pointer.Serving);

        var record = await Registry().RegisterAsync(run);
        Assert.Equal([record], await Registry().ListAsync());
    }

    [Fact]
    public async Task A_version_is_promoted_only_when_it_beats_the_serving_version_it_was_trained_from()
    {
        var registry = Registry();
        var worse = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.38));
        var better = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.45));
        var alsoBetter = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.50));
        var fromElsewhere = await registry.RegisterAsync(await RunAsync("checkpoint:ffffffffffffffff", 0.40, 0.60));

        var refused = await registry.PromoteAsync(worse.Id);
        Assert.Equal(PromotionOutcome.NotBetter, refused.Outcome);
        Assert.Contains("does not improve", refused.Reason);

        var stale = await registry.PromoteAsync(fromElsewhere.Id);
        Assert.Equal(PromotionOutcome.Stale, stale.Outcome);
        Assert.Contains($"{Base} serves now", stale.Reason);

        var promoted = await registry.PromoteAsync(better.Id);
        Assert.True(promoted.Promoted, promoted.Reason);
        var (pointer, _) = await registry.ReadPointerAsync();
        // Pending, not serving: the base serves until the new signatures are complete.
        Assert.Equal((Base, better.Id), (pointer.Serving, pointer.Pending));
        Assert.Equal(ModelVersionState.Pending, ModelRegistry.StateOf(better.Id, pointer));

        Assert.Equal(PromotionOutcome.AlreadyPromoted, (await registry.PromoteAsync(better.Id)).Outcome);
        var underway = await registry.PromoteAsync(alsoBetter.Id);
        Assert.Equal(PromotionOutcome.RolloutUnderway, underway.Outcome);
        Assert.Contains(better.Id, underway.Reason);

        // Refused versions stay registered candidates.
        Assert.Equal(4, (await registry.ListAsync()).Count);
        Assert.All(new[] { worse, alsoBetter, fromElsewhere }, r => Assert.Equal(ModelVersionState.Candidate, ModelRegistry.StateOf(r.Id, pointer)));
        await Assert.ThrowsAsync<ArgumentException>(() => registry.PromoteAsync("checkpoint:0123456789abcdef"));
    }

    [Fact]
    public async Task Of_two_promotions_that_read_the_same_pointer_only_one_wins()
    {
        var registry = Registry();
        var first = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.45));
        var second = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.50));
        // The second promotion reads the pointer, then the first writes it before the second's write.
        var racing = Registry(new InterceptedBlobStore(_blobs, InterceptedBlobStore.Once(async () => Assert.True((await registry.PromoteAsync(first.Id)).Promoted))));

        var late = await racing.PromoteAsync(second.Id);

        Assert.Equal(PromotionOutcome.RolloutUnderway, late.Outcome);
        Assert.Equal(first.Id, (await registry.ReadPointerAsync()).Pointer.Pending);
    }

    [Fact]
    public async Task The_rollout_switches_only_once_every_image_is_signed_then_reclusters_and_old_runs_become_stale()
    {
        using var catalog = new SqliteImageCatalog(_folder.Combine("catalog.db"));
        var hashes = Enumerable.Range(0, 3).Select(i => Convert.ToHexStringLower(SHA256.HashData([(byte)i]))).ToArray();
        foreach (var (hash, i) in hashes.Select((h, i) => (h, i)))
        {
            await catalog.PutImageAsync(new ImageRecord($"img-{i}", "s", hash, 1, ImageStatus.Accepted, null, null, "jpeg", 1, 1, DateTimeOffset.UnixEpoch));
        }
        var registry = Registry();
        var steps = new RecordingSteps();
        var rollout = new ModelRollout(registry, catalog, steps);
        var oldRun = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.41));
        var next = await registry.RegisterAsync(await RunAsync(Base, 0.40, 0.45));

        Assert.Equal(new RolloutStatus((await registry.ReadPointerAsync()).Pointer, false, 0), await rollout.AdvanceAsync());
        Assert.True((await rollout.PromoteAsync(next.Id)).Promoted);
        Assert.Equal([next.Id], steps.Resigned);

        // Two of three signed: the base still serves.
        await catalog.AddSignaturesAsync(hashes[..2].Select((h, row) => new SignatureLocation(steps.SignatureVersionOf(next.Id), h, "shard", row)).ToArray());
        var waiting = await rollout.AdvanceAsync();
        Assert.Equal((false, 1, Base), (waiting.Switched, waiting.Unsigned, waiting.Pointer.Serving));
        Assert.Empty(steps.Reclustered);

        // The third cannot be signed (a recorded failure): the rollout does not wait for it forever.
        await catalog.RecordSignatureFailureAsync(steps.SignatureVersionOf(next.Id), hashes[2], "undecodable", "broken");
        var switched = await rollout.AdvanceAsync();
        Assert.True(switched.Switched);
        Assert.Equal(new ServingPointer(next.Id, null, Base, _time.GetUtcNow()), switched.Pointer);
        Assert.Equal([next.Id], steps.Reclustered);

        // Advancing again does nothing more; a version trained from the old base is now stale.
        Assert.False((await rollout.AdvanceAsync()).Switched);
        Assert.Equal([next.Id], steps.Reclustered);
        Assert.Equal(PromotionOutcome.Stale, (await rollout.PromoteAsync(oldRun.Id)).Outcome);
        Assert.Equal(ModelVersionState.Serving, ModelRegistry.StateOf(next.Id, switched.Pointer));
    }

    [Fact]
    public async Task Downloaded_weights_open_under_the_version_id_and_damaged_weights_are_refused()
    {
        var registry = Registry();
        var record = await registry.RegisterAsync(await RunAsync(Base, 0.3, 0.4));
        var file = _folder.Combine("weights.ckpt");

        await registry.DownloadWeightsAsync(record.Id, file);
        // The id the hosts compute for the file they open is the registry's id: signatures keyed by either agree.
        Assert.Equal(record.Id, SignatureModels.VersionOf(file));

        await _blobs.PutAsync(record.Weights, new MemoryStream([1, 2, 3]));
        var damaged = await Assert.ThrowsAsync<InvalidDataException>(() => registry.DownloadWeightsAsync(record.Id, file));
        Assert.Contains("damaged or were replaced", damaged.Message);
        Assert.Equal(record.Id, SignatureModels.VersionOf(file));   // the good copy is left as it was
    }

    [Fact]
    public async Task A_damaged_pointer_or_record_is_an_error_not_a_silent_default()
    {
        var registry = Registry();
        var record = await registry.RegisterAsync(await RunAsync(Base, 0.3, 0.4));
        await _blobs.PutAsync(ModelRegistry.PointerBlob, new MemoryStream("{not json"u8.ToArray()));
        await Assert.ThrowsAsync<InvalidDataException>(() => registry.ReadPointerAsync());
        await _blobs.PutAsync(ModelRegistry.FolderOf(record.Id) + "record.json", new MemoryStream("[]"u8.ToArray()));
        await Assert.ThrowsAsync<InvalidDataException>(() => registry.GetAsync(record.Id));
    }

    private sealed class RecordingSteps : IModelRolloutSteps
    {
        public List<string> Resigned { get; } = [];

        public List<string> Reclustered { get; } = [];

        public string SignatureVersionOf(string modelVersion) => modelVersion + " 224px";

        public Task<int> EnqueueResigningAsync(string modelVersion, CancellationToken cancellationToken)
        {
            Resigned.Add(modelVersion);
            return Task.FromResult(3);
        }

        public Task RequestReclusterAsync(string modelVersion, CancellationToken cancellationToken)
        {
            Reclustered.Add(modelVersion);
            return Task.CompletedTask;
        }
    }
}
