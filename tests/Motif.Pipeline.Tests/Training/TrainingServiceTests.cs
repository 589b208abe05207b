using Motif.Core.Evaluation;
using Motif.Engine;
using Motif.Imaging;
using Motif.Imaging.Derivations;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Core.Training;
using Motif.Testing;

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
    public void Reproduced_details_are_part_of_a_runs_identity_only_when_asked_for()
    {
        // Off, the option is not written: a run stored before it existed keeps its key and resumes.
        Assert.DoesNotContain("reproducedDetails", System.Text.Json.JsonSerializer.Serialize(Quick, TrainingService.Json), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TrainingService.RunKey("tiny-base", "v1", Quick), TrainingService.RunKey("tiny-base", "v1", Quick with { ReproducedDetails = false }));
        Assert.NotEqual(TrainingService.RunKey("tiny-base", "v1", Quick), TrainingService.RunKey("tiny-base", "v1", Quick with { ReproducedDetails = true }));
    }

    [Fact]
    public void Whitening_is_on_by_default_and_only_turning_it_off_changes_a_runs_identity()
    {
        // On (the default), nothing is written: a run stored before the projection existed keeps its key and resumes.
        Assert.True(Quick.Whiten);
        var json = System.Text.Json.JsonSerializer.Serialize(Quick, TrainingService.Json);
        Assert.DoesNotContain("whiten", json, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TrainingService.RunKey("tiny-base", "v1", Quick), TrainingService.RunKey("tiny-base", "v1", Quick with { Whiten = true }));
        var off = Quick with { Whiten = false };
        Assert.NotEqual(TrainingService.RunKey("tiny-base", "v1", Quick), TrainingService.RunKey("tiny-base", "v1", off));
        // Off survives the record's round trip (progress.json stores the options).
        var stored = System.Text.Json.JsonSerializer.Deserialize<TrainingRunOptions>(System.Text.Json.JsonSerializer.Serialize(off, TrainingService.Json), TrainingService.Json)!;
        Assert.False(stored.Whiten);
        Assert.Equal(off, stored);
        // Zero epochs (fit only) only with the projection: otherwise the run would do nothing.
        (Quick with { Epochs = 0 }).Validate();
        Assert.Throws<ArgumentOutOfRangeException>(() => (off with { Epochs = 0 }).Validate());
    }

    /// <summary>A run without labels that only fits the projection (0 epochs) on the tiny random network: fitted at both
    /// powers and validated, neither beats the network alone here (validation 0.39), so none is kept, nothing projected
    /// is stored and the result is the base's checkpoint. The kept path's parts are tested where they live: the engine
    /// applying a checkpoint's projection (SignatureModelTests), the registry registering a projected checkpoint
    /// (ModelRegistryTests).</summary>
    [Fact]
    public async Task A_projection_that_does_not_validate_better_is_not_kept()
    {
        using var fixture = await TrainingFixture.CreateAsync(withMorphograph: false);
        using var model = SignatureModel.Create(Tiny);
        var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32),
            Quick with { Epochs = 0 }).RunAsync(null, "tiny-base");

        var network = Assert.Single(result.Progress.Epochs);
        Assert.Null(result.Progress.Projection);
        Assert.Equal(network.Checkpoint, result.BestCheckpoint);
        var stored = (await fixture.Workspace.Blobs.ListAsync(result.Folder)).Items.Select(b => b.Name[result.Folder.Length..]).ToArray();
        Assert.DoesNotContain(stored, n => n.StartsWith("projected-", StringComparison.Ordinal));
        Assert.NotNull(result.Progress.Test);
        // A record without a projection has no projection field, as records written before it existed.
        Assert.DoesNotContain("projection", System.Text.Json.JsonSerializer.Serialize(result.Progress, TrainingService.Json), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The projection is fitted, chosen and tested at the signing size, not the training size: at 48 px every
    /// embedding after the network's own epochs (the collection, the validation copies, once for all the candidates, the
    /// fit's copies, the test's copies) runs at 48, and the 32 px network then embeds only what the epochs need (epoch
    /// 0's collection and validation copies, the best epoch's collection). Counted against a run fitted at the training
    /// size, whose epochs embed the same and which then embeds the rest at 32 but the collection (the best epoch's is at
    /// hand): count(48) = count(32, fitted at 32) − its epochs' count + the collection. Fails if any of the fit's
    /// embeddings stays at the training size.</summary>
    [Fact]
    public async Task The_projection_is_fitted_validated_and_tested_at_the_signing_size()
    {
        using var fixture = await TrainingFixture.CreateAsync(withMorphograph: false);
        using var model = SignatureModel.Create(Tiny);
        var images = (await fixture.Workspace.Catalog.ListImagesAsync()).Count;

        var atTraining = new CountingTrainer(new EngineSignatureTrainer(model, "tiny", 32));
        var same = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, atTraining, Quick with { Epochs = 0 }).RunAsync(null, "tiny-base");
        var atSigning = new CountingTrainer(new EngineSignatureTrainer(model, "tiny", 32));
        var signed = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, atSigning, Quick with { Epochs = 0, SigningSize = 48 })
            .RunAsync(null, "tiny-base");

        Assert.Equal([32], atTraining.Embedded.Keys);
        Assert.Equal([32, 48], atSigning.Embedded.Keys.Order());
        Assert.Equal(atTraining.Embedded[32] - atSigning.Embedded[32] + images, atSigning.Embedded[48]);
        Assert.True(atSigning.Embedded[32] < atTraining.Embedded[32] / 2, $"32 px embedded {atSigning.Embedded[32]} of {atTraining.Embedded[32]}");
        // The same held-out copies are tested, rendered at the other size; the size is part of the run's identity.
        Assert.Equal(same.Progress.Test!.Queries, signed.Progress.Test!.Queries);
        Assert.NotEqual(same.Folder, signed.Folder);
        Assert.Throws<ArgumentOutOfRangeException>(() => (Quick with { SigningSize = 16 }).Validate());
    }

    /// <summary>With a morphograph, the curated POSITIVE pairs whose two ends are in the training part are the ones the
    /// projection's fit takes (SyntheticData.CuratedPairs, which FitProjectionAsync appends to the synthetic pairs), and
    /// no pair of a validation or test component is (the fixture splits its 16 families by component, half to
    /// training). The run itself keeps no projection on these fixtures (StillTrainer's validation does not improve), so
    /// the recorded count (TrainingProjection.CuratedPairs) is not asserted here.</summary>
    [Fact]
    public async Task Curated_positive_pairs_of_the_training_part_join_the_projections_fit_and_held_out_ones_never_do()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var truth = fixture.Truth!;
        var ids = (await fixture.Workspace.Catalog.ListImagesAsync()).Select(i => i.ImageId).Order(StringComparer.Ordinal).ToArray();
        var data = new SyntheticData(truth, ids, new Dictionary<string, byte[]>(), new StillTrainer().Preprocessing, new SyntheticTripletOptions(1, 2, 4), 1,
            DerivationSampler.Kinds);

        var pairs = data.CuratedPairs.Select(p => (ids[p.First], ids[p.Second])).ToArray();
        var training = truth.Split.ImagesOf(SplitPart.Train).ToHashSet(StringComparer.Ordinal);
        var trainingFamilies = Enumerable.Range(0, TrainingFixture.Families).Count(k => training.Contains($"f{k:D2}a.png") && training.Contains($"f{k:D2}b.jpg"));
        Assert.InRange(trainingFamilies, 1, TrainingFixture.Families - 2);
        Assert.Equal(trainingFamilies, pairs.Length);
        Assert.All(pairs, p => Assert.True(training.Contains(p.Item1) && training.Contains(p.Item2), $"{p} is not of the training part"));
        Assert.All(pairs, p => Assert.Equal(p.Item1[..3], p.Item2[..3]));
    }

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
        // Curated pairs and synthetic copies train together (the copies' positive is the anchor itself, copied).
        Assert.Contains(mined, t => t.Derivation is null);
        Assert.Contains(mined, t => t.Derivation is not null && t.Positive == t.Anchor);
        Assert.All(mined.SelectMany(t => new[] { t.Anchor, t.Positive, t.Negative }), id => Assert.Equal(SplitPart.Train, fixture.Truth!.Split.PartOf(id)));
        Assert.Contains(fixture.Truth!.Duplicates.Merged.Images, id => fixture.Truth!.Split.PartOf(id) == SplitPart.Test);

        // The checkpoint carries the run's metadata.
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, await fixture.Workspace.Blobs.ReadAllBytesAsync(result.Folder + "epoch-0004.ckpt"));
        using var metadata = System.Text.Json.JsonDocument.Parse(SignatureModel.ReadCheckpointMetadata(file));
        // Every checkpoint carries the details its version signs (the default grid of 2: the four corners).
        using (var version = SignatureModel.FromCheckpoint(file))
        {
            Assert.Equal((new SignatureDetails(2), 5), (version.Details, version.SignatureParts));
        }
        File.Delete(file);
        var user = metadata.RootElement.GetProperty("user");
        Assert.Equal("tiny-base", user.GetProperty("parentVersion").GetString());
        Assert.Equal(fixture.Truth!.DataVersion, user.GetProperty("dataVersion").GetString());
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
    public async Task Without_labels_it_trains_on_synthetic_copies_of_the_training_part_and_validates_on_held_out_copies()
    {
        using var fixture = await TrainingFixture.CreateAsync(withMorphograph: false);
        using var model = SignatureModel.Create(Tiny);
        var reports = new List<TrainingEpochReport>();

        var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick)
            .RunAsync(null, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add));

        var epochs = result.Progress.Epochs;
        Assert.Equal([0, 1, 2, 3, 4], epochs.Select(e => e.Epoch));
        Assert.True(epochs[1].MeanLoss > 0, "the first epoch has something to learn");
        // It learns: retrieving held-out images from copies of them, which it never trained on, gets better. (The loss
        // itself need not fall epoch on epoch here: each epoch trains on new copies against negatives mined harder
        // under the improved weights; on this fixture it went 0.65, 0.46, 0.83, 0.66 while validation rose.)
        var ids = (await fixture.Workspace.Catalog.ListImagesAsync()).Select(i => i.ImageId).ToArray();
        var curve = string.Join(", ", epochs.Select(e => e.ValidationMap.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(result.Progress.Best.Epoch > 0 && result.Progress.Best.ValidationMap >= epochs[0].ValidationMap + 0.05, $"validation mAP per epoch: {curve}");
        Assert.StartsWith("unlabelled-", result.Progress.DataVersion);
        Assert.All(epochs, e => Assert.InRange(e.ValidationMap, 0, 1));
        // Several hard copies of each held-out image are ranked, each with a margin that orders epochs of equal mAP.
        var testImages = ids.Count(id => MorphographSplit.HashedPart(id, SplitRatios.Research) == SplitPart.Test);
        Assert.InRange(result.Progress.Test!.Queries, testImages + 1, 4 * testImages);
        Assert.All(epochs, e => Assert.False(double.IsNaN(e.ValidationMargin), $"epoch {e.Epoch} has no margin"));
        Assert.True(epochs[0].ValidationMap < 1, "epoch 0 does not saturate validation");
        Assert.InRange(result.Progress.Test.MeanAveragePrecision, 0, 1);

        // Every triplet is an image, a copy of it and another image, all three of the training part: the images held
        // out for validation and test (fixed by their ids) never train, as anchors, copies or negatives.
        var heldOut = ids.Where(id => MorphographSplit.HashedPart(id, SplitRatios.Research) != SplitPart.Train).ToHashSet();
        Assert.NotEmpty(heldOut);
        var mined = reports.Where(r => !r.Resumed).SelectMany(r => r.MinedTriplets).ToArray();
        Assert.NotEmpty(mined);
        Assert.All(mined, t => Assert.Equal(t.Anchor, t.Positive));
        Assert.All(mined, t => Assert.NotNull(t.Derivation));
        Assert.DoesNotContain(mined.SelectMany(t => new[] { t.Anchor, t.Negative }), heldOut.Contains);
        // Each epoch draws new copies: its own derivation seed.
        var seeds = reports.Where(r => r.Epoch.Epoch > 0).Select(r => r.MinedTriplets.Select(t => t.Derivation!.Value.Seed).Distinct().Single()).ToArray();
        Assert.Equal(seeds.Length, seeds.Distinct().Count());
    }

    [Fact]
    public async Task Without_labels_a_run_cancelled_mid_epoch_resumes_with_the_same_copies_and_ends_with_the_same_weights()
    {
        string[] uninterrupted;
        MinedTriplet[][] uninterruptedTriplets;
        using (var fixture = await TrainingFixture.CreateAsync(withMorphograph: false))
        using (var model = SignatureModel.Create(Tiny))
        {
            var reports = new List<TrainingEpochReport>();
            var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick)
                .RunAsync(null, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add));
            uninterrupted = [.. result.Progress.Epochs.Select(e => e.WeightsHash)];
            uninterruptedTriplets = [.. reports.Select(r => r.MinedTriplets.ToArray())];
        }

        using var again = await TrainingFixture.CreateAsync(withMorphograph: false);
        using (var model = SignatureModel.Create(Tiny))
        using (var cancel = new CancellationTokenSource())
        {
            var trainer = new CancellingTrainer(new EngineSignatureTrainer(model, "tiny", 32), cancel);
            var reports = new List<TrainingEpochReport>();
            trainer.CancelAt = () => reports.Count == 3;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                new TrainingService(again.Workspace.Blobs, again.Workspace.Catalog, trainer, Quick)
                    .RunAsync(null, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add), cancel.Token));
        }
        using (var model = SignatureModel.Create(Tiny))
        {
            var reports = new List<TrainingEpochReport>();
            var resumed = await new TrainingService(again.Workspace.Blobs, again.Workspace.Catalog, new EngineSignatureTrainer(model, "tiny", 32), Quick)
                .RunAsync(null, "tiny-base", new Synchronous<TrainingEpochReport>(reports.Add));
            Assert.Equal([true, true, true, false, false], reports.Select(r => r.Resumed));
            Assert.Equal(uninterrupted, resumed.Progress.Epochs.Select(e => e.WeightsHash));
            // The epochs trained after the resume drew exactly the triplets and copies the uninterrupted run drew.
            Assert.Equal(uninterruptedTriplets[3], reports[3].MinedTriplets);
            Assert.Equal(uninterruptedTriplets[4], reports[4].MinedTriplets);
        }
    }

    [Fact]
    public async Task Without_labels_too_small_a_collection_to_hold_out_copies_is_refused()
    {
        using var fixture = new PipelineFixture();
        Assert.Equal(IngestOutcome.Accepted, await fixture.Ingest.IngestAsync("one.png", "s", ImageFixtures.ColourGrid(1)));
        Assert.Equal(IngestOutcome.Accepted, await fixture.Ingest.IngestAsync("two.png", "s", ImageFixtures.ColourGrid(2)));
        var service = new TrainingService(fixture.Blobs, fixture.Catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32 });

        var refused = await Assert.ThrowsAsync<TrainingRefusedException>(() => service.RunAsync(null, "still"));

        Assert.Contains("too few to hold out validation copies", refused.Message);
        Assert.Empty((await fixture.Blobs.ListAsync("models/")).Items);
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
        // The trainer is told the run's loss, rate, freezing and pooling before anything is embedded; GeM with p = 3 by default.
        Assert.Equal(new SignatureTrainingSettings(SignatureLoss.Contrastive, 1e-5, 4, null, 3, 0.75), trainer.Settings);
    }

    [Fact]
    public async Task The_runs_pooling_power_and_detail_view_reach_the_trainer_and_name_other_runs()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var mean = new TrainingRunOptions { Epochs = 1, BatchSize = 3, InputSize = 32, NegativesPerPair = 1, PoolingPower = 1, DetailView = 0 };
        var trainer = new StillTrainer();

        var result = await new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, trainer, mean).RunAsync(fixture.Truth, "still");

        Assert.Equal(1, trainer.Settings!.PoolingPower);
        Assert.Equal(0, trainer.Settings.DetailView);
        var key = TrainingService.RunKey("still", result.Progress.DataVersion, mean);
        Assert.NotEqual(key, TrainingService.RunKey("still", result.Progress.DataVersion, mean with { PoolingPower = 3 }));
        Assert.NotEqual(key, TrainingService.RunKey("still", result.Progress.DataVersion, mean with { DetailView = 0.75 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => (mean with { PoolingPower = 0.5 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (mean with { PoolingPower = double.NaN }).Validate());
        foreach (var bad in new[] { 0.05, 1, -0.5, double.NaN })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => (mean with { DetailView = bad }).Validate());
        }
        (mean with { DetailView = 0.1 }).Validate();

        // The details the version signs are part of the run too, and out of range is refused.
        Assert.Equal(2, mean.DetailGrid);
        Assert.NotEqual(key, TrainingService.RunKey("still", result.Progress.DataVersion, mean with { DetailGrid = 3 }));
        Assert.Null((mean with { DetailGrid = 0 }).SignedDetails);
        foreach (var bad in new[] { -1, SignatureDetails.MaximumGrid + 1 })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => (mean with { DetailGrid = bad }).Validate());
        }
    }

    [Fact]
    public async Task A_ground_truth_without_validation_pairs_is_refused_with_a_reason()
    {
        using var fixture = await TrainingFixture.CreateAsync(withEdges: false);
        // Only SIMILAR edges: no component, no pair. GroundTruth still loads (the CSV is there); synthetic copies could
        // train, but with a morphograph its validation part chooses the epoch, and it has nothing to score.
        var service = new TrainingService(fixture.Workspace.Blobs, fixture.Workspace.Catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32 });

        var refused = await Assert.ThrowsAsync<TrainingRefusedException>(() => service.RunAsync(fixture.Truth, "still"));

        Assert.Contains("validation part has no image with a positive partner", refused.Message);
        Assert.Empty((await fixture.Workspace.Blobs.ListAsync("models/")).Items);
    }

    [Fact]
    public void Options_out_of_range_and_a_trainer_of_another_input_size_are_refused()
    {
        using var blobs = new LocalFolderBlobStore(Directory.CreateTempSubdirectory().FullName);
        var catalog = new SqliteImageCatalog(Path.Combine(Path.GetTempPath(), $"motif-{Guid.NewGuid():N}.db"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32, Epochs = 0, Whiten = false }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 32, LearningRate = double.NaN }));
        Assert.Throws<ArgumentException>(() => new TrainingService(blobs, catalog, new StillTrainer(), new TrainingRunOptions { InputSize = 64 }));
        catalog.Dispose();
    }

    private static string TrainingRunFolder(TrainingFixture fixture) =>
        CollectionBlobs.TrainingRun(TrainingService.RunKey("tiny-base", fixture.Truth!.DataVersion, Quick));

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, too late to assert on).</summary>
    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Counts the images embedded at each input size, by the trainer and by its resized views.</summary>
    private sealed class CountingTrainer(ISignatureTrainer inner) : ISignatureTrainer
    {
        public Dictionary<int, int> Embedded { get; } = [];

        public string ModelVersion => inner.ModelVersion;

        public int Dimension => inner.Dimension;

        public PreprocessSpec Preprocessing => inner.Preprocessing;

        public void Configure(SignatureTrainingSettings settings) => inner.Configure(settings);

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
        {
            Count(Preprocessing.InputSize, count);
            inner.Embed(images, count, signatures);
        }

        public ISignatureEmbedder AtInputSize(int inputSize) => inputSize == Preprocessing.InputSize ? this : new Counted(this, inner.AtInputSize(inputSize));

        private void Count(int size, int count) => Embedded[size] = Embedded.GetValueOrDefault(size) + count;

        public float TrainTriplets(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count) =>
            inner.TrainTriplets(anchors, positives, negatives, count);

        public float TrainPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count) => inner.TrainPairs(first, second, same, count);

        public string SaveCheckpoint(string path, string userMetadataJson) => inner.SaveCheckpoint(path, userMetadataJson);

        public void LoadCheckpoint(string path) => inner.LoadCheckpoint(path);

        private sealed class Counted(CountingTrainer owner, ISignatureEmbedder resized) : ISignatureEmbedder
        {
            public string ModelVersion => resized.ModelVersion;

            public int Dimension => resized.Dimension;

            public PreprocessSpec Preprocessing => resized.Preprocessing;

            public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
            {
                owner.Count(Preprocessing.InputSize, count);
                resized.Embed(images, count, signatures);
            }
        }
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
