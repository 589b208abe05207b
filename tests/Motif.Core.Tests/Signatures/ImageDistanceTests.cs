using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

/// <summary>Images signed as their whole and details: <see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>,
/// the rankings built on it, and the neighbour graph folded to images (<see cref="NeighbourGraph.FoldParts"/>).</summary>
public sealed class ImageDistanceTests
{
    private const int Width = 8;   // values per signature: one SIMD vector, so the vector kernels run

    /// <summary>A unit signature along axis <paramref name="axis"/>, tilted towards axis 7 by <paramref name="tilt"/> (its cosine to the axis).</summary>
    private static float[] Along(int axis, double tilt = 1)
    {
        var x = new float[Width];
        x[axis] = (float)tilt;
        x[7] = (float)Math.Sqrt(1 - tilt * tilt);
        return x;
    }

    private static float[] Image(params float[][] parts) => [.. parts.SelectMany(p => p)];

    private static double Plain(float[] x, float[] y) => CosineRanking.Distance(x, y, CosineRanking.Dot(x, x), CosineRanking.Dot(y, y));

    [Fact]
    public void An_image_is_as_near_as_its_nearest_whole_to_detail_pair_and_details_never_meet_details()
    {
        // The painting: whole along 0, details along 1 and 2. Its reproduction of detail 2: whole along 2 (tilted).
        // An unrelated painting sharing a patch with it: whole along 3, a detail along 1, like the painting's detail 1.
        var painting = Image(Along(0), Along(1), Along(2));
        var copy = Image(Along(2, 0.9), Along(4), Along(5));
        var unrelated = Image(Along(3), Along(1), Along(6));

        Assert.Equal(Plain(Along(2, 0.9), Along(2)), CosineRanking.ImageDistance(painting, copy, 3), 15);
        Assert.Equal(CosineRanking.ImageDistance(painting, copy, 3), CosineRanking.ImageDistance(copy, painting, 3));
        // Their only shared direction is detail ↔ detail: as far apart as their wholes' nearest pair.
        Assert.Equal(1.0, CosineRanking.ImageDistance(painting, unrelated, 3), 15);
        // One part is the plain distance, to the bit.
        var (a, b) = (Along(0, 0.6), Along(0, 0.8));
        Assert.Equal(Plain(a, b), CosineRanking.ImageDistance(a, b, 1));
        Assert.Throws<ArgumentException>(() => CosineRanking.ImageDistance(painting, copy, 5));
    }

    [Fact]
    public void Rankings_search_and_evaluation_use_rank_by_the_image_distance()
    {
        var ids = new[] { "painting", "copy", "unrelated", "other" };
        var values = Image(
            Image(Along(0), Along(1), Along(2)),
            Image(Along(2, 0.9), Along(4), Along(5)),
            Image(Along(3), Along(1), Along(6)),
            Image(Along(0, 0.5), Along(6), Along(6)));

        // By wholes alone the copy is as far from the painting as the unrelated painting; with its details the nearest.
        var wholes = Enumerable.Range(0, 4).SelectMany(i => values.Skip(i * 3 * Width).Take(Width)).ToArray();
        Assert.Equal(["other", "copy", "unrelated"], CosineRanking.Rank(wholes, ids)["painting"]);
        var ranked = CosineRanking.Rank(values, ids, parts: 3);
        Assert.Equal(["copy", "other", "unrelated"], ranked["painting"]);
        Assert.Equal("painting", ranked["copy"][0]);

        var norms = CosineRanking.SquaredNorms(values, 3 * Width, parts: 3);
        Assert.Equal(12, norms.Length);
        var nearest = CosineRanking.Nearest(values, 3 * Width, norms, values.AsSpan(0, 3 * Width), 2, exclude: 0, parts: 3);
        Assert.Equal([1, 3], nearest.Select(r => r.Row));
        Assert.Equal(CosineRanking.ImageDistance(values.AsSpan(0, 3 * Width), values.AsSpan(3 * Width, 3 * Width), 3), nearest[0].Distance);

        var zeroDetail = (float[])values.Clone();
        Array.Clear(zeroDetail, 3 * Width + Width, Width);
        var refused = Assert.Throws<ArgumentException>(() => CosineRanking.Rank(zeroDetail, ids, parts: 3));
        Assert.Contains("Signature 1 ('copy', detail 1) is all zeros", refused.Message);
    }

