using Motif.Core.Evaluation;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline.Tests.Training;

/// <summary>The training loop on a tiny real network (the engine's smallest ResNet family) and on a trainer that learns nothing.</summary>
public sealed class TrainingServiceTests
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";

    /// <summary>Big enough steps for the tiny network to learn the pairs in a few epochs; every stage trains. The margin is
    /// wide enough that the random network's triplets are not already satisfied (at the replica's 0.01 the loss starts at 0).</summary>
    private static readonly TrainingRunOptions Quick = new()
    {
        Epochs = 4, BatchSize = 4, LearningRate = 1e-3, Margin = 0.2, FrozenStages = 0, InputSize = 32, Patience = 10, NegativesPerPair = 2, NearestCandidates = 4,
    };

    [Fact]
    public async Task The_loss_goes_down_each_epoch_leaves_a_checkpoint_and_only_the_training_part_is_mined()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        using var model = SignatureModel.Create(Tiny);
        var service = new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick);
        var reports = new List<TrainingEpochReport>();
        var storedWhenReported = new List<bool>();
        void Reported(TrainingEpochReport report)
        {
            reports.Add(report);
            storedWhenReported.Add(fixture.Workspace.Blobs.GetPropertiesAsync(report.Epoch.Checkpoint).GetAwaiter().GetResult() is not null);
        }

        var result = await service.RunAsync(fixture.Truth, "tiny-base", new Synchronous<TrainingEpochReport>(Reported));

        var epochs = result.Progress.Epochs;
        Assert.Equal([0, 1, 2, 3, 4], epochs.Select(e => e.Epoch));
        Assert.True(epochs[1].MeanLoss > 0, "the first epoch has something to learn");
        Assert.True(epochs[^1].MeanLoss < epochs[1].MeanLoss, $"mean loss per epoch: {string.Join(", ", epochs.Skip(1).Select(e => e.MeanLoss))}");
        // Each epoch's checkpoint was stored by the time the epoch was reported; in the end only the best and the last stay.
        Assert.Equal([true, true, true, true, true], storedWhenReported);
        var stored = (await fixture.Workspace.Blobs.ListAsync(result.Folder)).Items.Select(b => b.Name[result.Folder.Length..]).ToHashSet();
        var kept = new[] { result.Progress.Best.Epoch, 4 }.Select(e => $"epoch-{e:D4}.ckpt").ToHashSet();
        Assert.Equal(kept, stored.Where(n => n.EndsWith(".ckpt", StringComparison.Ordinal)).ToHashSet());
        Assert.Superset(new HashSet<string> { "progress.json", TrainingCurves.LossSvg, TrainingCurves.ValidationMapSvg }, stored);
        Assert.StartsWith("models/", result.Folder);
        Assert.Equal(result.Progress.Best.Checkpoint, result.BestCheckpoint);
        Assert.NotNull(result.Progress.Test);
        Assert.InRange(result.Progress.Test!.MeanAveragePrecision, 0, 1);
        Assert.True(result.Progress.Test.Queries > 0);
        Assert.Contains("<polyline", await fixture.Workspace.ReadTextAsync(result.Folder + TrainingCurves.LossSvg));

        // Every image of every mined triplet is in the training part: validation and test never train, not even as negatives.
        var mined = reports.SelectMany(r => r.MinedTriplets).ToArray();
        Assert.NotEmpty(mined);
        Assert.All(mined.SelectMany(t => new[] { t.Anchor, t.Positive, t.Negative }), id => Assert.Equal(SplitPart.Train, fixture.Truth.Split.PartOf(id)));
        Assert.Contains(fixture.Truth.Duplicates.Merged.Images, id => fixture.Truth.Split.PartOf(id) == SplitPart.Test);

        // The checkpoint carries the run's metadata.
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, await fixture.Workspace.Blobs.ReadAllBytesAsync(result.Folder + "epoch-0004.ckpt"));
        using var metadata = System.Text.Json.JsonDocument.Parse(SignatureModel.ReadCheckpointMetadata(file));
        File.Delete(file);
        var user = metadata.RootElement.GetProperty("user");
        Assert.Equal("tiny-base", user.GetProperty("parentVersion").GetString());
        Assert.Equal(fixture.Truth.DataVersion, user.GetProperty("dataVersion").GetString());
        Assert.Equal(4, user.GetProperty("epoch").GetInt32());
        Assert.Equal(5, user.GetProperty("validationMap").GetArrayLength());
        Assert.Equal(0.2, user.GetProperty("hyperParameters").GetProperty("margin").GetDouble());
    }

    [Fact]
    public async Task A_run_cancelled_mid_epoch_resumes_from_its_last_checkpoint_and_ends_with_the_same_weights()
    {
        string[] uninterrupted;
        using (var fixture = await TrainingFixture.CreateAsync())
        using (var model = SignatureModel.Create(Tiny))
        {
            var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick)
                .RunAsync(fixture.Truth, "tiny-base");
            uninterrupted = [.. result.Progress.Epochs.Select(e => e.WeightsHash)];
        }

        using var again = await TrainingFixture.CreateAsync();
        using (var model = SignatureModel.Create(Tiny))
        using (var cancel = new CancellationTokenSource())
        {
            // Cancel in the third epoch's steps: epochs 0-2 are stored, the third is not.
            var trainer = new CancellingTrainer(new EngineSignatureTrainer(model, "tiny", 32), cancel);
            var service = new TrainingService(again.Workspace.Blobs, again.Workspace.Catalog, trainer, Quick);
            var reports = new List<TrainingEpochReport>();
            trainer.CancelAt = () => reports.Count == 3;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                service.RunAsync(again.Truth, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add), cancel.Token));
            var stored = await service.ReadProgressAsync(TrainingRunFolder(again));
            Assert.Equal([0, 1, 2], stored!.Epochs.Select(e => e.Epoch));
            Assert.Null(stored.Test);
        }
        using (var model = SignatureModel.Create(Tiny))
        {
            var reports = new List<TrainingEpochReport>();
            var resumed = await new TrainingService(again.Workspace.Blobs, again.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick)
                .RunAsync(again.Truth, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add));
            Assert.Equal([true, true, true, false, false], reports.Select(r => r.Resumed));
            Assert.Equal(uninterrupted, resumed.Progress.Epochs.Select(e => e.WeightsHash));
        }
    }

    [Fact]
    public async Task Training_stops_after_patience_epochs_without_a_better_validation_map_and_keeps_the_best()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var trainer = new StillTrainer();
        var options = new TrainingRunOptions { Epochs = 10, BatchSize = 3, InputSize = 32, Patience = 2, NegativesPerPair = 2 };

        var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, trainer, options).RunAsync(fixture.Truth, "still");

        // Nothing is learnt, so no epoch beats the base model: two epochs without improvement, then stop.
        Assert.Equal([0, 1, 2], result.Progress.Epochs.Select(e => e.Epoch));
        Assert.True(result.StoppedEarly);
        Assert.Equal(0, result.Progress.Best.Epoch);
        Assert.Equal(0, result.Progress.Test!.Epoch);
        Assert.All(trainer.BatchSizes, n => Assert.InRange(n, 1, 3));

        // A rerun of the finished run trains nothing and returns the stored record.
        var steps = trainer.Steps;
        var rerun = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, trainer, options).RunAsync(fixture.Truth, "still");
        Assert.Equal(steps, trainer.Steps);
        Assert.Equal(result.Progress.Epochs.Select(e => e.WeightsHash), rerun.Progress.Epochs.Select(e => e.WeightsHash));
    }

    [Fact]
    public async Task The_contrastive_loss_trains_each_triplet_as_two_pairs()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var trainer = new StillTrainer();
        var options = new TrainingRunOptions { Epochs = 1, BatchSize = 3, InputSize = 32, Loss = SignatureLoss.Contrastive, NegativesPerPair = 1 };

        await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, trainer, options).RunAsync(fixture.Truth, "still");

        Assert.Equal(6, trainer.BatchSizes[0]);
    }

    [Fact]
    public async Task A_ground_truth_without_training_pairs_is_refused_with_a_reason()
    {
        using var fixture = await TrainingFixture.CreateAsync(withEdges: false);
        // Only SIMILAR edges: no component, no pair. GroundTruth still loads (the CSV is there).
        var service = new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32 });

        var refused = await Assert.ThrowsAsync<TrainingRefusedException>(() => service.RunAsync(fixture.Truth, "still"));

        Assert.Contains("no positive pair", refused.Message);
        Assert.Empty((await fixture.Workspace.Blobs.ListAsync("models/")).Items);
    }

    [Fact]
    public void Options_out_of_range_and_a_trainer_of_another_input_size_are_refused()
    {
        using var blobs = new LocalFolderBlobStore(Directory.CreateTempSubdirectory().FullName);
        var catalog = new SqliteImageCatalog(Path.Combine(Path.GetTempPath(), $"motif-{Guid.NewGuid():N}.db"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32, Epochs = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32, LearningRate = double.NaN }));
        Assert.Throws<ArgumentException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 64 }));
        catalog.Dispose();
    }

    private static string TrainingRunFolder(TrainingFixture fixture) =>
        CollectionBlobs.TrainingRun(TrainingService.RunKey("tiny-base", fixture.Truth.DataVersion, Quick));

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, too late to assert on).</summary>
    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Cancels its token at the first step taken while <see cref="CancelAt"/> holds, after that step.</summary>
    private sealed class CancellingTrainer(ISignatureTrainer inner, CancellationTokenSource cancel) : ISignatureTrainer
    {
        public Func<bool> CancelAt { get; set; } = () => false;

        public string ModelVersion => inner.ModelVersion;

        public int Dimension => inner.Dimension;

        public PreprocessSpec Preprocessing => inner.Preprocessing;

        public void Configure(SignatureTrainingSettings settings) => inner.Configure(settings);

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) => inner.Embed(images, count, signatures);

        public float TrainTriplets(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count)
        {
            var loss = inner.TrainTriplets(anchors, positives, negatives, count);
            if (CancelAt())
            {
                cancel.Cancel();
            }
            return loss;
        }

        public float TrainPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count) => inner.TrainPairs(first, second, same, count);

        public string SaveCheckpoint(string path, string userMetadataJson) => inner.SaveCheckpoint(path, userMetadataJson);

        public void LoadCheckpoint(string path) => inner.LoadCheckpoint(path);
    }
}
