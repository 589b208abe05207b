using Motif.Core.Clustering;
using Motif.Core.Signatures;
using Motif.Core.Tests.Signatures;

namespace Motif.Core.Tests.Clustering;

public sealed class OpticsTests
{
    [Fact]
    public void Core_distance_counts_the_point_itself_and_is_undefined_beyond_max_eps()
    {
        // Angles 0, 0.1, 0.3 and 2.0 radians: distances 1 − cos Δ.
        double[] angles = [0, 0.1, 0.3, 2.0];
        var x = angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray();
        var graph = NeighbourGraph.Build(x, 2, 0.1);

        var result = Optics.Order(graph, minSamples: 2);

        // min_samples 2 = the point and its nearest neighbour.
        Assert.Equal(1 - Math.Cos(0.1), result.CoreDistances[0], 1e-7);
        Assert.Equal(1 - Math.Cos(0.1), result.CoreDistances[1], 1e-7);
        Assert.Equal(1 - Math.Cos(0.2), result.CoreDistances[2], 1e-7);
        Assert.True(double.IsPositiveInfinity(result.CoreDistances[3]));
        Assert.Equal([0, 1, 2, 3], result.Ordering);
        Assert.Equal([-1, 0, 1, -1], result.Predecessor);
        Assert.Equal([0, 0, 0, -1], Optics.ExtractDbscan(result, 0.05));
        // A smaller max_eps on the same graph: 0.3 − 0.1 = 0.2 rad (0.0199) no longer links point 2.
        var tight = Optics.Order(graph, 2, maxEps: 0.019);
        Assert.True(double.IsPositiveInfinity(tight.CoreDistances[2]));
    }

    [Fact]
    public void An_incrementally_built_graph_gives_the_same_clustering()
    {
        const int dim = 32;
        var x = SyntheticSignatures.Clustered(400, dim, clusters: 12, spread: 0.35, seed: 21);
        var whole = Optics.Order(NeighbourGraph.Build(x, dim, 0.13), 2);

        var graph = NeighbourGraph.Build(x.AsMemory(0, 300 * dim), dim, 0.13).Append(x);
        var appended = Optics.Order(graph, 2);

        Assert.Equal(whole.Ordering, appended.Ordering);
        Assert.Equal(whole.Reachability, appended.Reachability);
        Assert.Equal(Optics.ExtractXi(whole).Labels, Optics.ExtractXi(appended).Labels);
        Assert.True(Optics.ExtractXi(whole).Labels.Max() >= 5, "the data set has clusters");
    }

    [Fact]
    public void Parameters_are_read_as_scikit_learn_reads_them()
    {
        var x = SyntheticSignatures.Clustered(200, 8, clusters: 4, spread: 0.2, seed: 1);
        var graph = NeighbourGraph.Build(x, 8, 0.3);

        // A fraction of N, at least 2: 0.05 × 200 = 10; 0.001 × 200 → 2.
        Assert.Equal(10, Optics.Order(graph, 0.05).MinSamples);
        Assert.Equal(2, Optics.Order(graph, 0.001).MinSamples);
        Assert.Equal(200, Optics.Order(graph, 1).MinSamples);
        Assert.Throws<ArgumentOutOfRangeException>(() => Optics.Order(graph, 2.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optics.Order(graph, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Optics.Order(graph, 2, maxEps: 0.31));
        var result = Optics.Order(graph, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => Optics.ExtractXi(result, xi: 1.5));
        // min_cluster_size as a fraction: no cluster smaller than 0.2 × 200 = 40 positions survives.
        var big = Optics.ExtractXi(result, 0.05, minClusterSize: 0.2);
        Assert.All(big.Clusters, c => Assert.True(c.End - c.Start + 1 >= 40));
        Assert.NotEmpty(big.Clusters);
    }
}