    [Theory]
    [InlineData(2, 0.35, 40)]
    [InlineData(3, 0.2, 40)]
    [InlineData(5, 0.5, 40)]
    [InlineData(5, 0.3, 70)]   // the int8 screen's 256-position blocks: 280 detail positions take two
    public void The_folded_graph_holds_every_image_pair_within_the_radius_at_its_image_distance(int parts, double radius, int images)
    {
        const int dim = 16;
        var random = new Random(parts);
        var values = new float[images * parts * dim];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() - 0.3);   // positive-leaning, so many pairs fall within the radius
        }
        var full = NeighbourGraph.Build(values, dim, radius);
        var graph = full.FoldParts(parts);
        // Built keeping only the pairs that count (a whole, two images), it holds fewer pairs and folds the same: with
        // every screen (the int8 ones screen in their own order, NeighbourGraph.ScreenOrder), built at once and appended
        // to (17 images, then the rest: an image count that is no multiple of 4 before and after).
        var kernels = new[] { NeighbourGraphKernel.Float32, NeighbourGraphKernel.Scalar, NeighbourGraphKernel.Avx2 }.Where(NeighbourGraphOptions.IsSupported);
        foreach (var kernel in kernels)
        {
            var options = new NeighbourGraphOptions { Parts = parts, Kernel = kernel };
            var counted = NeighbourGraph.Build(values, dim, radius, options);
            for (var r = 0; r < counted.Count; r++)
            {
                Assert.All(counted.NeighboursOf(r).ToArray(), s => Assert.True((r % parts == 0 || s % parts == 0) && r / parts != s / parts));
            }
            Assert.True(counted.EntryCount < full.EntryCount);
            var appended = NeighbourGraph.Build(values.AsMemory(0, 17 * parts * dim), dim, radius, options).Append(values, options);
            foreach (var folded in new[] { counted.FoldParts(parts), appended.FoldParts(parts) })
            {
                Assert.Equal(graph.RowOffsets.ToArray(), folded.RowOffsets.ToArray());
                Assert.Equal(graph.NeighbourIndices.ToArray(), folded.NeighbourIndices.ToArray());
                Assert.Equal(graph.NeighbourDistances.ToArray(), folded.NeighbourDistances.ToArray());
            }
            // Rows are whole images, before and after.
            Assert.Throws<ArgumentException>(() => NeighbourGraph.Build(values.AsMemory(0, (parts + 1) * dim), dim, radius, options));
            Assert.Throws<ArgumentException>(() => counted.Append((float[])[.. values, .. Enumerable.Repeat(1f, dim)], options));
        }

        Assert.Equal(images, graph.Count);
        for (var i = 0; i < images; i++)
        {
            var expected = new List<(double Distance, int Index)>();
            for (var j = 0; j < images; j++)
            {
                var d = CosineRanking.ImageDistance(values.AsSpan(i * parts * dim, parts * dim), values.AsSpan(j * parts * dim, parts * dim), parts);
                if (j != i && d <= radius)
                {
                    expected.Add((d, j));
                }
            }
            expected.Sort();
            Assert.Equal(expected.Select(e => e.Index), graph.NeighboursOf(i).ToArray());
            Assert.Equal(expected.Select(e => e.Distance), graph.DistancesOf(i).ToArray());
        }
        Assert.True(graph.EntryCount > 0);
        Assert.Same(graph, graph.FoldParts(1));
        // A folded graph's rows are images: it cannot be appended to.
        Assert.Throws<ArgumentException>(() => graph.Append(new float[(images + 1) * parts * dim]));
        Assert.Throws<ArgumentException>(() => full.FoldParts(images * parts + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NeighbourGraph.Build(values, dim, radius, new NeighbourGraphOptions { Parts = 0 }));
    }
}
