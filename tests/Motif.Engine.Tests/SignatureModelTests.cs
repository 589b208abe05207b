using Motif.Imaging;
using Motif.Testing;

namespace Motif.Engine.Tests;

public sealed class SignatureModelTests : IDisposable
{
    // A reduced-depth torchvision network: the same code paths as ResNet-50 at a fraction of the cost.
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-engine-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private static float[] Images(int count, int size, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count * 3 * size * size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static float[] Embed(SignatureModel model, float[] images, int count, int size)
    {
        var signatures = new float[count * model.EmbeddingDimension];
        model.Embed(images, count, size, size, signatures);
        return signatures;
    }

    [Fact]
    public void Default_training_options_are_the_replica_recipe()
    {
        var o = TrainingOptions.Default;

        Assert.Equal((0.01, 0.1, 1e-6, 1e-4), (o.Margin, o.Margin2, o.LearningRate, o.WeightDecay));
        Assert.Equal((TrainingLoss.CompoundHinge, SignatureDistance.Cosine, LossReduction.Sum), (o.Loss, o.Distance, o.Reduction));
        Assert.True(o.AnchorSwap && o.IntraSamplePenalty);
    }

    [Fact]
    public void Adam_steps_lower_the_compound_hinge_loss()
    {
        using var model = SignatureModel.Create(Tiny);
        model.ConfigureTraining(TrainingOptions.Default with { LearningRate = 1e-3, Margin = 0.5 });
        var (a, b, c) = (Images(4, 32, 1), Images(4, 32, 2), Images(4, 32, 3));

        var losses = Enumerable.Range(0, 6).Select(_ => model.TrainStep(a, b, c, 4, 32, 32)).ToArray();

        Assert.True(losses[^1].Loss < losses[0].Loss, string.Join(" → ", losses.Select(l => l.Loss)));
        Assert.All(losses[0].PositiveDistances, d => Assert.InRange(d, 0f, 2f));
        Assert.Equal(4, losses[0].NegativeDistances.Length);
    }

    [Fact]
    public void Contrastive_pairs_train_and_the_loss_must_be_configured_for_them()
    {
        using var model = SignatureModel.Create(Tiny);
        var (a, b) = (Images(4, 32, 1), Images(4, 32, 2));
        bool[] same = [true, false, true, false];

        Assert.Throws<InvalidOperationException>(() => model.TrainStepPairs(a, b, same, 4, 32, 32)); // nothing configured
        model.ConfigureTraining(TrainingOptions.Default);
        var wrongLoss = Record.Exception(() => model.TrainStepPairs(a, b, same, 4, 32, 32));
        Assert.True(wrongLoss is ArgumentException or InvalidOperationException, $"compound hinge on pairs: {wrongLoss}");
        Assert.Contains("ontrastive", wrongLoss!.Message);

        model.ConfigureTraining(TrainingOptions.Default with
        {
            Loss = TrainingLoss.Contrastive, Distance = SignatureDistance.Euclidean, Margin = 2, LearningRate = 1e-3, AnchorSwap = false, IntraSamplePenalty = false,
        });
        var losses = Enumerable.Range(0, 6).Select(_ => model.TrainStepPairs(a, b, same, 4, 32, 32)).ToArray();

        Assert.True(losses[^1].Loss < losses[0].Loss, string.Join(" → ", losses.Select(l => l.Loss)));
        Assert.Equal(4, losses[0].Distances.Length);
    }

    [Fact]
    public void A_checkpoint_restores_identical_signatures_and_its_metadata()
    {
        var path = Path.Combine(_scratch.FullName, "model.ckpt");
        var images = Images(3, 48, 7);
        float[] before;
        using (var model = SignatureModel.Create(Tiny))
        {
            model.ConfigureTraining(TrainingOptions.Default with { LearningRate = 1e-3 });
            model.TrainStep(Images(2, 48, 1), Images(2, 48, 2), Images(2, 48, 3), 2, 48, 48);
            before = Embed(model, images, 3, 48);
            model.SaveCheckpoint(path, """{"parent_version":"v0"}""");
        }

        using var restored = SignatureModel.FromCheckpoint(path);

        Assert.Equal(before, Embed(restored, images, 3, 48));
        var metadata = SignatureModel.ReadCheckpointMetadata(path);
        Assert.Contains("\"parent_version\":\"v0\"", metadata);
        Assert.Contains("\"step\":1", metadata);
    }

    /// <summary>The trainer's settings choose how the network signs, its pooling (GeM) and its detail view: the model
    /// embeds so from then on (other rows, still unit vectors), a checkpoint saved afterwards restores the setting in a
    /// fresh model (so a trained version signs as it trained), and a value out of range is refused with the engine's
    /// message, leaving the setting as it was.</summary>
    [Theory]
    [InlineData("pooling power")]
    [InlineData("detail view")]
    public void The_trainers_signing_settings_shape_its_signatures_and_travel_with_its_checkpoints(string setting)
    {
        var (settings, read, write, before, after, bad) = SigningSetting(setting);
        var path = Path.Combine(_scratch.FullName, "signing.ckpt");
        var images = Images(3, 64, 21);
        float[] plain, changed;
        using (var model = SignatureModel.Create(Tiny))
        {
            Assert.Equal(before, read(model));
            plain = Embed(model, images, 3, 64);
            new EngineSignatureTrainer(model, "tiny", 64).Configure(settings);
            Assert.Equal(after, read(model));
            changed = Embed(model, images, 3, 64);
            model.SaveCheckpoint(path, "{}");

            var refused = Assert.Throws<ArgumentException>(() => write(model, bad));
            Assert.Contains(setting, refused.Message);
            Assert.Equal(after, read(model));
        }
        Assert.True(plain.Zip(changed).Max(p => Math.Abs(p.First - p.Second)) > 1e-3f, $"the {setting} {after} signed as {before} does");
        foreach (var row in changed.Chunk(changed.Length / 3))
        {
            Assert.Equal(1.0, row.Sum(v => (double)v * v), 4);
        }

        using var restored = SignatureModel.FromCheckpoint(path);
        Assert.Equal(after, read(restored));
        Assert.Equal(changed, Embed(restored, images, 3, 64));
    }

    private static (SignatureTrainingSettings Settings, Func<SignatureModel, double> Read, Action<SignatureModel, double> Write, double Before, double After, double Bad)
        SigningSetting(string setting) => setting switch
        {
            "pooling power" => (new SignatureTrainingSettings(SignatureLoss.CompoundHinge, 1e-3, 0, PoolingPower: 3), m => m.PoolingPower, (m, v) => m.PoolingPower = v, 1, 3, 0.5),
            "detail view" => (new SignatureTrainingSettings(SignatureLoss.CompoundHinge, 1e-3, 0, DetailView: 0.75), m => m.DetailView, (m, v) => m.DetailView = v, 0, 0.75, 1),
            _ => throw new ArgumentOutOfRangeException(nameof(setting), setting, null),
        };

    /// <summary>A checkpoint whose metadata carries a signature projection (as training writes it): the model opened from it
    /// has the projection, the embedder every host signs with applies it, the trainer and the model itself stay raw, and a
    /// damaged projection is refused with the file's name.</summary>
    [Fact]
    public void A_checkpoints_projection_is_applied_by_the_embedder_and_not_by_the_trainer()
    {
        var path = Path.Combine(_scratch.FullName, "projected.ckpt");
        var images = Images(3, 48, 11);
        float[] raw;
        Motif.Core.Signatures.SignatureProjection projection;
        using (var model = SignatureModel.Create(Tiny))
        {
            raw = Embed(model, images, 3, 48);
            var d = model.EmbeddingDimension;
            projection = Motif.Core.Signatures.SignatureProjection.Fit(Embed(model, Images(4, 48, 12), 4, 48), Embed(model, Images(4, 48, 13), 4, 48), 4, raw, d,
                new Motif.Core.Signatures.SignatureProjectionOptions(Power: 0.5));
            var user = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
            {
                [Motif.Core.Signatures.SignatureProjection.MetadataKey] = Convert.ToBase64String(projection.ToBytes()),
            });
            model.SaveCheckpoint(path, user);
            Assert.Null(model.Projection);
        }
        var expected = new float[raw.Length];
        projection.Apply(raw, 3, expected);
        Assert.NotEqual(raw, expected);

        using var restored = SignatureModel.FromCheckpoint(path);
        Assert.Equal(projection.ToBytes(), restored.Projection!.ToBytes());
        Assert.Equal(raw, Embed(restored, images, 3, 48));
        var signed = new float[raw.Length];
        new EngineSignatureEmbedder(restored, "projected", 48).Embed(images, 3, signed);
        Assert.Equal(expected, signed);
        var trained = new float[raw.Length];
        new EngineSignatureTrainer(restored, "projected", 48).Embed(images, 3, trained);
        Assert.Equal(raw, trained);

        var damaged = Path.Combine(_scratch.FullName, "damaged.ckpt");
        using (var model = SignatureModel.Create(Tiny))
        {
            model.SaveCheckpoint(damaged, $$"""{"{{Motif.Core.Signatures.SignatureProjection.MetadataKey}}":"AAAA"}""");
        }
        var refused = Assert.Throws<SignatureEngineException>(() => SignatureModel.FromCheckpoint(damaged));
        Assert.Contains("damaged signature projection", refused.Message);
        Assert.Contains("damaged.ckpt", refused.Message);
    }

