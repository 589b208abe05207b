using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Motif.Core.Evaluation;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>motif train from the outside: a workspace of colour-grid pictures and their copies, the engine's tiny ResNet.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-train-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Workspace => Path.Combine(_scratch.FullName, "workspace");

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    /// <summary>A tiny random network as a checkpoint file, for --model.</summary>
    private string TinyModel()
    {
        var path = In("tiny.ckpt");
        using var tiny = SignatureModel.Create("torchvision:layers=1-1-1-1;base=8;classes=0");
        tiny.SaveCheckpoint(path);
        return path;
    }

    /// <summary>Ingests a picture and its copy per component and writes the morphograph CSV of their POSITIVE edges.</summary>
    private async Task<string> CollectionAsync(IEnumerable<string> components)
    {
        var csv = new StringBuilder("type,img1,img2\n");
        await using var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: true, CancellationToken.None))!;
        var ingest = workspace.Services.GetRequiredService<IngestService>();
        foreach (var (component, seed) in components.Select((c, i) => (c, i)))
        {
            var original = ImageFixtures.ColourGrid(seed);
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"{component}-a", "s", original));
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"{component}-b", "s", ImageFixtures.Variant(original, 0.9, (1.06, 0.95, 1.0))));
            csv.Append($"POSITIVE,{component}-a,{component}-b\n");
        }
        var file = In("morphograph.csv");
        await File.WriteAllTextAsync(file, csv.ToString());
        return file;
    }

    private static IEnumerable<string> Components(int train, int validation, int test) =>
        Enumerable.Range(0, train).Select(i => SplitComponents.ComponentIn(SplitPart.Train, $"t{(char)('a' + i)}"))
            .Concat(Enumerable.Range(0, validation).Select(i => SplitComponents.ComponentIn(SplitPart.Validation, $"v{(char)('a' + i)}")))
            .Concat(Enumerable.Range(0, test).Select(i => SplitComponents.ComponentIn(SplitPart.Test, $"x{(char)('a' + i)}")));

    private static void AssertOneLine(int exit, string error, string expected)
    {
        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    private string[] Quick(string truth, string model, int epochs = 2) =>
        ["train", "--out", Workspace, "--truth", truth, "--model", model, "--size", "32", "--epochs", $"{epochs}", "--lr", "1e-3", "--margin", "0.2",
         "--freeze-stages", "0", "--negatives", "2", "--batch", "4"];

    [Fact]
    public async Task Trains_with_a_line_per_epoch_and_a_table_then_a_rerun_finds_every_epoch_stored()
    {
        var truth = await CollectionAsync(Components(train: 6, validation: 2, test: 2));
        var model = TinyModel();
        var saved = In("best.ckpt");

        var (exit, output, error) = await Cli.RunAsync([.. Quick(truth, model), "--save", saved]);

        Assert.True(exit == 0, error);
        Assert.Equal("", error);
        // Two test components of two pictures each: four queries.
        Assert.Matches(@"epoch 0/2: base model, val mAP \d\.\d{4}\n", output);
        Assert.Matches(@"epoch 1/2: loss \d+\.\d{4} over \d+ steps \(\d+ triplets\), val mAP \d\.\d{4}\n", output);
        Assert.Matches(@"epoch 2/2: loss ", output);
        Assert.Contains("epoch  steps     loss  val mAP   margin\n", output);
        Assert.Matches(@"Test part, epoch \d: mAP \d\.\d{4}, R@1 \d\.\d{3}, R@10 \d\.\d{3} over 4 queries\.", output);
        Assert.Contains("Checkpoints, progress and curves in models/training/", output);
        // Registered, and refused because the run did not start from the serving version (the packaged network serves).
        Assert.Matches(@"Registered model version checkpoint:[0-9a-f]{16} \(epoch \d of the run, parent checkpoint:[0-9a-f]{16}\)\.\n", output);
        Assert.Contains("Not promoted (stale): stale: trained from checkpoint:", output);
        Assert.Contains("It stays a candidate (`motif models`).", output);
        // The curves beside the checkpoints, as SVG and as PNG (ScottPlot, headless).
        var folder = System.Text.RegularExpressions.Regex.Match(output, "curves in (models/training/[0-9a-f]+/);").Groups[1].Value;
        await using (var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: false, CancellationToken.None))!)
        {
            foreach (var png in new[] { "loss.png", "validation-map.png" })
            {
                var info = ImageCodec.Probe(await workspace.Blobs.ReadAllBytesAsync(folder + png));
                Assert.Equal((ImageFormat.Png, 640, 400), (info.Format, info.Width, info.Height));
            }
            Assert.StartsWith("<svg", Encoding.UTF8.GetString(await workspace.Blobs.ReadAllBytesAsync(folder + "loss.svg")));
        }
        using (var best = SignatureModel.FromCheckpoint(saved))
        using (var tiny = SignatureModel.FromCheckpoint(model))
        {
            Assert.Equal(tiny.EmbeddingDimension, best.EmbeddingDimension);
        }

        (exit, output, error) = await Cli.RunAsync(Quick(truth, model));

        Assert.True(exit == 0, error);
        Assert.Contains("epoch 2/2: loss ", output);
        Assert.Equal(3, output.Split('\n').Count(l => l.EndsWith(" (stored)", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_table_shows_each_epochs_margin_and_a_dash_where_a_record_has_none()
    {
        var epochs = new[]
        {
            new TrainingEpoch(0, 0, 0, [], 0.9688, "e0", "h0") { ValidationMargin = -0.0123 },
            new TrainingEpoch(1, 4, 16, [0.25f], 0.9688, "e1", "h1") { ValidationMargin = 0.0456 },
            new TrainingEpoch(2, 8, 16, [0.2f], 0.9375, "e2", "h2"),   // as a record from before the margin loads: NaN
        };
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "k", "base", "unlabelled-x", TrainingRunOptions.Cpu, epochs, null);

        var table = TrainCommand.Table(new TrainingResult("models/training/k/", progress, "e1", false, []));

        Assert.Contains("epoch  steps     loss  val mAP   margin\n", table);
        Assert.Contains("    0      0        -   0.9688  -0.0123\n", table);
        Assert.Contains("    1      4   0.2500   0.9688  +0.0456  best\n", table);   // equal mAP: the larger margin is the best
        Assert.Contains("    2      8   0.2000   0.9375        -\n", table);
    }

    [Fact]
    public async Task Too_few_training_components_are_refused_in_one_line()
    {
        var truth = await CollectionAsync(Components(train: 0, validation: 1, test: 1));

        var (exit, _, error) = await Cli.RunAsync(Quick(truth, TinyModel()));

        // Every image is held out: no curated pair and no image to copy either.
        AssertOneLine(exit, error, "No triplet could be mined");
    }

    [Fact]
    public async Task Without_a_morphograph_it_trains_on_synthetic_copies_and_scores_held_out_copies()
    {
        await CollectionAsync(Components(train: 8, validation: 2, test: 2));
        string[] quick = ["train", "--out", Workspace, "--model", TinyModel(), "--size", "32", "--epochs", "1", "--lr", "1e-3", "--margin", "0.2",
                          "--freeze-stages", "0", "--negatives", "2", "--batch", "4"];

        var (exit, output, error) = await Cli.RunAsync(quick);

        Assert.True(exit == 0, error);
        Assert.Contains("(no labels: synthetic copies of its own images", output);
        Assert.Matches(@"epoch 1/1: loss \d+\.\d{4} over \d+ steps \(\d+ triplets\), val mAP \d\.\d{4}\n", output);
        Assert.Matches(@"Held-out test images' copies, epoch \d: mAP \d\.\d{4}, R@1 \d\.\d{3}, R@10 \d\.\d{3} over \d+ queries\.", output);
    }

    [Fact]
    public async Task No_validation_component_is_refused_in_one_line()
    {
        var truth = await CollectionAsync(Components(train: 2, validation: 0, test: 1));

        var (exit, _, error) = await Cli.RunAsync(Quick(truth, TinyModel()));

        AssertOneLine(exit, error, "The validation part has no image");
    }

    [Fact]
    public async Task Bad_input_is_one_line_and_exit_2()
    {
        var truth = await CollectionAsync(Components(train: 1, validation: 0, test: 0));
        var model = TinyModel();

        // No morphograph: it would train on synthetic copies, but two images are too few to hold any out.
        var (exit, _, error) = await Cli.RunAsync("train", "--out", Workspace, "--model", model);
        AssertOneLine(exit, error, "2 images are too few to hold out validation copies");

        (exit, _, error) = await Cli.RunAsync(Quick(In("missing.csv"), model));
        AssertOneLine(exit, error, "--truth: no such file");

        var broken = In("broken.csv");
        await File.WriteAllTextAsync(broken, "nothing,useful\n1,2\n");
        (exit, _, error) = await Cli.RunAsync(Quick(broken, model));
        AssertOneLine(exit, error, "broken.csv:");

        (exit, _, error) = await Cli.RunAsync(Quick(truth, In("no-model.ckpt")));
        AssertOneLine(exit, error, "--model: no such checkpoint file");

        var notACheckpoint = In("not-a-checkpoint.ckpt");
        await File.WriteAllTextAsync(notACheckpoint, "hello");
        (exit, _, error) = await Cli.RunAsync(Quick(truth, notACheckpoint));
        Assert.Equal(2, exit);
        Assert.DoesNotContain("   at ", error);

        // 0 epochs fits only the projection, so it is out of range only without one.
        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model, epochs: 0), "--no-whiten"]);
        AssertOneLine(exit, error, "--epochs: out of range (0)");
        (exit, _, error) = await Cli.RunAsync(Quick(truth, model, epochs: -1));
        AssertOneLine(exit, error, "--epochs: out of range (-1)");

        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model), "--pooling-power", "0.5"]);
        AssertOneLine(exit, error, "--pooling-power: out of range (0.5)");

        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model), "--detail-view", "1"]);
        AssertOneLine(exit, error, "--detail-view: out of range (1)");

        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model), "--details", "5"]);
        AssertOneLine(exit, error, "--details: out of range (5)");

        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model), "--recipe", "gpu"]);
        AssertOneLine(exit, error, "--recipe: expected cpu or full");

        (exit, _, error) = await Cli.RunAsync([.. Quick(truth, model), "--loss", "hinge"]);
        AssertOneLine(exit, error, "--loss: expected compound-hinge, triplet or contrastive");

        (exit, _, error) = await Cli.RunAsync("train", "--out", In("nowhere"), "--model", model);
        AssertOneLine(exit, error, "No workspace in");
    }

    [Fact]
    public async Task A_read_only_workspace_says_so()
    {
        var truth = await CollectionAsync(Components(train: 1, validation: 0, test: 0));
        using (var file = File.Open(Path.Combine(Workspace, "motif.db"), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 18;
            file.Write([3, 1]); // SQLite may read but not write this format (see CommandFailureTests)
        }

        var (exit, _, error) = await Cli.RunAsync(Quick(truth, TinyModel()));

        AssertOneLine(exit, error, $"The workspace {Workspace} is read-only");
    }
}
