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
/// their labels; then Motif alone at collection scale.
/// </summary>
internal static partial class ClusteringBench
{
    private const int Dimension = 2048;
    private static readonly int[] Compared = [1000, 2000, 4000, 8000];
    private static readonly int[] Alone = [20000, 50000, 100000];

    public static async Task RunAsync(string root)
    {
        var folder = Path.Combine(root, ".cache", "bench", "optics");
        Directory.CreateDirectory(folder);
        var anchor = Path.Combine(root, "bench", "anchors", "optics_anchor.py");
        var rows = new List<string>();
        foreach (var n in Compared.Concat(Alone))
        {
            var npy = await SignaturesAsync(folder, n);
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
    }

    /// <summary>Writes (once) n signatures as a float32 .npy matrix: families of 2–10 copies of a random unit
    /// vector with Gaussian noise (σ per family, so near-copies sit at cosine distances of about 0.02–0.08), and
    /// 20% lone random unit vectors. Seeded: every run and both sides see the same data.</summary>
    private static async Task<string> SignaturesAsync(string folder, int n)
    {
        var path = Path.Combine(folder, $"{n}.npy");
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
