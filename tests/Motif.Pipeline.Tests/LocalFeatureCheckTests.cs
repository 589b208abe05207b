using Motif.Core.Manifests;
using Motif.Imaging;
using Motif.Imaging.OpenCv;
using Motif.Storage.Blobs;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>
/// The neighbour graph judged by local features (<see cref="LocalFeatureCheck"/>, with the <see cref="SiftMatcher"/> the
/// hosts that sign register): a copy of a detail keeps its pair with its source, loses the pairs with the neighbouring
/// part of the photograph and with unrelated images, and an image too flat to verify keeps the pairs its signature
/// gives it. The verdicts are stored with the graph, read by hosts without a matcher, and reused by later updates.
/// </summary>
public sealed class LocalFeatureCheckTests : IDisposable
{
    // Every pair within the radius: the verdicts alone decide which pairs stay.
    private const double Radius = 2;
    private readonly PipelineFixture _f = new();
    private readonly SiftMatcher _matcher = new();

    public void Dispose() => _f.Dispose();

    private async Task<SignatureSet> LoadAsync() => await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);

    private static HashSet<(string, string)> Pairs(SignatureSet set, Core.Signatures.NeighbourGraph graph)
    {
        var pairs = new HashSet<(string, string)>();
        for (var i = 0; i < graph.Count; i++)
        {
            foreach (var j in graph.NeighboursOf(i).ToArray().Where(j => j > i))
            {
                var (a, b) = (set.ImageIds[i], set.ImageIds[j]);
                pairs.Add(string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a));
            }
        }
        return pairs;
    }

    [Fact]
    public async Task Pairs_that_local_features_refute_leave_the_graph_for_every_reader_and_verdicts_are_reused()
    {
        // Two neighbouring halves of one photograph, a copy of a detail of the left one (60 % of each side, turned 5°,
        // recoloured), an unrelated photograph and a flat image with no features.
        var coffee = TestData.Photo("coffee.png");
        var left = ImageVariants.Crop(coffee, new RelativeArea(0, 0, 0.5, 1));
        await _f.Ingest.IngestAsync("left", null, left);
        await _f.Ingest.IngestAsync("right", null, ImageVariants.Crop(coffee, new RelativeArea(0.5, 0, 0.5, 1)));
        await _f.Ingest.IngestAsync("copy", null,
            ImageVariants.ColourShift(ImageVariants.Rotate(ImageVariants.Crop(left, new RelativeArea(0.2, 0.2, 0.6, 0.6)), 5), [1.1, 0.95, 0.8], [5, 0, -10]));
        await _f.Ingest.IngestAsync("chelsea", null, TestData.Photo("chelsea.png"));
        await _f.Ingest.IngestAsync("flat", null, ImageFixtures.Encode(ImageFixtures.Solid(120, 90, 90, 120, 150), 120, 90, 3, ".png"));
        await _f.Signatures.ProcessAllAsync();
        var set = await LoadAsync();

        var store = new NeighbourGraphStore(_f.Blobs, _matcher);
        var first = await store.UpdateAsync(set, Radius);
        var report = Assert.IsType<LocalFeatureCheckReport>(first.LocalFeatures);
        // Four images have features enough: their six pairs are judged, and only the copy and its source stand.
        Assert.Equal((_matcher.Version, 5, 6, 6, 5), (report.Matcher, report.Extracted, report.Compared, report.Judged, report.Refuted));
        var pairs = Pairs(set, first.Graph);
        Assert.Contains(("copy", "left"), pairs);
        Assert.DoesNotContain(("copy", "right"), pairs);
        Assert.DoesNotContain(("left", "right"), pairs);
        Assert.DoesNotContain(("chelsea", "copy"), pairs);
        // The flat image cannot be verified: its pairs stay as its signature gives them.
        Assert.Equal(4, pairs.Count(p => p.Item1 == "flat" || p.Item2 == "flat"));
        Assert.Equal(5, pairs.Count);
        // Each content's features are stored under the matcher's version.
        Assert.Equal(5, (await _f.ListAsync($"features/")).Count);

        // A host without a matcher (the Functions app) reads the same graph, and so does the recluster.
        var read = await new NeighbourGraphStore(_f.Blobs).ReadAsync(set.ModelVersion, Radius);
        Assert.Equal(first.Graph.NeighbourIndices.ToArray(), read!.Graph.NeighbourIndices.ToArray());
        var recluster = await _f.Recluster.RunAsync(set.ModelVersion, new ClusteringParameters(Radius, 2, Extraction.Xi, 0.05, null, true, null));
        var clusters = recluster.Manifest!.Manifest.Clusters;
        Assert.Contains(clusters, c => c.Members.Select(m => m.ImageId).Order().SequenceEqual(["copy", "left"]));
        Assert.DoesNotContain(clusters, c => c.Members.Any(m => m.ImageId == "right") && c.Members.Any(m => m.ImageId == "copy"));

        // A new image: only its pairs are matched, with the stored features of the others.
        await _f.Ingest.IngestAsync("rocket", null, TestData.Photo("rocket.jpg"));
        await _f.Signatures.ProcessAllAsync();
        set = await LoadAsync();
        var second = await store.UpdateAsync(set, Radius);
        Assert.Equal((1, 4, 10), (second.LocalFeatures!.Extracted, second.LocalFeatures.Compared, second.LocalFeatures.Judged));
        Assert.Contains(("copy", "left"), Pairs(set, second.Graph));

        // Nothing changed: no write, and the same graph.
        var again = await store.UpdateAsync(set, Radius);
        Assert.Equal((0, null), (again.AppendedRows, again.LocalFeatures));
        Assert.Equal(second.Graph.NeighbourIndices.ToArray(), again.Graph.NeighbourIndices.ToArray());

        // A matcher of another version judges every pair again; a host that updates without one keeps no verdicts.
        var stricter = new SiftMatcher(new SiftMatcherOptions { VerifiedInliers = 9 });
        var redone = await new NeighbourGraphStore(_f.Blobs, stricter).UpdateAsync(set, Radius);
        Assert.Equal((stricter.Version, 10), (redone.LocalFeatures!.Matcher, redone.LocalFeatures.Compared));
        var unjudged = await new NeighbourGraphStore(_f.Blobs).UpdateAsync(set, Radius);
        Assert.Null(unjudged.LocalFeatures);
        Assert.Equal(set.Count * (set.Count - 1), unjudged.Graph.EntryCount);
    }

    [Fact]
    public async Task Damaged_verdicts_are_not_trusted_and_the_graph_is_rebuilt()
    {
        await _f.Ingest.IngestAsync("coffee", null, TestData.Photo("coffee.png"));
        await _f.Ingest.IngestAsync("chelsea", null, TestData.Photo("chelsea.png"));
        await _f.Signatures.ProcessAllAsync();
        var set = await LoadAsync();
        var store = new NeighbourGraphStore(_f.Blobs, _matcher);
        await store.UpdateAsync(set, Radius);

        var name = NeighbourGraphStore.BlobName(set.ModelVersion, Radius);
        var bytes = await _f.Blobs.ReadAllBytesAsync(name);
        await _f.Blobs.PutAsync(name, new MemoryStream(bytes[..^1]), new BlobPutOptions());
        Assert.Null(await store.ReadAsync(set.ModelVersion, Radius));
        var rebuilt = await store.UpdateAsync(set, Radius);
        Assert.Equal((0, 2, 1), (rebuilt.KeptRows, rebuilt.AppendedRows, rebuilt.LocalFeatures!.Judged));
        Assert.NotNull(await store.ReadAsync(set.ModelVersion, Radius));

        // Verdicts that read back but are not the graph's (the one pair's second image made its first): not trusted either.
        bytes = await _f.Blobs.ReadAllBytesAsync(name);
        bytes.AsSpan(bytes.Length - 12, 4).CopyTo(bytes.AsSpan(bytes.Length - 8, 4));
        await _f.Blobs.PutAsync(name, new MemoryStream(bytes), new BlobPutOptions());
        Assert.Null(await store.ReadAsync(set.ModelVersion, Radius));
        Assert.Equal(2, (await store.UpdateAsync(set, Radius)).AppendedRows);
    }
}
