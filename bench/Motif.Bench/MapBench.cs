using System.Diagnostics;
using Motif.Core.Layout;
using Motif.Core.Signatures;

namespace Motif.Bench;

/// <summary>
/// The map's layout (<see cref="MapLayout"/>, umap-learn's defaults) at collection scale, on synthetic signatures
/// that give every point a full k = 15 neighbourhood, the layout's worst case (a real collection at max_eps 0.13 has
/// far fewer edges): families that are 2D patches in 16-d (a centre and a plane of variation, as one motif photographed
/// varying two ways), the radius chosen to hold ~15–40 neighbours a row. Prints the graph build (not the layout's cost,
/// for scale), the full layout, an incremental update adding 1% new images, and trustworthiness at k = 10 on a
/// 3,000-point sample (the metric is O(n²)). There is no anchor: umap-learn is not installable here.
/// </summary>
internal static class MapBench
{
    private const int Dimension = 16;

    public static void Run(IReadOnlyList<int>? points = null)
    {
        Console.WriteLine("Map layout (UMAP, k 15, 200 epochs above 10k points, 5 negative samples, one thread by design: deterministic)");
        Console.WriteLine();
        Console.WriteLine("|  points | families | graph s | pairs | layout s (CPU s) | +1% update s (CPU s) | moved old | T(10), 3k sample |");
        Console.WriteLine("|--------:|---------:|--------:|------:|-----------------:|---------------------:|----------:|-----------------:|");
        foreach (var n in points ?? [100_000])
        {
            var families = Math.Max(1, n / 1000);
            var x = Families(n, families, seed: 1);
            var watch = Stopwatch.StartNew();
            var old = n - n / 100;
            var oldGraph = NeighbourGraph.Build(x.AsMemory(0, old * Dimension), Dimension, 0.004, degreeOfParallelism: 2);
            var graph = oldGraph.Append(x, degreeOfParallelism: 2);
            var graphSeconds = watch.Elapsed.TotalSeconds;

            // The layout runs on one thread: its CPU time is what it takes on a quiet core, whatever else the machine runs.
            var process = Process.GetCurrentProcess();
            watch.Restart();
            var cpu = process.TotalProcessorTime;
            var before = MapLayout.Compute(oldGraph);
            var layoutSeconds = watch.Elapsed.TotalSeconds;
            process.Refresh();
            var layoutCpu = (process.TotalProcessorTime - cpu).TotalSeconds;

            var fixedPositions = Enumerable.Range(0, n).Select(i => i < old ? before[i] : (MapPoint?)null).ToArray();
            watch.Restart();
            cpu = process.TotalProcessorTime;
            var after = MapLayout.Compute(graph, fixedPositions: fixedPositions);
            var updateSeconds = watch.Elapsed.TotalSeconds;
            process.Refresh();
            var updateCpu = (process.TotalProcessorTime - cpu).TotalSeconds;
            var moved = Enumerable.Range(0, old).Count(i => after[i] != before[i]);

            var sample = Enumerable.Range(0, n).Where(i => i % Math.Max(1, n / 3000) == 0).Take(3000).ToArray();
            var sampled = sample.SelectMany(i => x.AsSpan(i * Dimension, Dimension).ToArray()).ToArray();
            var t = Trustworthiness.Compute(sampled, Dimension, [.. sample.Select(i => after[i])], 10);
            Console.WriteLine($"| {n,7:N0} | {families,8:N0} | {graphSeconds,7:0.0} | {graph.EntryCount / 2,5:N0} | {layoutSeconds,7:0.0} ({layoutCpu,6:0.0}) | {updateSeconds,11:0.0} ({updateCpu,6:0.0}) | {moved,9} | {t,16:0.000} |");
        }
        Console.WriteLine();
    }

    private static float[] Families(int n, int families, int seed)
    {
        var random = new Random(seed);
        var frames = Enumerable.Range(0, families * 3).Select(_ => Unit(random)).ToArray();
        var x = new float[n * Dimension];
        var row = new double[Dimension];
        for (var i = 0; i < n; i++)
        {
            var f = random.Next(families);
            double u = random.NextDouble() * 2 - 1, v = random.NextDouble() * 2 - 1;
            for (var d = 0; d < Dimension; d++)
            {
                row[d] = frames[3 * f][d] + 0.35 * (u * frames[3 * f + 1][d] + v * frames[3 * f + 2][d]);
            }
            var norm = Math.Sqrt(row.Sum(a => a * a));
            for (var d = 0; d < Dimension; d++)
            {
                x[i * Dimension + d] = (float)(row[d] / norm);
            }
        }
        return x;
    }

    private static double[] Unit(Random random)
    {
        var v = Enumerable.Range(0, Dimension).Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())).ToArray();
        var norm = Math.Sqrt(v.Sum(a => a * a));
        return [.. v.Select(a => a / norm)];
    }
}
