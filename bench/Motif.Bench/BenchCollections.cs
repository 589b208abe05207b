using System.Globalization;

namespace Motif.Bench;

/// <summary>Sample collections the end-to-end benchmarks run on, written once under .cache/bench and reused.</summary>
internal static class BenchCollections
{
    /// <summary>
    /// A folder of at least <paramref name="images"/> images: <c>motif sample</c> collections of 10 families each, one
    /// per seed, until there are enough. Returns the folder and its exact number of images.
    /// </summary>
    public static (string Folder, int Images) Sample(string root, int images)
    {
        var collection = Path.Combine(root, ".cache", "bench", $"run-{images}");
        var count = Directory.Exists(collection) ? Directory.GetFiles(collection, "images.txt", SearchOption.AllDirectories).Sum(f => File.ReadAllLines(f).Length) : 0;
        for (var seed = 1; count < images; seed++)
        {
            var part = Path.Combine(collection, $"seed-{seed}");
            if (!Directory.Exists(part))
            {
                Repository.RunMotif("sample", part, "--families", "10", "--seed", seed.ToString(CultureInfo.InvariantCulture));
                count += File.ReadAllLines(Path.Combine(part, "images.txt")).Length;
            }
        }
        return (collection, count);
    }
}
