using System.CommandLine;
using System.Globalization;
using System.Text;
using Motif.Core.Evaluation;
using Motif.Core.Manifests;
using Motif.Pipeline;
using Motif.Pipeline.Models;

namespace Motif.Cli;

/// <summary><c>motif run &lt;folder&gt;</c>: the main job on one machine (see <see cref="CollectionRun"/>).</summary>
internal static class RunCommand
{
    public static Command Create(CliProcess? process)
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "The collection: a folder of images, searched recursively." };
        var workspace = new WorkspaceArguments();
        var model = SharedOptions.Model();
        model.Description = $"{ModelCatalog.PackagedResNet50} or a checkpoint file. Default: the workspace's serving model version (`motif models`; " +
                            $"{ModelCatalog.PackagedResNet50} until `motif train` promotes one), or during a rollout the pending one, which this run signs and then makes serve.";
        var minSamples = new Option<double>("--min-samples") { Description = "OPTICS min_samples (the point itself counts).", DefaultValueFactory = _ => 2 };
        var maxEps = new Option<double?>("--max-eps")
        {
            Description = "OPTICS max_eps: the largest cosine distance that links two images. Default: the radius calibrated for the model from the collection's " +
                          $"own synthetic copies (measured once per model and stored in the workspace; {CollectionRun.FallbackRadius} when nothing can be measured).",
        };
        var xi = new Option<double>("--xi") { Description = "OPTICS xi: the steepness that delimits a cluster.", DefaultValueFactory = _ => 0.05 };
        var threads = SharedOptions.Threads("decoding, the network and the neighbour graph");
        var precision = SharedOptions.Precision();
        var batch = SharedOptions.Batch();
        var truth = new Option<FileInfo?>("--truth")
        {
            Description = $"Ground truth (morphograph CSV) to score the run against, with the workspace's annotations, on its frozen split: it is imported into the workspace " +
                          $"as `motif morphograph import` does. Default: {CollectionRun.DefaultTruthFile} in the folder, if present.",
        };
        var command = new Command("run", "Take a folder of images to clusters: validate, sign, cluster and publish a manifest. Re-runs only process what changed; an interrupted run resumes.")
        {
            folder, model, precision, minSamples, maxEps, xi, threads, batch, truth,
        };
        workspace.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var root = parse.GetRequiredValue(folder);
            if (!root.Exists)
            {
                await error.WriteLineAsync($"No such folder: {Display.Safe(root.FullName)}");
                return 2;
            }
            var outFolder = parse.GetRequiredValue(workspace.Out);
            // Refused rather than moved elsewhere: clusters, search and serve look for the workspace where --out (default
            // ./motif-data) says, so a run that silently chose another folder would leave them reading the wrong one. A
            // workspace inside the collection would take in its own derivatives on every rerun (61 → 68 → 211 → 510 files).
            // With --storage azure the state is in the account, not in --out.
            if (parse.GetValue(workspace.Storage) != StorageKind.Azure && IsWithin(outFolder, root))
            {
                await error.WriteLineAsync($"The workspace {Display.Safe(outFolder.FullName)} is inside the collection {Display.Safe(root.FullName)}, "
                    + "which would then take in its own derivatives: pass --out with a folder outside the collection.");
                return 2;
            }
            if (parse.GetValue(maxEps) is { } givenRadius && !(givenRadius is > 0 and <= 2))
            {
                await error.WriteLineAsync($"--max-eps must be a cosine distance in (0, 2], not {givenRadius.ToString(CultureInfo.InvariantCulture)}.");
                return 2;
            }
            var truthFile = parse.GetValue(truth) ?? new FileInfo(Path.Combine(root.FullName, CollectionRun.DefaultTruthFile));
            var settings = new RunSettings(root, outFolder, parse.GetValue(workspace.Storage), parse.GetResult(model) is { Implicit: false } ? parse.GetValue(model) : null, ModelCatalog.ParsePrecision(parse.GetValue(precision)!),
                new ClusteringParameters(parse.GetValue(maxEps), parse.GetValue(minSamples), Extraction.Xi, parse.GetValue(xi), null, PredecessorCorrection: true, null),
                Math.Max(1, parse.GetValue(threads)), Math.Max(1, parse.GetValue(batch)), truthFile.Exists ? truthFile : null);
            var console = CommandConsole.For(parse.InvocationConfiguration.Output);
            try
            {
                process?.UseEngineThreads(settings.Threads);
                var report = await CollectionRun.RunAsync(settings, console, cancellationToken);
                await parse.InvocationConfiguration.Output.WriteAsync(Format(report, settings));
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync("Interrupted. Everything finished so far is kept: run the same command again to resume.");
                return 130;
            }
            catch (WorkspaceBusyException e)
            {
                await error.WriteLineAsync($"{e.Message} ({Display.Safe(settings.Out.FullName)})");
                return 3;
            }
            catch (Exception e) when (WorkspaceArguments.StorageFailure(settings.Storage, settings.Out, e) is { } message)
            {
                await error.WriteLineAsync(Display.Safe(message));
                return 2;
            }
        });
        return command;
    }

    /// <summary>
    /// Whether <paramref name="folder"/> is <paramref name="collection"/> or lies below it, with links resolved on both
    /// sides (an alias of the collection is the collection). The folder need not exist yet: its nearest existing
    /// ancestor is resolved and the rest appended.
    /// </summary>
    internal static bool IsWithin(DirectoryInfo folder, DirectoryInfo collection)
    {
        var top = UnixFile.RealPath(collection.FullName) ?? collection.FullName;
        var (path, rest) = (folder.FullName.TrimEnd('/'), "");
        string? real;
        while ((real = UnixFile.RealPath(path.Length == 0 ? "/" : path)) is null && Path.GetDirectoryName(path) is { } parent)
        {
            rest = Path.Join(Path.GetFileName(path), rest);
            path = parent;
        }
        var resolved = Path.Join(real ?? path, rest).TrimEnd('/');
        return resolved == top.TrimEnd('/') || resolved.StartsWith(top.TrimEnd('/') + "/", StringComparison.Ordinal);
    }

    /// <summary>Which radius the run clustered at and why, in one line: the user's, or the calibration's numbers.</summary>
    internal static string DescribeRadius(RadiusChoice radius)
    {
        var c = CultureInfo.InvariantCulture;
        if (radius.Source == RadiusSource.Given)
        {
            return "given by --max-eps";
        }
        if (radius.Calibration is not { Result: var result } calibration)
        {
            return "the fallback: no signatures to calibrate a radius from";
        }
        if (result.Positives == 0)
        {
            return $"the fallback: {result.Reason}";
        }
        var numbers = string.Create(c,
            $"{result.PositivesKept} of {result.Positives} synthetic copies within it of their image, {result.NonNeighboursAdmitted} of {result.NonNeighbours} {result.UnrelatedSide} admitted");
        return radius.Source switch
        {
            RadiusSource.Calibrated => string.Create(c, $"calibrated for this model now from {calibration.Sampled} of {calibration.CollectionSize} images ({numbers}; {result.Reason}); stored for the next runs"),
            RadiusSource.Reused => string.Create(c, $"calibrated for this model on {calibration.CalibratedAt:yyyy-MM-dd HH:mm} UTC from {calibration.Sampled} images ({numbers}), reused"),
            _ => $"the fallback: calibration found no radius ({result.Reason}; {numbers})",
        };
    }

    /// <summary>The metadata.csv line, then up to five refused, unknown and changed rows each, with their lines.</summary>
    private static void AppendMetadata(StringBuilder text, RunReport report)
    {
        var c = CultureInfo.InvariantCulture;
        if (report.MetadataRefused is { } refused)
        {
            text.AppendLine(c, $"  metadata.csv        refused: {Display.Safe(refused)} (the previous import stands)");
            return;
        }
        if (report.Metadata is not { } m)
        {
            return;
        }
        var ignored = m.IgnoredColumns.Count > 0 ? $"; columns ignored: {Display.Safe(string.Join(", ", m.IgnoredColumns))}" : "";
        text.AppendLine(c, $"  metadata.csv        {m.Imported,8:N0}  rows imported of {m.Records:N0} ({m.Refused.Count:N0} refused, {m.Unknown.Count:N0} naming no file, {m.Notes.Count:N0} changed){ignored}");
        foreach (var (kind, problems) in new[] { ("refused", m.Refused), ("no file", m.Unknown), ("changed", m.Notes) })
        {
            foreach (var p in problems.Take(5))
            {
                text.AppendLine(c, $"      line {p.Line,6:N0} {kind}: {Display.Safe(p.Message)}");
            }
            if (problems.Count > 5)
            {
                text.AppendLine(c, $"      … and {problems.Count - 5:N0} more {kind}");
            }
        }
    }

    private static string DescribeModel(ModelChoice model) => model switch
    {
        { State: null } => "given by --model",
        { Switched: true } => "promoted: its signatures are complete, so it serves from this run on",
        { State: ModelVersionState.Pending } => "pending: being signed, the previous version still serves",
        _ => "the workspace's serving version",
    };

    internal static string Format(RunReport report, RunSettings settings)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        var r = report.Recluster;
        var manifest = r.Manifest?.Manifest;
        text.AppendLine();
        text.AppendLine(c, $"Collection {Display.Safe(settings.Folder.FullName)} → workspace {Display.Safe(report.Workspace)}");
        text.AppendLine(c, $"  files               {report.Files,8:N0}  ({report.NewOrChanged:N0} new or changed, {report.Unchanged:N0} unchanged, {report.Removed:N0} removed since the last run)");
        text.AppendLine(c, $"  accepted            {report.Accepted,8:N0}");
        text.AppendLine(c, $"  rejected            {report.RejectedByReason.Values.Sum(),8:N0}{(report.RejectedByReason.Count == 0 ? "" : "  (" + string.Join(", ", report.RejectedByReason.Select(p => $"{p.Key} {p.Value}")) + "; in quarantine with their reasons)")}");
        text.AppendLine(c, $"  signatures          {report.Signatures,8:N0}  ({report.SignedThisRun:N0} computed in this run{(report.SignatureFailures.Count > 0 ? $", {report.SignatureFailures.Count} failed: " + string.Join(", ", report.SignatureFailures.GroupBy(f => f.ReasonCode).Select(g => $"{g.Key} {g.Count()}")) : "")})");
        AppendMetadata(text, report);
        if (manifest is not null)
        {
            text.AppendLine(c, $"  clusters            {manifest.Counts.Clusters,8:N0}  ({manifest.Counts.Images - manifest.Counts.Noise:N0} images in clusters, largest {(manifest.Clusters.Count == 0 ? 0 : manifest.Clusters.Max(k => k.Size))})");
            text.AppendLine(c, $"  noise               {manifest.Counts.Noise,8:N0}");
            text.AppendLine(c, $"  manifest            {manifest.RunId}{(r.Published ? " (published)" : " (unchanged input: the latest manifest stands)")}");
        }
        else
        {
            text.AppendLine("  clusters            no signatures to cluster");
        }
        text.AppendLine(c, $"  radius (max_eps)    {report.Radius.Value,8:0.####}  {DescribeRadius(report.Radius)}");
        if (report.Model is { } model)
        {
            text.AppendLine(c, $"  model               {Display.Safe(model.Version)}  ({DescribeModel(model)})");
        }
        text.AppendLine();
        text.AppendLine("Stage timings");
        text.AppendLine(c, $"  intake (validate, derivatives, catalog)  {report.Intake.TotalSeconds,8:0.00} s");
        text.AppendLine(c, $"  signatures (preprocess, embed, shards)   {report.Signing.TotalSeconds,8:0.00} s{(report.SignedThisRun > 0 ? $"  ({report.SignedThisRun / Math.Max(report.Signing.TotalSeconds, 1e-9):0.0} images/s)" : "")}");
        text.AppendLine(c, $"  load signatures                          {report.LoadSignatures.TotalSeconds,8:0.00} s");
        if (report.Radius.Source == RadiusSource.Calibrated)
        {
            text.AppendLine(c, $"  radius calibration (copies, embed)       {report.Calibration.TotalSeconds,8:0.00} s");
        }
        if (report.Graph is { } g)
        {
            text.AppendLine(c, $"  neighbour graph update                   {report.GraphUpdate.TotalSeconds,8:0.00} s  ({g.Graph.EntryCount:N0} pairs within {report.Parameters.MaxEps:0.####}; rows: {g.AppendedRows:N0} new, {g.KeptRows:N0} reused from the stored graph)");
            if (g.LocalFeatures is { } f)
            {
                text.AppendLine(c, $"    of which local features               {f.Time.TotalSeconds,8:0.00} s  ({f.Refuted:N0} of {f.Judged:N0} judged pairs refuted and left out; {f.Extracted:N0} images' features found, {f.Compared:N0} pairs matched now; {f.Matcher})");
            }
        }
        text.AppendLine(c, $"  load graph and catalog                   {r.Load.TotalSeconds,8:0.00} s  ({r.Images:N0} rows clustered{(r.StaleRows > 0 ? $", {r.StaleRows:N0} stale rows left out" : "")})");
        if (r.Published)
        {
            text.AppendLine(c, $"  OPTICS + xi extraction                   {r.Optics.TotalSeconds,8:0.00} s");
            text.AppendLine(c, $"  map layout                               {r.Map.TotalSeconds,8:0.00} s  ({r.MapKept:N0} images kept in place)");
            text.AppendLine(c, $"  publish manifest and map                 {r.Publish.TotalSeconds,8:0.00} s");
        }
        else
        {
            text.AppendLine("  OPTICS, publication                      skipped: same images, model and parameters as the latest manifest");
        }
        text.AppendLine(c, $"  total                                    {report.Total.TotalSeconds,8:0.00} s");
        if (report.Evaluation is { } e)
        {
            text.AppendLine();
            var split = string.Join(", ", Enum.GetValues<SplitPart>().Select(p => string.Create(c, $"{MorphographSplit.NameOf(p)} {e.Truth.Split.ImagesOf(p).Count:N0}")));
            text.AppendLine(c, $"Against the ground truth {Display.Safe(e.TruthFile)} with {e.Truth.Annotations:N0} annotations in effect ({e.Truth.Morphograph.Images.Count:N0} images; " +
                               $"frozen split {split}; data version {e.Truth.DataVersion[..12]}), as `motif evaluate --split test|all` scores it:");
            foreach (var (name, scored) in new[] { ("test", e.Test), ("all ", e.All) })
            {
                if (scored.QueryImages == 0)
                {
                    text.AppendLine(c, $"  {name}  retrieval  no artwork of this part has a signature");
                    continue;
                }
                var recalls = string.Join("   ", scored.Retrieval.RecallAtK.Where(k => k.K is 1 or 10 or 20).Select(k => string.Create(c, $"R@{k.K} {k.Recall:0.000}")));
                text.AppendLine(c, $"  {name}  retrieval  mAP {scored.Retrieval.MeanAveragePrecision:0.000}   {recalls}   median rank {scored.Retrieval.MedianRank:0.#}   ({scored.QueryImages:N0} queries)");
                if (scored.Clusters is { } clusters)
                {
                    text.AppendLine(c, $"  {name}  clusters   precision {clusters.MeanPrecision:0.000}   recall {clusters.MeanRecall:0.000}   ({clusters.Components.Count:N0} families, {clusters.AllNoiseComponentCount:N0} left entirely as noise)");
                }
            }
        }
        text.AppendLine();
        var storage = settings.Storage == StorageKind.Embedded ? "" : $" --storage {settings.Storage.ToString().ToLowerInvariant()}";
        text.AppendLine(c, $"Next: motif clusters --out {Display.Safe(settings.Out.ToString())}{storage}   ·   motif serve --out {Display.Safe(settings.Out.ToString())}{storage}");
        return text.ToString();
    }
}
