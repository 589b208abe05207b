using Motif.Cli;

namespace Motif.Bench;

/// <summary>Sample collections the end-to-end benchmarks run on, written once under .cache/bench and reused.</summary>
internal static class BenchCollections
{
    /// <summary>
    /// A folder of at least <paramref name="images"/> images no longer than <paramref name="maxSide"/> pixels:
    /// <c>motif sample</c> collections of 10 families each, one per seed, until there are enough. Returns the folder
    /// and its exact number of images.
    /// </summary>
    public static (string Folder, int Images) Sample(string root, int images, int maxSide = 1024, int parallelism = 2)
    {
        var name = maxSide == 1024 ? $"run-{images}" : $"run-{images}-{maxSide}px";
        var collection = Path.Combine(root, ".cache", "bench", name);
        var count = Directory.Exists(collection) ? Directory.GetFiles(collection, SampleCollection.ImagesFile, SearchOption.AllDirectories).Sum(f => File.ReadAllLines(f).Length) : 0;
        for (var seed = 1; count < images; seed++)
        {
            var part = new DirectoryInfo(Path.Combine(collection, $"seed-{seed}"));
            if (!part.Exists)
            {
                SampleCollection.Write(part, new SampleOptions(new DirectoryInfo(SampleCollection.DefaultSource))
                {
                    Families = 10,
                    Seed = seed,
                    MaxSide = maxSide,
                    Parallelism = parallelism,
                });
                count += File.ReadAllLines(Path.Combine(part.FullName, SampleCollection.ImagesFile)).Length;
            }
        }
        return (collection, count);
    }
}
