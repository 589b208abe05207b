using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class ClusterMetricsTests
{
    [Fact]
    public void Precision_and_recall_match_a_hand_computed_example()
    {
        IReadOnlyList<IReadOnlyList<string>> components =
        [
            ["a", "b", "c", "d"],
            ["e", "f"],
            ["g", "h", "i"],
            ["j", "k"],
        ];
        var labels = new Dictionary<string, int>
        {
            // Cluster 0 = a, b and two images outside the morphograph (size 4); c alone in cluster 1; d noise.
            ["a"] = 0, ["b"] = 0, ["x"] = 0, ["y"] = 0, ["c"] = 1, ["d"] = -1,
            // Cluster 2 = exactly e, f.
            ["e"] = 2, ["f"] = 2,
            // g and i noise, h not labelled at all (noise too).
            ["g"] = -1, ["i"] = -1,
            // j in cluster 3 (size 3), k in cluster 4 (size 2): a tie at one image each.
            ["j"] = 3, ["z1"] = 3, ["z2"] = 3, ["k"] = 4, ["z3"] = 4,
        };

        var report = ClusterMetrics.Evaluate(components, labels);

        // Component 0: cluster 0 holds 2 of its images: precision (2 − 1)/(4 − 1) = 1/3, recall 2/4.
        Assert.Equal(new ComponentClusterScore(0, 4, 0, 2, 4, 1.0 / 3, 0.5), report.Components[0]);
        // Component 1: cluster 2 is exactly the component: precision 1, recall 1.
        Assert.Equal(new ComponentClusterScore(1, 2, 2, 2, 2, 1.0, 1.0), report.Components[1]);
        // Component 2: all noise: no precision, recall 0.
        Assert.Equal(new ComponentClusterScore(2, 3, null, 0, 0, null, 0.0), report.Components[2]);
        // Component 3: tie between clusters 3 and 4 → the smaller, 4: precision (1 − 1)/(2 − 1) = 0, recall 1/2.
        Assert.Equal(new ComponentClusterScore(3, 2, 4, 1, 2, 0.0, 0.5), report.Components[3]);
        // Means: precision over the 3 components with a cluster, recall over all 4.
        Assert.Equal((1.0 / 3 + 1 + 0) / 3, report.MeanPrecision, 12);
        Assert.Equal((0.5 + 1 + 0 + 0.5) / 4, report.MeanRecall, 12);
        Assert.Equal(1, report.AllNoiseComponentCount);
    }

    [Fact]
    public void A_one_image_cluster_has_precision_one_and_ties_of_equal_size_go_to_the_smaller_label()
    {
        var report = ClusterMetrics.Evaluate([["a", "b"], ["c", "d"]],
            new Dictionary<string, int> { ["a"] = 5, ["b"] = -1, ["c"] = 8, ["d"] = 7, ["e"] = 8, ["f"] = 7 });

        Assert.Equal(new ComponentClusterScore(0, 2, 5, 1, 1, 1.0, 0.5), report.Components[0]);
        Assert.Equal(new ComponentClusterScore(1, 2, 7, 1, 2, 0.0, 0.5), report.Components[1]);
    }

    [Fact]
    public void Components_come_from_the_morphograph_and_labels_from_parallel_lists()
    {
        var graph = Morphograph.Read(new StringReader(
            "type,img1,img2\nPOSITIVE,a,b\nPOSITIVE,b,c\nDUPLICATE,d,e\nSIMILAR,e,f\n"));
        // The files motif embed / motif cluster write: ids and labels line by line. c was never embedded.
        string[] ids = ["a", "b", "d", "e", "f", "g"];
        int[] labels = [0, 0, 1, 1, 1, -1];

        var report = ClusterMetrics.Evaluate(graph.Components(), ids, labels);

        // {a, b, c}: cluster 0 (size 2) holds 2 → precision 1, recall 2/3.
        // {d, e}: cluster 1 (size 3, with f) holds 2 → precision 1/2, recall 1.
        Assert.Equal([1.0, 0.5], report.Components.Select(c => c.Precision!.Value));
        Assert.Equal([2.0 / 3, 1.0], report.Components.Select(c => c.Recall));
        var viaGraph = ClusterMetrics.Evaluate(graph, ids.Zip(labels).ToDictionary(p => p.First, p => p.Second));
        Assert.Equal(report.Components, viaGraph.Components);
        Assert.Equal(0.75, viaGraph.MeanPrecision, 12);
    }

    [Fact]
    public void Empty_input_gives_nan_means_and_bad_input_is_refused()
    {
        var empty = ClusterMetrics.Evaluate([], new Dictionary<string, int>());
        Assert.True(double.IsNaN(empty.MeanPrecision));
        Assert.True(double.IsNaN(empty.MeanRecall));

        var allNoise = ClusterMetrics.Evaluate([["a", "b"]], new Dictionary<string, int>());
        Assert.True(double.IsNaN(allNoise.MeanPrecision));
        Assert.Equal(0.0, allNoise.MeanRecall);
        Assert.Equal(1, allNoise.AllNoiseComponentCount);

        Assert.Throws<ArgumentException>(() => ClusterMetrics.Evaluate([["a"], []], new Dictionary<string, int>()));
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Evaluate([["a", "a"]], new Dictionary<string, int>()));
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Evaluate([["a"]], ["a", "b"], [0]));
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Evaluate([["a"]], ["a", "a"], [0, 1]));
    }
}
