using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;

namespace Motif.Cli;

/// <summary>
/// <c>motif train</c>: fine-tunes a signature network on a workspace's ground truth (<see cref="TrainingService"/>):
/// the morphograph given by --truth or imported before, with the curators' annotations, on its frozen split, mixed with
/// synthetic copies of the collection's images; a workspace with no morphograph trains on the copies alone. Prints a
/// line per epoch and a final table; a rerun with the same arguments resumes an interrupted run.
/// </summary>
internal static class TrainCommand
{
    private static readonly string[] Recipes = ["cpu", "full"];
    private static readonly string[] Losses = ["compound-hinge", "triplet", "contrastive"];

    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var truth = new Option<FileInfo?>("--truth")
        {
            Description = "A morphograph CSV (type, img1, img2) to train on; it replaces the workspace's imported one, whose frozen split it extends. " +
                          "Without it, the morphograph imported by `motif morphograph import`; with none, synthetic copies of the collection's own images.",
        };
        var model = SharedOptions.Model("The weights training starts from");
        model.Description = $"The weights training starts from: {ModelCatalog.PackagedResNet50} or a checkpoint file. Default: the workspace's serving model version " +
                            "(only a run from the serving version can be promoted).";
        var recipe = new Option<string>("--recipe")
        {
            Description = "cpu (default: stem and stages 1-3 frozen, 160px inputs, lr 1e-5, 10 epochs) or full (everything trains, 224px, lr 1e-6, 30 epochs).",
            DefaultValueFactory = _ => "cpu",
        };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs at most (the recipe's by default)." };
        var batch = new Option<int?>("--batch") { Description = "Triplets per optimiser step." };
        var loss = new Option<string>("--loss") { Description = "compound-hinge (default), triplet or contrastive.", DefaultValueFactory = _ => "compound-hinge" };
        var learningRate = new Option<double?>("--lr") { Description = "Adam's learning rate." };
        var margin = new Option<double?>("--margin") { Description = "The loss's margin (default the replica's 0.01 on cosine distances)." };
        var frozen = new Option<int?>("--freeze-stages") { Description = "0 trains everything; k freezes the stem and stages 1..k-1 (4: only the last stage trains)." };
        var size = new Option<int?>("--size") { Description = "Side of the square model input in pixels." };
        var pooling = new Option<double?>("--pooling-power")
        {
            Description = "Exponent of the network's global pooling, a generalized mean (GeM): 3 by default (Radenović et al. 2019), 1 for the base model's mean pooling. " +
                          "The trained version signs with it.",
        };
        var detail = new Option<double?>("--detail-view")
        {
            Description = "Fraction of each side of the centre detail the network sees beside the whole image: 0.75 by default (about two thirds of an " +
                          "image's shorter side), 0 for the whole image only. The trained version signs with it.",
        };
        var details = new Option<int?>("--details")
        {
            Description = "Windows per side of the details the trained version signs beside each image's whole, each two thirds of its side: 2 by default " +
                          "(the four corners), 3 for nine, 1 for the centre, 0 for the whole only. An image is as near to another as their nearest whole-detail pair.",
        };
        var patience = new Option<int?>("--patience") { Description = "Epochs without a better validation mAP before stopping." };
        var negatives = new Option<int?>("--negatives") { Description = "Negatives mined per positive pair (default 10)." };
        var reproduced = new Option<bool>("--reproduced-details")
        {
            Description = "Also train on synthetic reproductions of a detail (a detail, then recoloured, printed in one tone, engraved or tilted), not only single derivations.",
        };
        var noWhiten = new Option<bool>("--no-whiten")
        {
            Description = "Do not fit the learned projection of the signatures (power normalisation and learned whitening, Radenović et al. 2019) that training " +
                          "fits by default on the best network from training images and their synthetic copies, and keeps with the version only if it validates " +
                          "better. Measured on the tiles benchmark: mAP 0.198 -> 0.289 with it after 4 epochs, 0.247 without. Without --no-whiten, --epochs 0 fits only the projection.",
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the mining and of the order of triplets.", DefaultValueFactory = _ => 0 };
        var save = new Option<FileInfo?>("--save") { Description = "Also write the result's checkpoint (the best epoch, with its projection when one was kept) to this file (for `--model` of the other commands)." };
        var command = new Command("train", "Fine-tune the signature network on the workspace's morphograph: triplets with hard negatives mined each epoch, " +
                                           "validation mAP with early stopping, a checkpoint per epoch in the workspace (resumable), test mAP of the best epoch.")
        {
            truth, model, recipe, epochs, batch, loss, learningRate, margin, frozen, size, pooling, detail, details, patience, negatives, reproduced, noWhiten, seed, save,
        };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var output = parse.InvocationConfiguration.Output;
            async Task<int> Fail(string message)
            {
                await error.WriteLineAsync(Display.Safe(message));
                return 2;
            }
            var recipeName = parse.GetValue(recipe)!;
            if (!Recipes.Contains(recipeName))
            {
                return await Fail($"--recipe: expected cpu or full; got '{recipeName}'.");
            }
            var lossName = parse.GetValue(loss)!;
            if (!Losses.Contains(lossName))
            {
                return await Fail($"--loss: expected compound-hinge, triplet or contrastive; got '{lossName}'.");
            }
            var basis = recipeName == "full" ? TrainingRunOptions.Full : TrainingRunOptions.Cpu;
            var options = basis with
            {
                Epochs = parse.GetValue(epochs) ?? basis.Epochs,
                BatchSize = parse.GetValue(batch) ?? basis.BatchSize,
                Loss = lossName switch { "triplet" => SignatureLoss.Triplet, "contrastive" => SignatureLoss.Contrastive, _ => SignatureLoss.CompoundHinge },
                LearningRate = parse.GetValue(learningRate) ?? basis.LearningRate,
                Margin = parse.GetValue(margin) ?? basis.Margin,
                FrozenStages = parse.GetValue(frozen) ?? basis.FrozenStages,
                InputSize = parse.GetValue(size) ?? basis.InputSize,
                PoolingPower = parse.GetValue(pooling) ?? basis.PoolingPower,
                DetailView = parse.GetValue(detail) ?? basis.DetailView,
                DetailGrid = parse.GetValue(details) ?? basis.DetailGrid,
                Patience = parse.GetValue(patience) ?? basis.Patience,
                NegativesPerPair = parse.GetValue(negatives) ?? basis.NegativesPerPair,
                ReproducedDetails = parse.GetValue(reproduced),
                Whiten = !parse.GetValue(noWhiten),
                // The projection is fitted at the size motif run signs at (only then: without one the size plays no part).
                SigningSize = parse.GetValue(noWhiten) ? null : EngineSignatureEmbedder.DefaultInputSize,
                Seed = parse.GetValue(seed),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentOutOfRangeException e)
            {
                return await Fail($"{OptionName(e.ParamName)}: out of range ({e.ActualValue}).");
            }
            var truthFile = parse.GetValue(truth);
            if (truthFile is not null && !truthFile.Exists)
            {
                return await Fail($"--truth: no such file: {truthFile.FullName}");
            }
            var modelName = parse.GetResult(model) is { Implicit: false } ? parse.GetValue(model) : null;
            if (modelName is not null && modelName != ModelCatalog.PackagedResNet50 && !File.Exists(modelName))
            {
                return await Fail($"--model: no such checkpoint file: {modelName}");
            }

            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            var root = parse.GetRequiredValue(workspaceArguments.Out);
            var storage = parse.GetValue(workspaceArguments.Storage);
            try
            {
                if (truthFile is not null)
                {
                    await Evaluation.ImportTruthAsync(truthFile.FullName, workspace.Blobs, cancellationToken);
                }
                var groundTruth = await GroundTruth.LoadAsync(workspace.Blobs, workspace.Services.GetRequiredService<IAnnotationStore>(), cancellationToken: cancellationToken);
                var registry = WorkspaceModels.Registry(workspace.Blobs);
                var choice = modelName is null
                    ? await WorkspaceModels.ChooseAsync(registry, forSigning: false, cancellationToken)
                    : new ModelChoice(modelName, ModelCatalog.VersionOf(modelName), null);
                using var network = ModelCatalog.Open(choice.Model);
                var baseVersion = choice.Version;
                var trainer = new EngineSignatureTrainer(network, baseVersion, options.InputSize);
                var service = new TrainingService(workspace.Blobs, workspace.Catalog, trainer, options, new ScottPlotCharts());
                // Without a morphograph the collection teaches itself: synthetic copies of its images, validated on copies of
                // images held out by id (TrainingService).
                var data = groundTruth is null
                    ? "no labels: synthetic copies of its own images, validated on held-out images' copies"
                    : $"data version {groundTruth.DataVersion[..12]}, morphograph and synthetic copies";
                await output.WriteLineAsync($"Training {Display.Safe(baseVersion)} on {workspace.Description} ({data}, " +
                                            $"{recipeName} recipe, {lossName}, {options.InputSize}px, up to {options.Epochs} epochs).");
                var result = await service.RunAsync(groundTruth, baseVersion, new Lines(output, options.Epochs), cancellationToken);
                await output.WriteAsync(Table(result));
                var version = await registry.RegisterAsync(result, cancellationToken);
                var rollout = new ModelRollout(registry, workspace.Catalog, new CommandLineRollout(workspace.Catalog, Precision.Float32));
                var promotion = await rollout.PromoteAsync(version.Id, cancellationToken);
                await output.WriteLineAsync(Promotion(version, promotion));
                if (parse.GetValue(save) is { } target)
                {
                    await using var download = await workspace.Blobs.GetAsync(result.BestCheckpoint, cancellationToken: cancellationToken);
                    await using var file = File.Create(target.FullName);
                    await download.Content.CopyToAsync(file, cancellationToken);
                    await output.WriteLineAsync($"Best checkpoint saved to {Display.Safe(target.FullName)}.");
                }
                return 0;
            }
            catch (TrainingRefusedException e)
            {
                return await Fail(e.Message);
            }
            catch (FormatException e)
            {
                return await Fail($"{truthFile?.FullName ?? "The workspace's morphograph"}: {e.Message}");
            }
            catch (InvalidDataException e)
            {
                return await Fail(e.Message);
            }
            catch (FileNotFoundException e)
            {
                return await Fail(e.Message);
            }
            catch (ModelMismatchException e)
            {
                return await Fail($"--model: {e.Message}");
            }
            catch (SignatureEngineException e)
            {
                // A checkpoint that is not one, or a stored one that is damaged: the engine says which.
                return await Fail($"The engine refused: {e.Message}");
            }
            catch (Exception e) when (WorkspaceArguments.StorageFailure(storage, root, e) is { } message)
            {
                return await Fail(message);
            }
        });
        return command;
    }

