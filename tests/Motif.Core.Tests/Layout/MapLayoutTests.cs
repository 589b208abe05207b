using Motif.Core.Layout;
using Motif.Core.Signatures;
using Motif.Core.Tests.Signatures;

namespace Motif.Core.Tests.Layout;

public sealed class MapLayoutTests
{
    private const int Dimension = 32;

    /// <summary>Families that are 2D patches in signature space (a centre plus a plane of variation plus a little
    /// noise), as photographs of one motif varying in two ways: nearby members are neighbours, far ones are not.</summary>
    private static float[] Families(int n, int families, int seed, out int[] family)
    {
        var random = new Random(seed);
        var frames = Enumerable.Range(0, families).Select(_ => Enumerable.Range(0, 3).Select(_ => Gaussian(random, Dimension)).ToArray()).ToArray();
        var x = new float[n * Dimension];
        family = new int[n];
        for (var i = 0; i < n; i++)
        {
            var f = family[i] = random.Next(families);
            double u = random.NextDouble() * 2 - 1, v = random.NextDouble() * 2 - 1;
            var noise = Gaussian(random, Dimension);
            var row = Enumerable.Range(0, Dimension)
                .Select(d => frames[f][0][d] + 0.35 * (u * frames[f][1][d] + v * frames[f][2][d]) + 0.01 * noise[d]).ToArray();
            var norm = Math.Sqrt(row.Sum(a => a * a));
            for (var d = 0; d < Dimension; d++)
            {
                x[i * Dimension + d] = (float)(row[d] / norm);
            }
        }
        return x;
    }

    private static double[] Gaussian(Random random, int dim)
    {
        var v = Enumerable.Range(0, dim).Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())).ToArray();
        var norm = Math.Sqrt(v.Sum(a => a * a));
        return v.Select(a => a / norm).ToArray();
    }

    [Fact]
    public void Keeps_neighbourhoods_trustworthy_at_k_10()
    {
        var signatures = Families(2000, 8, seed: 1, out _);
        var graph = NeighbourGraph.Build(signatures, Dimension, radius: 0.5, degreeOfParallelism: 2);
        Assert.True(graph.RowOffsets[1] - graph.RowOffsets[0] >= 15, "The radius should give the layout its k nearest.");

        var layout = MapLayout.Compute(graph);

        var t = Trustworthiness.Compute(signatures, Dimension, layout, 10);
        Assert.True(t >= 0.9, $"trustworthiness {t:F4}");
    }

    [Fact]
    public void Keeps_clustered_blobs_trustworthy_at_k_10()
    {
        // Isotropic blobs: no structure inside a family for the map to keep, only the families themselves.
        var signatures = SyntheticSignatures.Clustered(1500, Dimension, 10, spread: 0.6, seed: 3);
        var graph = NeighbourGraph.Build(signatures, Dimension, radius: 0.5, degreeOfParallelism: 2);

        var t = Trustworthiness.Compute(signatures, Dimension, MapLayout.Compute(graph), 10);
        Assert.True(t >= 0.9, $"trustworthiness {t:F4}");
    }

    [Fact]
    public void Gives_the_same_coordinates_for_the_same_seed_and_others_for_another()
    {
        var signatures = Families(400, 4, seed: 2, out _);
        var graph = NeighbourGraph.Build(signatures, Dimension, radius: 0.5);

        var first = MapLayout.Compute(graph, new MapLayoutOptions { Seed = 7 });
        var second = MapLayout.Compute(graph, new MapLayoutOptions { Seed = 7 });
        var other = MapLayout.Compute(graph, new MapLayoutOptions { Seed = 8 });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Keeps_unchanged_images_in_place_and_puts_new_ones_beside_their_family()
    {
        var signatures = Families(1600, 8, seed: 4, out var family);
        const int old = 1500;
        var before = MapLayout.Compute(NeighbourGraph.Build(signatures.AsMemory(0, old * Dimension), Dimension, 0.5, degreeOfParallelism: 2));
        var graph = NeighbourGraph.Build(signatures, Dimension, 0.5, degreeOfParallelism: 2);
        var anchors = Enumerable.Range(0, graph.Count).Select(i => i < old ? before[i] : (MapPoint?)null).ToArray();

        var after = MapLayout.Compute(graph, fixedPositions: anchors);

        Assert.Equal(before, after[..old]);
        // Each new image's nearest old image on the map is of its own family.
        var besideFamily = Enumerable.Range(old, graph.Count - old).Count(i =>
            family[Enumerable.Range(0, old).MinBy(j => Square(after[i].X - after[j].X) + Square(after[i].Y - after[j].Y))] == family[i]);
        Assert.True(besideFamily >= 0.95 * (graph.Count - old), $"{besideFamily} of {graph.Count - old} new images beside their family");
        var t = Trustworthiness.Compute(signatures, Dimension, after, 10);
        Assert.True(t >= 0.9, $"trustworthiness after the update {t:F4}");
    }

    [Fact]
    public void Puts_images_without_a_neighbour_on_a_ring_outside_the_others()
    {
        var families = Families(300, 3, seed: 5, out _);
        var loners = new float[3 * Dimension];
        for (var i = 0; i < 3; i++)
        {
            loners[i * Dimension + 20 + i] = 1; // orthogonal to each other and far from every family
        }
        var signatures = families.Concat(loners).ToArray();
        var graph = NeighbourGraph.Build(signatures, Dimension, radius: 0.3);
        Assert.Equal(0, graph.NeighboursOf(300).Length);

        var layout = MapLayout.Compute(graph);

        var cx = layout[..300].Average(p => p.X);
        var cy = layout[..300].Average(p => p.Y);
        var outermost = layout[..300].Max(p => Math.Sqrt(Square(p.X - cx) + Square(p.Y - cy)));
        foreach (var loner in layout[300..])
        {
            Assert.True(Math.Sqrt(Square(loner.X - cx) + Square(loner.Y - cy)) > outermost);
        }
    }

    [Fact]
    public void Refuses_fixed_positions_that_do_not_match_the_rows()
    {
        var graph = NeighbourGraph.Build(Families(20, 2, seed: 6, out _), Dimension, 0.5);

        Assert.Throws<ArgumentException>(() => MapLayout.Compute(graph, fixedPositions: new MapPoint?[19]));
        Assert.Throws<ArgumentException>(() => MapLayout.Compute(graph, fixedPositions: [.. Enumerable.Repeat<MapPoint?>(new MapPoint(double.NaN, 0), 20)]));
    }

    private static double Square(double v) => v * v;
}
