using Motif.Core.Manifests;
using Motif.Core.Signatures;
using Motif.Imaging;
using Motif.Storage.Blobs;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>
/// A version that signs each image's whole and its details (<see cref="SignatureDetails"/>), through the pipeline: the
/// shards hold every part, the signature set knows its parts, the stored graph is kept over signatures and read as the
/// graph of images, and search, the radius calibration and the recluster all compare images by
/// <see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>.
/// </summary>
public sealed class SignatureDetailsPipelineTests : IDisposable
{
    private const double Radius = 0.3;
    private readonly PipelineFixture _f = new(new ThumbnailEmbedder { ModelVersion = "thumbnail-16 details", Details = new SignatureDetails(2) });

    public void Dispose() => _f.Dispose();

    /// <summary>A photo and a reproduction of its centre detail (60 % of each side), slightly recoloured.</summary>
    private static (byte[] Original, byte[] Detail) Family(string name)
    {
        var original = TestData.Photo(name);
        return (original, ImageFixtures.Variant(original, 0.6, (1.04, 1.0, 0.97)));
    }

    private async Task<SignatureSet> LoadAsync() => await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);

    [Fact]
    public async Task Shards_graph_search_calibration_and_recluster_compare_images_by_their_nearest_whole_to_detail_pair()
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png" })
        {
            var (original, detail) = Family(name);
            await _f.Ingest.IngestAsync($"{name}/original", null, original);
            await _f.Ingest.IngestAsync($"{name}/detail", null, detail);
        }
        await _f.Signatures.ProcessAllAsync();

        // The shards are (images, parts, d) arrays, and the set reads them as rows of five signatures.
        var set = await LoadAsync();
        var width = _f.Embedder.Preprocessing.ValuesPerImage;
        Assert.Equal((8, 5, 5 * width), (set.Count, set.Parts, set.Dimension));
        var shard = (await _f.ListAsync(CollectionBlobs.SignatureShards(set.ModelVersion)))[0];
        Assert.Equal(5, NpyFile.Decode(await _f.Blobs.ReadAllBytesAsync(shard), shard).Parts);

        // The stored graph, updated incrementally, is the graph of every signature folded to images.
        var store = new NeighbourGraphStore(_f.Blobs);
        var first = await store.UpdateAsync(set, Radius);
        Assert.Equal((0, 8), (first.KeptRows, first.AppendedRows));
        await _f.Catalog.RemoveImagesAsync(["rocket.jpg/detail"]);
        await _f.Ingest.IngestAsync("camera.png", null, TestData.Photo("camera.png"));
        await _f.Ingest.IngestAsync("a-first-in-order.png", null, TestData.Photo("moon.png"));
        await _f.Signatures.ProcessAllAsync();
        set = await LoadAsync();
        var update = await store.UpdateAsync(set, Radius);
        Assert.Equal((7, 2), (update.KeptRows, update.AppendedRows));
        var scratch = NeighbourGraph.Build(set.Values, width, Radius).FoldParts(5);
        var read = await store.ReadAsync(set.ModelVersion, Radius);
        Assert.Equal(set.ImageIds, read!.Rows.Select(r => r.ImageId));
        foreach (var graph in new[] { update.Graph, read.Graph })
        {
            Assert.Equal(set.Count, graph.Count);
            Assert.Equal(scratch.RowOffsets.ToArray(), graph.RowOffsets.ToArray());
            Assert.Equal(scratch.NeighbourIndices.ToArray(), graph.NeighbourIndices.ToArray());
            Assert.Equal(scratch.NeighbourDistances.ToArray(), graph.NeighbourDistances.ToArray());
        }
        Assert.True(scratch.EntryCount > 0);

        // Search ranks by the same distances: each hit's is the image distance, and every graph pair is found.
        var search = new SearchService(set, _f.Embedder);
        foreach (var id in set.ImageIds)
        {
            var row = set.RowOf(id)!.Value;
            var hits = search.Nearest(id, set.Count - 1);
            Assert.All(hits, h => Assert.Equal(CosineRanking.ImageDistance(set.Row(row), set.Row(set.RowOf(h.ImageId)!.Value), 5), h.Distance));
            Assert.Equal(scratch.NeighboursOf(row).ToArray().Select(j => set.ImageIds[j]).Order(), hits.Where(h => h.Distance <= Radius).Select(h => h.ImageId).Order());
        }
        // An uploaded image is signed with its details too: the original of a detail finds itself first.
        Assert.Equal("coffee.png/original", search.Nearest(TestData.Photo("coffee.png"), 1)[0].ImageId);

        // The calibration measures each synthetic copy against its image's five signatures.
        var calibrated = await new RadiusCalibrator(_f.Blobs, _f.Embedder, new RadiusCalibratorOptions(MinimumImages: 2)).CalibrateAsync(set);
        Assert.True(calibrated.Result.Positives > 0);

        // The recluster reads the folded graph: every image clustered, at the image distances.
        var result = await _f.Recluster.RunAsync(set.ModelVersion, new ClusteringParameters(Radius, 2, Extraction.Xi, 0.05, null, true, null));
        Assert.True(result.Published);
        Assert.Equal((set.Count, scratch.EntryCount), (result.Images, result.NeighbourPairs));
    }
}
