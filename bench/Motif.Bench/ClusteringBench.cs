using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Motif.Core.Clustering;
using Motif.Core.Signatures;

namespace Motif.Bench;

/// <summary>
/// OPTICS (cosine, max_eps 0.13, min_samples 2, xi 0.05: the replica's parameters) on 2048-d signatures of a
/// synthetic collection: pattern families of 2–10 near-copies around a random centre, plus 20% unrelated
/// images. scikit-learn 1.2.1 (the anchor, same data, same run) against `motif cluster` run as its own process
/// (graph and OPTICS stage times, peak memory of the whole process), with the adjusted Rand index between
/// their labels; then Motif alone at collection scale. Then the neighbour graph alone, in this process, with each
/// screen kernel this processor runs (same run, same data, identical graphs checked), beside exact brute force in numpy
/// with OpenBLAS; on the families above and on non-negative (ReLU-like, as CNN features are) families whose unrelated
/// rows are at cosine ≈ 2/π rather than near-orthogonal, which the prefix bound finds harder.
/// </summary>
internal static partial class ClusteringBench
{
    private const int Dimension = 2048;
    private static readonly int[] Compared = [1000, 2000, 4000, 8000];
    private static readonly int[] Alone = [20000, 50000, 100000];
    // The float32 screen is quadratic over all 2048 coordinates (minutes at 50k on 2 cores): timed up to this size.
    private const int Float32Limit = 20000;
    // The scalar kernel is the int8 kernels' reference (tests compare them), not a contender: at 50k it takes minutes
    // (173 s and 414 s on the two data sets here), at 100k a quarter of an hour. Timed up to this size.
    private const int ScalarLimit = 20000;
    // numpy's brute force holds no graph, only counts; timed up to this size.
    private const int NumpyLimit = 50000;