    /// <summary>A checkpoint whose metadata carries signature details (as training writes them): the version signs each
    /// image's whole and then each window the details cut from its input, image by image; the
    /// embedder says so in its parts; the trainer signs the whole only; damaged details are refused with the file's name.</summary>
    [Fact]
    public void A_checkpoints_details_sign_each_window_after_the_whole_and_the_trainer_never_sees_them()
    {
        var path = Path.Combine(_scratch.FullName, "details.ckpt");
        var images = Images(2, 48, 21);
        var details = new SignatureDetails(2);
        int d;
        float[] wholes, windows;
        using (var model = SignatureModel.Create(Tiny))
        {
            d = model.EmbeddingDimension;
            wholes = Embed(model, images, 2, 48);
            var cut = new float[2 * details.Count * 3 * 48 * 48];
            details.Cut(images, 2, 3, 48, cut);
            windows = Embed(model, cut, 2 * details.Count, 48);
            model.SaveCheckpoint(path, $$"""{"{{SignatureDetails.MetadataKey}}":{{details.ToJson().GetRawText()}}}""");
            Assert.Equal(1, model.SignatureParts);
        }

        using var restored = SignatureModel.FromCheckpoint(path);
        Assert.Equal(details, restored.Details);
        Assert.Equal(5, restored.SignatureParts);
        var embedder = new EngineSignatureEmbedder(restored, "details", 48);
        Assert.Equal((5, 5 * d), (embedder.Parts, embedder.Dimension));
        var signed = new float[2 * 5 * d];
        embedder.Embed(images, 2, signed);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(wholes.AsSpan(i * d, d).ToArray(), signed.AsSpan(i * 5 * d, d).ToArray());
            Assert.Equal(windows.AsSpan(i * 4 * d, 4 * d).ToArray(), signed.AsSpan((i * 5 + 1) * d, 4 * d).ToArray());
        }
        var trained = new float[2 * d];
        new EngineSignatureTrainer(restored, "details", 48).Embed(images, 2, trained);
        Assert.Equal(wholes, trained);

