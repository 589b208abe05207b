using System.Runtime.InteropServices;
using System.Text.Json;
using Motif.Core.Manifests;
using Motif.Core.Signatures;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>motif cluster from the outside: a golden data set (tests/golden/optics, written by scikit-learn 1.2.1)
/// goes in as a .npy file, and the labels file must hold sklearn's labels.</summary>
public sealed class ClusterCommandTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-cluster-");

    public void Dispose() => _scratch.Delete(recursive: true);


    /// <summary>Writes the golden signatures as signatures.npy (+ ids) and returns the replica run's expectations.</summary>
    private async Task<(string Npy, JsonElement Run)> GoldenAsync(string name)
    {
        var golden = Path.Combine(TestData.RepositoryRoot, "tests", "golden", "optics");
        var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(golden, name + ".json"))).RootElement;
        var d = document.GetProperty("d").GetInt32();
        var values = MemoryMarshal.Cast<byte, float>(await File.ReadAllBytesAsync(Path.Combine(golden, name + ".f32"))).ToArray();
        var npy = Path.Combine(_scratch.FullName, "signatures.npy");
        await using (var writer = new NpyFile.Writer(npy, d))
        {
            for (var row = 0; row < values.Length / d; row++)
            {
                await writer.AppendAsync(values.AsMemory(row * d, d));
            }
            await writer.CompleteAsync();
        }
        await File.WriteAllLinesAsync(Path.ChangeExtension(npy, ".ids.txt"), Enumerable.Range(0, values.Length / d).Select(i => $"image-{i:D4}.jpg"));
        return (npy, document.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "replica"));
    }

    private static int[] Expected(JsonElement run, string key) => run.GetProperty(key).EnumerateArray().Select(l => l.GetInt32()).ToArray();

    [Fact]
    public async Task Xi_labels_equal_scikit_learn_s_and_the_manifest_names_the_rows()
    {
        var (npy, run) = await GoldenAsync("blobs_2048");
        var labels = Path.Combine(_scratch.FullName, "labels.txt");
        var manifest = Path.Combine(_scratch.FullName, "manifest.json");

        var (exit, output, _) = await Cli.RunAsync("cluster", npy, "--out", labels, "--max-eps", "0.13", "--min-samples", "2", "--xi", "0.05", "--manifest", manifest);

        Assert.Equal(0, exit);
        Assert.Equal(Expected(run, "labels_xi"), File.ReadAllLines(labels).Select(int.Parse));
        Assert.Contains("neighbour graph", output);
        Assert.Contains("OPTICS ordering", output);
        var document = ClusterManifest.FromJson(await File.ReadAllTextAsync(manifest));
        Assert.Equal(Expected(run, "labels_xi").Where(l => l >= 0).Distinct().Count(), document.Clusters.Count);
        Assert.StartsWith("image-", document.Clusters[0].Medoid);
    }

    [Fact]
    public async Task Rows_signed_with_details_are_clustered_at_their_image_distance()
    {
        // The golden rows as a version that signs one detail would write them: (N, 2, d), each detail a random direction,
        // unrelated to every whole (cosine distance near 1, far beyond 0.13). Images compared by their nearest
        // whole-detail pair are then as near as their wholes, and the labels stay scikit-learn's; rows compared as one
        // 2d-vector would put every pair about twice as far, and cluster nothing alike.
        var (npy, run) = await GoldenAsync("blobs_2048");
        var (rows, columns, values) = NpyFile.Read(npy);
        var random = new Random(5);
        var doubled = Enumerable.Range(0, rows)
            .SelectMany(r => values.Skip(r * columns).Take(columns).Concat(Enumerable.Range(0, columns).Select(_ => (float)(random.NextDouble() - 0.5))))
            .ToArray();
        await File.WriteAllBytesAsync(npy, NpyFile.Encode(doubled, rows, 2 * columns, parts: 2));
        var labels = Path.Combine(_scratch.FullName, "labels.txt");
        var manifest = Path.Combine(_scratch.FullName, "manifest.json");

        var (exit, output, _) = await Cli.RunAsync("cluster", npy, "--out", labels, "--max-eps", "0.13", "--min-samples", "2", "--xi", "0.05", "--manifest", manifest);

        Assert.Equal(0, exit);
        Assert.Equal(Expected(run, "labels_xi"), File.ReadAllLines(labels).Select(int.Parse));
        Assert.Equal(Expected(run, "labels_xi").Where(l => l >= 0).Distinct().Count(), ClusterManifest.FromJson(await File.ReadAllTextAsync(manifest)).Clusters.Count);
    }

    [Fact]
    public async Task Dbscan_extraction_equals_scikit_learn_s_and_needs_an_eps()
    {
        var (npy, run) = await GoldenAsync("blobs_2048");
        var labels = Path.Combine(_scratch.FullName, "dbscan.txt");
        var eps = run.GetProperty("dbscan_eps").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (missing, _, error) = await Cli.RunAsync("cluster", npy, "--out", labels, "--extract", "dbscan");
        var (exit, _, _) = await Cli.RunAsync("cluster", npy, "--out", labels, "--extract", "dbscan", "--eps", eps);

        Assert.Equal(2, missing);
        Assert.Contains("--eps", error);
        Assert.Equal(0, exit);
        Assert.Equal(Expected(run, "labels_dbscan"), File.ReadAllLines(labels).Select(int.Parse));
    }
}