    /// <param name="root">The repository.</param>
    /// <param name="points">The sizes to run (of 1k, 2k, 4k, 8k, 20k, 50k, 100k, or others), or null for all.</param>
    public static async Task RunAsync(string root, IReadOnlyList<int>? points = null)
    {
        var folder = Path.Combine(root, ".cache", "bench", "optics");
        Directory.CreateDirectory(folder);
        var anchor = Path.Combine(root, "bench", "anchors", "optics_anchor.py");
        var sizes = points ?? [.. Compared, .. Alone];
        Console.WriteLine($"CPU: {Cpu()}");
        Console.WriteLine();
        var rows = new List<string>();
        foreach (var n in sizes)
        {
            var npy = await SignaturesAsync(folder, n, relu: false);
            var motifLabels = Path.Combine(folder, $"{n}.motif.txt");
            var motif = MotifCluster(npy, motifLabels);
            if (!Compared.Contains(n))
            {
                rows.Add($"| {n,7:N0} | {"",9} | {motif.Graph,8:0.00} | {motif.Optics,8:0.00} | {motif.Graph + motif.Optics,8:0.00} | {"",9} | {"",5} | {motif.PeakMiB,8:N0} |");
                continue;
            }
            var sklearnLabels = Path.Combine(folder, $"{n}.sklearn.txt");
            var sklearn = Repository.Python(Repository.HugePages, anchor, npy, sklearnLabels).GetProperty("seconds").GetDouble();
            var ari = ClusteringAgreement.AdjustedRandIndex(ReadLabels(sklearnLabels), ReadLabels(motifLabels));
            var total = motif.Graph + motif.Optics;
            rows.Add($"| {n,7:N0} | {sklearn,9:0.00} | {motif.Graph,8:0.00} | {motif.Optics,8:0.00} | {total,8:0.00} | {sklearn / total,8:0}× | {ari,5:0.000} | {motif.PeakMiB,8:N0} |");
        }

        Console.WriteLine("OPTICS, cosine, max_eps 0.13, min_samples 2, xi 0.05 on 2048-d signatures (families of near-copies + 20% unrelated); 2 threads each");
        Console.WriteLine();
        Console.WriteLine("|  points | sklearn s |  graph s | OPTICS s |  Motif s | vs sklearn |   ARI | peak MiB |");
        Console.WriteLine("|--------:|----------:|---------:|---------:|---------:|----------:|------:|---------:|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine("(ARI: adjusted Rand index between sklearn's and Motif's labels; peak MiB: the whole motif process, input included)");
        Console.WriteLine();
        await KernelTableAsync(root, folder, sizes.Where(n => n >= Alone[0]).ToArray());
        await PartsTableAsync(folder, sizes.Where(n => n >= Alone[0] && n % DetailParts == 0).ToArray());
    }

    // Signatures per image of a version that signs with 2 × 2 details: the whole, then four windows.
    private const int DetailParts = 5;

    /// <summary>The graph of images signed in parts (<see cref="NeighbourGraphOptions.Parts"/>): the same rows read as
    /// images of <see cref="DetailParts"/> signatures, built screening every pair (as before the screen kept to the pairs
    /// that count) and screening only those. Both fold to the same image graph, checked.</summary>
    private static async Task PartsTableAsync(string folder, int[] sizes)
    {
        if (sizes.Length == 0)
        {
            return;
        }
        var kernel = NeighbourGraphOptions.Default.Resolve(Dimension);
        var rows = new List<string>();
        foreach (var n in sizes)
        {
            foreach (var relu in new[] { false, true })
            {
                var x = NpyFile.Read(await SignaturesAsync(folder, n, relu)).Values;
                var watch = Stopwatch.StartNew();
                var every = NeighbourGraph.Build(x, Dimension, 0.13, new NeighbourGraphOptions { Kernel = kernel }, degreeOfParallelism: 2);
                var everySeconds = watch.Elapsed.TotalSeconds;
                watch.Restart();
                var counted = NeighbourGraph.Build(x, Dimension, 0.13, new NeighbourGraphOptions { Kernel = kernel, Parts = DetailParts }, degreeOfParallelism: 2);
                var countedSeconds = watch.Elapsed.TotalSeconds;
                var (a, b) = (every.FoldParts(DetailParts), counted.FoldParts(DetailParts));
                if (!a.NeighbourIndices.SequenceEqual(b.NeighbourIndices) || !a.NeighbourDistances.SequenceEqual(b.NeighbourDistances))
                {
                    throw new InvalidOperationException($"The image graphs of {n} signatures in parts differ.");
                }
                rows.Add($"| {n / DetailParts,6:N0} | {n,10:N0} | {(relu ? "ReLU families" : "families"),13} | {everySeconds,13:0.00} | {countedSeconds,15:0.00} | {everySeconds / countedSeconds,5:0.0}× | {every.EntryCount / 2,12:N0} | {counted.EntryCount / 2,12:N0} | {a.EntryCount / 2,11:N0} |");
            }
        }
        Console.WriteLine($"Neighbour graph of images signed in {DetailParts} parts (a whole and 2 × 2 details; the same rows as above, read {DetailParts} to an image),");
        Console.WriteLine($"{kernel} screen, radius 0.13, 2 threads: screening every signature pair against only the pairs that count (a whole, two images); same image graph");
        Console.WriteLine();
        Console.WriteLine("| images | signatures |          data | every pair s | counted pairs s | ratio | pairs kept (every) | pairs kept (counted) | image pairs |");
        Console.WriteLine("|-------:|-----------:|--------------:|-------------:|----------------:|------:|-------------------:|---------------------:|------------:|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine();
    }

    /// <summary>The graph build (radius 0.13, 2 threads) with each screen kernel, and numpy's exact brute force.</summary>
    private static async Task KernelTableAsync(string root, string folder, int[] sizes)
    {
        if (sizes.Length == 0)
        {
            return;
        }
        var kernels = new[] { NeighbourGraphKernel.Scalar, NeighbourGraphKernel.Avx2, NeighbourGraphKernel.Float32 }
            .Where(NeighbourGraphOptions.IsSupported).ToArray();
        var anchor = Path.Combine(root, "bench", "anchors", "bruteforce_anchor.py");
        var rows = new List<string>();
        foreach (var n in sizes)
        {
            foreach (var relu in new[] { false, true })
            {
                var npy = await SignaturesAsync(folder, n, relu);
                var x = NpyFile.Read(npy).Values;
                var cells = new List<string>();
                long? entries = null;
                foreach (var kernel in kernels)
                {
                    if ((kernel == NeighbourGraphKernel.Float32 && n > Float32Limit) || (kernel == NeighbourGraphKernel.Scalar && n > ScalarLimit))
                    {
                        cells.Add($"{"",8}");
                        continue;
                    }
                    var watch = Stopwatch.StartNew();
                    var graph = NeighbourGraph.Build(x, Dimension, 0.13, new NeighbourGraphOptions { Kernel = kernel }, degreeOfParallelism: 2);
                    var seconds = watch.Elapsed.TotalSeconds;
                    if (graph.ScreenKernel != kernel || (entries is { } e && e != graph.EntryCount))
                    {
                        throw new InvalidOperationException($"{kernel} at {n}: kernel {graph.ScreenKernel}, {graph.EntryCount} entries, not {entries}");
                    }
                    entries = graph.EntryCount;
                    cells.Add($"{seconds,8:0.00}");
                }
                var numpy = "";
                if (n <= NumpyLimit)
                {
                    var result = Repository.Python(new Dictionary<string, string> { ["OPENBLAS_NUM_THREADS"] = "2" }, anchor, npy, "0.13");
                    if (result.GetProperty("pairs").GetInt64() * 2 != entries)
                    {
                        throw new InvalidOperationException($"numpy found {result.GetProperty("pairs").GetInt64()} pairs at {n}, Motif {entries / 2}");
                    }
                    numpy = $"{result.GetProperty("seconds").GetDouble():0.00}";
                }
                rows.Add($"| {n,7:N0} | {(relu ? "ReLU families" : "families"),13} | {string.Join(" | ", cells)} | {numpy,7} | {entries / 2,9:N0} |");
            }
        }
        Console.WriteLine("Neighbour graph alone (radius 0.13, 2048-d, 2 threads, in process): each screen kernel this CPU runs, and numpy brute force");
        Console.WriteLine($"(normalise, X·Xᵀ in 2048-row blocks, threshold; OpenBLAS, 2 threads; same run, same data, same pairs); scalar kernel up to {ScalarLimit:N0}, float32 screen up to {Float32Limit:N0}, numpy up to {NumpyLimit:N0}");
        Console.WriteLine();
        Console.WriteLine($"|  points |          data | {string.Join(" | ", kernels.Select(k => $"{k,6} s"))} | numpy s |     pairs |");
        Console.WriteLine($"|--------:|--------------:|{string.Concat(kernels.Select(_ => "---------:|"))}--------:|----------:|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine();
    }

    /// <summary>The processor's model and the SIMD flags that decide the kernels, from /proc/cpuinfo.</summary>
    private static string Cpu()
    {
        var lines = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
        var model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var flags = (lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] relevant = ["avx2", "fma", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni"];
        return $"{model}, {Environment.ProcessorCount} cores; flags: {string.Join(' ', relevant.Where(flags.Contains))}; "
            + $"kernel Auto → {NeighbourGraphOptions.Default.Resolve(Dimension)}";
    }

    /// <summary>Writes (once) n signatures as a float32 .npy matrix: families of 2–10 copies of a random unit
    /// vector with Gaussian noise (σ per family, so near-copies sit at cosine distances of about 0.02–0.08), and
    /// 20% lone random unit vectors. Seeded: every run and both sides see the same data. With <paramref name="relu"/>
    /// the centres are |Gaussian| (non-negative, as ReLU features are), so unrelated rows sit at cosine ≈ 2/π.</summary>
    private static async Task<string> SignaturesAsync(string folder, int n, bool relu)
    {
        var path = Path.Combine(folder, relu ? $"{n}.relu.npy" : $"{n}.npy");
        if (File.Exists(path))
        {
            return path;
        }
        var random = new Random(n);
        var values = new float[(long)n * Dimension];
        var row = 0;
        var centre = new double[Dimension];
        while (row < n)
        {
            var lone = random.NextDouble() < 0.2 / (0.2 + 0.8 / 6.0); // 20% of rows are lone, families average 6 rows
            var size = lone ? 1 : Math.Min(n - row, random.Next(2, 11));
            var sigma = lone ? 0 : 0.003 + 0.003 * random.NextDouble();
            Gaussian(random, centre, 1);
            if (relu)
            {
                for (var k = 0; k < Dimension; k++)
                {
                    centre[k] = Math.Abs(centre[k]);
                }
            }
            for (var member = 0; member < size; member++, row++)
            {
                var span = values.AsSpan(row * Dimension, Dimension);
                double norm = 0;
                for (var k = 0; k < Dimension; k++)
                {
                    var v = centre[k] / Math.Sqrt(Dimension) + sigma * NextGaussian(random);
                    span[k] = (float)v;
                    norm += v * v;
                }
                var inverse = (float)(1 / Math.Sqrt(norm));
                for (var k = 0; k < Dimension; k++)
                {
                    span[k] *= inverse;
                }
            }
        }
        await WriteNpyAsync(path, values, n);
        return path;
    }

    private static void Gaussian(Random random, double[] into, double scale)
    {
        for (var k = 0; k < into.Length; k++)
        {
            into[k] = scale * NextGaussian(random);
        }
    }

    private static double NextGaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static async Task WriteNpyAsync(string path, float[] values, int rows)
    {
        await using var writer = new NpyFile.Writer(path, Dimension);
        for (var row = 0; row < rows; row++)
        {
            await writer.AppendAsync(values.AsMemory(row * Dimension, Dimension));
        }
        await writer.CompleteAsync();
    }

    private static (double Graph, double Optics, double PeakMiB) MotifCluster(string npy, string labels)
    {
        var output = Repository.RunMotif("cluster", npy, "--out", labels, "--threads", "2");
        double Figure(string label) => double.Parse(Regex.Match(output, label + @"\s+([0-9.,]+)").Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        return (Figure("neighbour graph"), Figure("OPTICS ordering"), Figure("peak memory"));
    }

    private static int[] ReadLabels(string path) => File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
}
