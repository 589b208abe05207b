using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;

namespace Motif.Cli;

/// <summary>
/// <c>motif cluster &lt;signatures.npy&gt; --out labels.txt</c>: OPTICS with cosine distance over a float32 N × D
/// matrix, scikit-learn's parameters and extractions, one label per line (−1 = noise), and the time of each
/// stage, so anyone can compare Motif with <c>sklearn.cluster.OPTICS(metric='cosine', ...)</c> from outside.
/// </summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var input = new Argument<FileInfo>("signatures") { Description = "A float32 N × D .npy matrix (rows need not be normalised), or N × parts × D as motif embed writes a version that signs details." };
        var output = new Option<FileInfo>("--out") { Description = "Labels, one per line: the cluster number, or -1 for noise.", Required = true };
        var maxEps = new Option<double>("--max-eps")
        {
            Description = "Largest neighbourhood radius, as a cosine distance ('inf' for none).",
            DefaultValueFactory = _ => 0.13,
            CustomParser = r => ParseDistance(r.Tokens.Single().Value),
        };
        var minSamples = new Option<double>("--min-samples") { Description = "Points (the point itself included) that make a core point; a fraction ≤ 1 means that share of N.", DefaultValueFactory = _ => 2 };
        var xi = new Option<double>("--xi") { Description = "Minimum steepness of a cluster boundary (xi extraction).", DefaultValueFactory = _ => 0.05 };
        var minClusterSize = new Option<double?>("--min-cluster-size") { Description = "Smallest cluster (xi extraction); default: --min-samples." };
        var extract = new Option<string>("--extract") { Description = "xi or dbscan.", DefaultValueFactory = _ => "xi" };
        extract.AcceptOnlyFromAmong("xi", "dbscan");
        var eps = new Option<double?>("--eps") { Description = "Radius of the DBSCAN extraction (required with --extract dbscan; at most --max-eps)." };
        var threads = SharedOptions.Threads("the neighbour graph");
        var manifest = new Option<FileInfo?>("--manifest") { Description = "Also write the cluster manifest (JSON); rows are named by <signatures>.ids.txt." };
        var command = new Command("cluster", "Cluster signatures with OPTICS (cosine), as scikit-learn does, and write one label per line.")
        {
            input, output, maxEps, minSamples, xi, minClusterSize, extract, eps, threads, manifest,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var dbscan = parse.GetValue(extract) == "dbscan";
            if (dbscan && parse.GetValue(eps) is null)
            {
                await error.WriteLineAsync("--extract dbscan needs --eps.");
                return 2;
            }
            var path = parse.GetRequiredValue(input).FullName;
            var matrix = NpyFile.Read(path);
            var (rows, columns, values) = matrix;
            var parameters = new ClusteringParameters(
                parse.GetValue(maxEps), parse.GetValue(minSamples), dbscan ? Extraction.Dbscan : Extraction.Xi,
                dbscan ? null : parse.GetValue(xi), dbscan ? null : parse.GetValue(minClusterSize), PredecessorCorrection: true,
                dbscan ? parse.GetValue(eps) : null);

            var clock = Stopwatch.StartNew();
            // Rows of a version that signs details (a 3-D array: images, parts, d): the graph of every signature, read
            // as the graph of images at their nearest whole-detail pair, as motif run clusters them.
            var graph = NeighbourGraph.Build(values, columns / matrix.Parts, parameters.MaxEps ?? double.PositiveInfinity, NeighbourGraphOptions.Default with { Parts = matrix.Parts },
                Math.Max(1, parse.GetValue(threads)), cancellationToken).FoldParts(matrix.Parts);
            var graphSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var optics = Optics.Order(graph, parameters.MinSamples);
            var opticsSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var labels = dbscan
                ? Optics.ExtractDbscan(optics, parameters.Eps!.Value)
                : Optics.ExtractXi(optics, parameters.Xi!.Value, parameters.MinClusterSize).Labels;
            var extractSeconds = clock.Elapsed.TotalSeconds;

            var labelsPath = parse.GetRequiredValue(output).FullName;
            await File.WriteAllLinesAsync(labelsPath, labels.Select(l => l.ToString(CultureInfo.InvariantCulture)), cancellationToken);
            if (parse.GetValue(manifest) is { } manifestFile)
            {
                var ids = await File.ReadAllLinesAsync(Path.ChangeExtension(path, ".ids.txt"), cancellationToken);
                var run = new ManifestRun($"run-{DateTimeOffset.UtcNow:yyyyMMddTHHmmssZ}", DateTimeOffset.UtcNow, Path.GetFileName(path), parameters);
                var document = matrix.Parts == 1
                    ? ClusterManifest.Create(run, ids, values, columns, optics, labels, previous: null)
                    : ClusterManifest.Create(run, ids, graph, optics, labels, previous: null);
                await File.WriteAllTextAsync(manifestFile.FullName, document.ToJson(), cancellationToken);
            }

            var clusters = labels.Where(l => l >= 0).Distinct().Count();
            await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{rows} signatures ({columns}-d): {clusters} clusters, {labels.Count(l => l < 0)} noise → {Display.Safe(labelsPath)}\n" +
                $"  neighbour graph  {graphSeconds,8:0.000} s  ({graph.EntryCount:N0} pairs within {parameters.MaxEps?.ToString("0.###", CultureInfo.InvariantCulture) ?? "∞"})\n" +
                $"  OPTICS ordering  {opticsSeconds,8:0.000} s\n" +
                $"  {(dbscan ? "DBSCAN" : "xi") + " extraction",-16} {extractSeconds,8:0.000} s\n" +
                $"  peak memory      {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,8:0} MiB"));
            return 0;
        });
        return command;
    }

    private static double ParseDistance(string text) =>
        text.Trim().ToLowerInvariant() is "inf" or "infinity" or "∞"
            ? double.PositiveInfinity
            : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