        var damaged = Path.Combine(_scratch.FullName, "damaged-details.ckpt");
        using (var model = SignatureModel.Create(Tiny))
        {
            model.SaveCheckpoint(damaged, $$$"""{"{{{SignatureDetails.MetadataKey}}}":{"grid":9,"side":0.65}}""");
        }
        var refused = Assert.Throws<SignatureEngineException>(() => SignatureModel.FromCheckpoint(damaged));
        Assert.Contains("damaged signature details", refused.Message);
        Assert.Contains("damaged-details.ckpt", refused.Message);
    }

    [Fact]
    public void Failures_become_typed_exceptions_with_the_engine_message()
    {
        var corrupt = Path.Combine(_scratch.FullName, "corrupt.pt");
        File.WriteAllBytes(corrupt, ImageFixtures.TextNamedJpeg());
        using var model = SignatureModel.Create(Tiny);

        Assert.Contains("nosuchnet", Assert.Throws<ArgumentException>(() => SignatureModel.Create("nosuchnet")).Message);
        Assert.Throws<IOException>(() => model.LoadWeights(Path.Combine(_scratch.FullName, "absent.pt")));
        Assert.Throws<InvalidDataException>(() => model.LoadWeights(corrupt));
        Assert.Throws<ModelMismatchException>(() => model.LoadWeights(TestData.PackagedWeights));
        Assert.Throws<ArgumentException>(() => model.Embed(new float[10], 1, 32, 32, new float[model.EmbeddingDimension]));
        Assert.Throws<ArgumentException>(() => model.Embed(Images(1, 32, 1), 1, 32, 32, new float[3]));
    }

    [Fact]
    public void Calls_from_many_threads_each_get_the_signatures_of_their_own_images()
    {
        using var model = SignatureModel.Create(Tiny);
        // Each caller sends other images, in batches of other sizes: a result handed to the wrong caller, or inputs
        // of two callers mixed in one forward pass, would show as a mismatch (identical inputs would hide both).
        var callers = Enumerable.Range(0, 8).Select(i => (Count: 1 + i % 3, Images: Images(1 + i % 3, 32, 100 + i))).ToArray();
        var expected = callers.Select(c => Embed(model, c.Images, c.Count, 32)).ToArray();
        Assert.Equal(callers.Length, expected.Select(e => string.Join(',', e)).Distinct().Count());

        var results = new float[callers.Length][];
        Parallel.For(0, callers.Length, new ParallelOptions { MaxDegreeOfParallelism = callers.Length }, i =>
        {
            for (var repeat = 0; repeat < 3; repeat++)
            {
                results[i] = Embed(model, callers[i].Images, callers[i].Count, 32);
                Assert.Equal(expected[i], results[i]);
            }
        });

        Assert.All(Enumerable.Range(0, callers.Length), i => Assert.Equal(expected[i], results[i]));
    }
}