    /// <summary>
    /// The epochs as a table: loss (mean over the epoch's steps), validation mAP and margin, the best marked; then the
    /// test result. The margin is shown because it decides between epochs of equal mAP (<see cref="TrainingProgress.BestOf"/>),
    /// so without it a "best" on a tie looks arbitrary; "-" where there is none (a labelled run, or a record from before it was stored).
    /// </summary>
    internal static string Table(TrainingResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var best = result.Progress.Best.Epoch;
        static string OrDash(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
        text.Append("epoch  steps     loss  val mAP   margin\n");
        foreach (var e in result.Progress.Epochs)
        {
            text.Append(string.Create(c,
                $"{e.Epoch,5}  {e.Steps,5}  {OrDash(e.MeanLoss, "0.0000"),7}  {e.ValidationMap,7:0.0000}  {OrDash(e.ValidationMargin, "+0.0000;-0.0000;0.0000"),7}{(e.Epoch == best ? "  best" : "")}\n"));
        }
        if (result.Progress.Test is { } test)
        {
            var part = result.Progress.DataVersion.StartsWith("unlabelled-", StringComparison.Ordinal) ? "Held-out test images' copies" : "Test part";
            text.Append(string.Create(c, $"{part}, epoch {test.Epoch}: mAP {test.MeanAveragePrecision:0.0000}, R@1 {test.RecallAt1:0.000}, R@10 {test.RecallAt10:0.000} over {test.Queries} queries.\n"));
        }
        if (result.Progress.Projection is { } projection)
        {
            text.Append(string.Create(c, $"Signature projection on epoch {projection.Epoch}: power {projection.Power:0.##}, ridge {(projection.Ridge is { } ridge ? ridge.ToString("0.##", c) : "0.1")}, {projection.Dimension} dimensions, " +
                                         $"fitted at {(projection.InputSize is { } px ? px.ToString(c) + " px" : "the training size")} on {projection.Pairs} pairs ({projection.CuratedPairs ?? 0} curated) in {projection.FitSeconds:0.0} s " +
                                         $"(embedding {projection.EmbedSeconds ?? double.NaN:0.0} s); val mAP {projection.ValidationMap:0.0000} " +
                                         $"(kept: better than the network alone, {projection.NetworkValidationMap ?? double.NaN:0.0000}).\n"));
        }
        else if (result.Progress.Options.Whiten)
        {
            text.Append("Signature projection: not kept (it did not validate better than the network alone).\n");
        }
        text.Append(result.StoppedEarly ? "Stopped early: no better validation mAP for the patience's epochs.\n" : "");
        text.Append($"Checkpoints, progress and curves in {Display.Safe(result.Folder)}; best: {Display.Safe(result.BestCheckpoint)}.\n");
        return text.ToString();
    }

    /// <summary>The registration and the promotion's outcome, in two lines.</summary>
    internal static string Promotion(ModelVersionRecord version, ModelPromotion promotion)
    {
        var registered = $"Registered model version {version.Id} (epoch {version.Metrics.Epoch} of the run, parent {Display.Safe(version.Parent)}).";
        var outcome = promotion.Outcome switch
        {
            PromotionOutcome.Promoted => $"Promoted: {promotion.Reason}. The next `motif run` signs the collection under it, then it serves.",
            PromotionOutcome.AlreadyPromoted => $"Already promoted: {promotion.Reason}.",
            _ => $"Not promoted ({promotion.Outcome switch
            {
                PromotionOutcome.NotBetter => "not better",
                PromotionOutcome.Stale => "stale",
                _ => "rollout underway",
            }}): {promotion.Reason}. It stays a candidate (`motif models`).",
        };
        return registered + "\n" + Display.Safe(outcome);
    }

    private static string OptionName(string? parameter) => parameter switch
    {
        nameof(TrainingRunOptions.Epochs) => "--epochs",
        nameof(TrainingRunOptions.BatchSize) => "--batch",
        nameof(TrainingRunOptions.LearningRate) => "--lr",
        nameof(TrainingRunOptions.Margin) => "--margin",
        nameof(TrainingRunOptions.FrozenStages) => "--freeze-stages",
        nameof(TrainingRunOptions.InputSize) => "--size",
        nameof(TrainingRunOptions.PoolingPower) => "--pooling-power",
        nameof(TrainingRunOptions.DetailView) => "--detail-view",
        nameof(TrainingRunOptions.DetailGrid) => "--details",
        nameof(TrainingRunOptions.Patience) => "--patience",
        nameof(TrainingRunOptions.NegativesPerPair) => "--negatives",
        _ => parameter ?? "an option",
    };

    /// <summary>One line per epoch as it ends (and for each epoch a resumed run finds done).</summary>
    private sealed class Lines(TextWriter output, int epochs) : IProgress<TrainingEpochReport>
    {
        public void Report(TrainingEpochReport value)
        {
            var e = value.Epoch;
            var c = CultureInfo.InvariantCulture;
            var line = e.Epoch == 0
                ? string.Create(c, $"epoch 0/{epochs}: base model, val mAP {e.ValidationMap:0.0000}")
                : string.Create(c, $"epoch {e.Epoch}/{epochs}: loss {e.MeanLoss:0.0000} over {e.StepLosses.Count} steps ({e.Triplets} triplets), val mAP {e.ValidationMap:0.0000}");
            output.WriteLine(value.Resumed ? line + " (stored)" : line);
        }
    }
}
