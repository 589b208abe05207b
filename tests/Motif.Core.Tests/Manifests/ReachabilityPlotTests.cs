using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Manifests;

public sealed class ReachabilityPlotTests
{
    // Points on the unit circle, cosine distance 1 − cos Δ: a pair at 2.00/2.02, a triple at 0.10/0.12/0.13 and a
    // stray at 5.5, given out of order so that row order and OPTICS order differ.
    private static readonly double[] Angles = [2.00, 0.10, 5.5, 0.12, 2.02, 0.13];
    private static readonly string[] Ids = ["pair-a", "triple-a", "stray", "triple-b", "pair-b", "triple-c"];

    private static (ClusterManifest Manifest, OpticsResult Optics) Run(ClusteringParameters parameters, double radius = 0.13)
    {
        var x = Angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray();
        var optics = Optics.Order(NeighbourGraph.Build(x, 2, radius), parameters.MinSamples);
        var labels = Optics.ExtractDbscan(optics, parameters.Eps ?? 0.01);
        var run = new ManifestRun("run-1", new DateTimeOffset(2026, 11, 30, 3, 0, 0, TimeSpan.Zero), "m", parameters);
        return (ClusterManifest.Create(run, Ids, x, 2, optics, labels, previous: null), optics);
    }

    private static readonly ClusteringParameters Dbscan = new(0.13, 2, Extraction.Dbscan, null, null, true, 0.01);

    [Fact]
    public void Every_image_is_a_bar_in_optics_order_with_its_reachability_and_cluster_and_null_where_reached_first()
    {
        var (manifest, optics) = Run(Dbscan);

        var plot = ReachabilityPlot.Create(manifest, optics);

        // By hand (min_samples 2, lowest row first among unreached): the pair from row 0, then the triple from row 1,
        // where triple-b (0.0002 away) comes before triple-c (0.00045 from triple-a, 0.00005 from triple-b), then the stray.
        Assert.Equal(["pair-a", "pair-b", "triple-a", "triple-b", "triple-c", "stray"], plot.Ids);
        Assert.Equal([0, 4, 1, 3, 5, 2], optics.Ordering);
        Assert.Equal(optics.Ordering.Select(row => Ids[row]), plot.Ids);
        Assert.Equal(new double?[] { null, 0.0002, null, 0.0002, 0.00005, null }, plot.Reachability);
        Assert.Equal(optics.Ordering.Select(row => ReachabilityPlot.Bar(optics.Reachability[row])), plot.Reachability);
        // Clusters in the manifest's order (the map's indices), the stray in none.
        Assert.Equal(manifest.Clusters.Select(c => c.Id), plot.Clusters);
        Assert.Equal(plot.Ids.Select(id => manifest.Images.Single(i => i.ImageId == id).ClusterId),
            plot.Cluster.Select(c => c < 0 ? null : plot.Clusters[c]));
        Assert.Equal([0, 0, 1, 1, 1, -1], plot.Cluster);
        // The DBSCAN cut is the radius drawn; min_samples as resolved.
        Assert.Equal(0.01, plot.Radius);
        Assert.Equal(2, plot.MinSamples);
        Assert.Equal("run-1", plot.RunId);
    }

    [Fact]
    public void The_radius_is_max_eps_for_xi_and_none_for_a_graph_of_every_pair()
    {
        var xi = Dbscan with { Extraction = Extraction.Xi, Xi = 0.05, Eps = null };
        var (manifest, optics) = Run(xi);
        Assert.Equal(0.13, ReachabilityPlot.Create(manifest, optics).Radius);

        var (everyPair, unbounded) = Run(xi with { MaxEps = null }, double.PositiveInfinity);
        var plot = ReachabilityPlot.Create(everyPair, unbounded);
        Assert.Null(plot.Radius);
        // With every pair in the graph only the first bar is reached from nothing.
        Assert.Equal(1, plot.Reachability.Count(r => r is null));
        Assert.Null(plot.Reachability[0]);
    }

    [Fact]
    public void It_reads_back_what_it_wrote_with_null_bars_and_refuses_columns_that_disagree()
    {
        var (manifest, optics) = Run(Dbscan);
        var plot = ReachabilityPlot.Create(manifest, optics);
        var json = plot.ToJson();

        Assert.Contains("\"reachability\":[null,0.0002,null,0.0002,5E-05,null]", json, StringComparison.Ordinal);
        var back = ReachabilityPlot.FromJson(json);
        Assert.Equal(plot.Ids, back.Ids);
        Assert.Equal(plot.Reachability, back.Reachability);
        Assert.Equal(plot.Cluster, back.Cluster);
        Assert.Equal(plot.Radius, back.Radius);

        Assert.Throws<FormatException>(() => ReachabilityPlot.FromJson(json.Replace("\"cluster\":[0,", "\"cluster\":[", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => ReachabilityPlot.FromJson(json.Replace("\"cluster\":[0,", "\"cluster\":[7,", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => ReachabilityPlot.FromJson(json.Replace("[null,0.0002", "[-1,0.0002", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => ReachabilityPlot.FromJson(json.Replace("\"schemaVersion\":1", "\"schemaVersion\":2", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => ReachabilityPlot.FromJson("[]"));
    }

    [Fact]
    public void An_optics_result_of_other_rows_is_refused()
    {
        var (manifest, optics) = Run(Dbscan);
        Assert.Throws<ArgumentException>(() => ReachabilityPlot.Create(manifest, optics with { Ordering = optics.Ordering.Take(5).ToArray() }));
    }
}
