using System.CommandLine;
using System.Globalization;
using System.Text;
using Motif.Core.Evaluation;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Annotations;
using Microsoft.Extensions.DependencyInjection;

namespace Motif.Cli;

/// <summary>
/// <c>motif evaluate</c>: a model version's signatures in a workspace scored against the workspace's ground truth
/// (<see cref="GroundTruth"/>: the morphograph imported by <c>motif morphograph import</c> with the curators' annotations
/// in effect, <c>motif annotate</c>), DUPLICATE photographs merged, on one part of the frozen split (test by
/// default). Prints the standard figures beside the research's own (<see cref="MorphographEvaluation"/>).
/// </summary>
internal static class EvaluateCommand
{
    private static readonly string[] Parts = ["test", "validation", "train", "all"];

    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var split = new Option<string>("--split")
        {
            Description = "The part of the frozen split whose images are the queries: test (default), validation, train or all.",
            DefaultValueFactory = _ => "test",
        };
        var model = SharedOptions.Model("The model whose signatures are scored");
        var precision = SharedOptions.Precision();
        var seed = new Option<int>("--seed") { Description = "Seed of the random negatives of the verification triplets.", DefaultValueFactory = _ => 0 };
        var command = new Command("evaluate", "Score a model's signatures in a workspace against its imported morphograph: mAP, recall@k, precision@k, " +
                                              "ranks, cluster precision/recall and triplet verification, on the frozen split's test part by default.")
        {
            split, model, precision, seed,
        };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var partName = parse.GetValue(split)!;
            if (!Parts.Contains(partName))
            {
                await error.WriteLineAsync($"--split: expected test, validation, train or all; got '{Display.Safe(partName)}'.");
                return 2;
            }
            var modelName = parse.GetValue(model)!;
            if (modelName != ModelCatalog.PackagedResNet50 && !File.Exists(modelName))
            {
                await error.WriteLineAsync($"--model: no such checkpoint file: {Display.Safe(modelName)}");
                return 2;
            }
            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            GroundTruth? truth;
            try
            {
                // The imported morphograph with the curators' annotations; new components are frozen in the split here.
                truth = await GroundTruth.LoadAsync(workspace.Blobs, workspace.Services.GetRequiredService<IAnnotationStore>(), cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is FormatException or InvalidDataException)
            {
                await error.WriteLineAsync(Display.Safe($"The workspace's morphograph is unreadable: {e.Message}"));
                return 2;
            }
            if (truth is null)
            {
                await error.WriteLineAsync($"The workspace has no morphograph: run `motif morphograph import <csv> --out {Display.Safe(parse.GetRequiredValue(workspaceArguments.Out).FullName)}` " +
                                           "or annotate clusters (`motif annotate`) first.");
                return 2;
            }
            var version = EngineSignatureEmbedder.VersionOf(ModelCatalog.VersionOf(modelName), precision: ModelCatalog.ParsePrecision(parse.GetValue(precision)!));
            var set = await SignatureSet.LoadAsync(workspace.Blobs, workspace.Catalog, version, cancellationToken);
            if (set.Count == 0)
            {
                await error.WriteLineAsync($"The workspace has no signatures from {version}.");
                return 2;
            }
            // Cluster labels from the latest manifest, when it was made from these signatures.
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            IReadOnlyDictionary<string, int>? labels = null;
            if (latest?.Manifest is { } manifest && manifest.ModelVersion == version)
            {
                var number = manifest.Clusters.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
                labels = manifest.Images.ToDictionary(i => i.ImageId, i => i.ClusterId is null ? -1 : number[i.ClusterId], StringComparer.Ordinal);
            }
            SplitPart? part = partName switch { "test" => SplitPart.Test, "validation" => SplitPart.Validation, "train" => SplitPart.Train, _ => null };
            var report = MorphographEvaluation.Evaluate(truth.Duplicates, truth.Split, part, set.Values, set.ImageIds, labels,
                parse.GetValue(seed), Environment.ProcessorCount, set.Parts, cancellationToken);
            await parse.InvocationConfiguration.Output.WriteAsync(Table(report, version, partName, truth.DataVersion, truth.Annotations));
            return 0;
        });
        return command;
    }

    /// <summary>The figures as a table for people: the standard column beside the research's own.</summary>
    internal static string Table(MorphographEvaluationReport report, string modelVersion, string partName, string dataVersion, int annotations)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var line = (string s) => text.Append(s).Append('\n');
        string F(double v) => double.IsNaN(v) ? "    –" : v.ToString("0.000", c).PadLeft(5);
        var (r, seed) = (report.Retrieval, report.SeedCompatible);
        line($"Model {Display.Safe(modelVersion)} against the morphograph (data version {dataVersion}, {annotations} annotations in effect), {partName} part: " +
             $"{report.QueryImages} artworks as queries ({report.ImagesWithoutSignature} without a signature), gallery {report.GallerySize}.");
        line("retrieval        standard   seed-compatible (Replica code: capped list, recall over hits in it)");
        line($"  mAP            {F(r.MeanAveragePrecision)}      {F(seed.MeanAveragePrecision)}");
        for (var i = 0; i < r.RecallAtK.Count; i++)
        {
            line(string.Create(c, $"  R@{r.RecallAtK[i].K,-4}         {F(r.RecallAtK[i].Recall)}      {F(seed.RecallAtK[i].Recall)}"));
        }
        foreach (var p in r.PrecisionAtK)
        {
            line(string.Create(c, $"  P@{p.K,-4}         {F(p.Precision)}"));
        }
        line(string.Create(c, $"  mean rank      {r.MeanRank,7:0.0}    {seed.MeanPosition,7:0.0} (0-based position, misses at {seed.PositionCap})"));
        line(string.Create(c, $"  median rank    {r.MedianRank,7:0.0}    {seed.MeanMedianPosition,7:0.0}"));
        line(string.Create(c, $"  first rank     {r.MeanFirstRank,7:0.0}    {seed.MeanFirstPosition,7:0.0}"));
        if (report.Clusters is { } clusters)
        {
            line(string.Create(c, $"clusters         precision {F(clusters.MeanPrecision)}   recall {F(clusters.MeanRecall)}   over {clusters.Components.Count} components " +
                                  $"({clusters.AllNoiseComponentCount} all noise), latest manifest"));
        }
        else
        {
            line("clusters         no manifest from these signatures: run `motif run` to cluster them");
        }
        if (report.Verification is { } v)
        {
            var calibrated = report.CalibrationPart is { } on ? $"calibrated on {MorphographSplit.NameOf(on)}" : "calibrated on these triplets (no other part had any)";
            line(string.Create(c, $"verification     {v.TripletCount} triplets   accuracy {F(v.TripletAccuracy)}   ROC AUC {F(v.RocAuc)} " +
                                  $"(Painter-by-Numbers grid {F(v.SeedGridRocAuc)})"));
            line(string.Create(c, $"  threshold {v.Threshold:0.0000} ({calibrated})   pair accuracy {F(v.PairAccuracy)}   TPR {F(v.TruePositiveRate)}   FPR {F(v.FalsePositiveRate)}"));
        }
        else
        {
            line("verification     no POSITIVE pair in this part with a signature at both ends");
        }
        return text.ToString();
    }
}
