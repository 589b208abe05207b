using Motif.Core.Evaluation;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Evaluation;

public sealed class RetrievalMetricsTests
{
    private static MorphographEdge Positive(string a, string b) => new(a, b, MorphographEdgeType.Positive);

    // Gallery of 9 images. q1's relevant items: a, b, c, d (w is not in the gallery and does not count);
    // q2's: x, y (y through a DUPLICATE edge). "lonely" has no relevant item.
    private static readonly string[] Gallery = ["q1", "q2", "a", "b", "c", "d", "x", "y", "z"];

    private static readonly Morphograph Truth = Morphograph.FromEdges(
    [
        Positive("q1", "a"), Positive("b", "q1"), Positive("q1", "c"), Positive("q1", "d"), Positive("q1", "w"),
        Positive("q2", "x"), new("q2", "y", MorphographEdgeType.Duplicate), new("q2", "z", MorphographEdgeType.Similar),
    ]);

    private static readonly Dictionary<string, IReadOnlyList<string>> Rankings = new()
    {
        // Truncated: d is missing.
        ["q1"] = ["a", "x", "b", "y", "c"],
        // Complete: all 8 other gallery images.
        ["q2"] = ["a", "b", "x", "c", "d", "y", "z", "q1"],
        ["lonely"] = ["a"],
    };

    [Fact]
    public void Default_cut_offs_are_the_issues_and_precision_divides_by_k_even_past_the_gallery()
    {
        var report = RetrievalMetrics.Evaluate(Rankings, Truth, Gallery);

        Assert.Equal([1, 5, 10, 20, 50, 100, 200, 400], report.RecallAtK.Select(r => r.K));
        Assert.Equal(report.RecallAtK.Select(r => r.K), report.PrecisionAtK.Select(p => p.K));
        // @5: q1 hits 1, 3, 5 → recall 3/4, precision 3/5; q2 hits 3 → recall 1/2, precision 1/5.
        Assert.Equal((0.75 + 0.5) / 2, report.RecallAtK[1].Recall, 12);
        Assert.Equal((0.6 + 0.2) / 2, report.PrecisionAtK[1].Precision, 12);
        // @400 in a gallery of 9: every retrieved hit counts, divided by 400 (trec_eval's P_400).
        Assert.Equal((3 / 400.0 + 2 / 400.0) / 2, report.PrecisionAtK[^1].Precision, 12);
        Assert.Equal((0.75 + 1) / 2, report.RecallAtK[^1].Recall, 12);
    }

    [Fact]
    public void Standard_metrics_match_a_hand_computed_example()
    {
        var report = RetrievalMetrics.Evaluate(Rankings, Truth, Gallery, [1, 3, 10]);

        // q1: R = 4, hits at ranks 1, 3, 5: AP = (1/1 + 2/3 + 3/5) / 4 = 34/60 (d, never retrieved, adds 0).
        //     d gets the worst rank it could have: N = 8 other gallery images, u = 1 missing → rank 8.
        //     recall@1 = 1/4, @3 = 2/4, @10 = 3/4; first rank 1.
        // q2: R = 2, hits at ranks 3, 6: AP = (1/3 + 2/6) / 2 = 20/60; recall@1 = 0, @3 = 1/2, @10 = 1; first rank 3.
        // lonely: no relevant item → skipped.
        Assert.Equal(2, report.QueryCount);
        Assert.Equal(1, report.QueriesWithoutRelevant);
        Assert.Equal((34.0 / 60 + 20.0 / 60) / 2, report.MeanAveragePrecision, 12);
        Assert.Equal([1, 3, 10], report.RecallAtK.Select(r => r.K));
        Assert.Equal(0.125, report.RecallAtK[0].Recall, 12);
        Assert.Equal(0.5, report.RecallAtK[1].Recall, 12);
        Assert.Equal(0.875, report.RecallAtK[2].Recall, 12);
        // Precision divides the same hits by k: q1 1/1, 2/3, 3/10; q2 0/1, 1/3, 2/10.
        Assert.Equal([1, 3, 10], report.PrecisionAtK.Select(p => p.K));
        Assert.Equal(0.5, report.PrecisionAtK[0].Precision, 12);
        Assert.Equal(0.5, report.PrecisionAtK[1].Precision, 12);
        Assert.Equal(0.25, report.PrecisionAtK[2].Precision, 12);
        // Pooled ranks 1, 3, 5, 8 | 3, 6 → sorted 1, 3, 3, 5, 6, 8: mean 26/6, median (3 + 5)/2.
        Assert.Equal(26.0 / 6, report.MeanRank, 12);
        Assert.Equal(4.0, report.MedianRank);
        Assert.Equal(2.0, report.MeanFirstRank);
        Assert.Equal(6, report.RelevantCount);
        Assert.Equal(1, report.UnretrievedCount);

        Assert.Equal(["q1", "q2"], report.Queries.Select(q => q.QueryId));
        Assert.Equal(4, report.Queries[0].RelevantCount);
        Assert.Equal([1, 3, 5], report.Queries[0].RetrievedRanks);
        Assert.Equal(34.0 / 60, report.Queries[0].AveragePrecision, 12);
        Assert.Equal([3, 6], report.Queries[1].RetrievedRanks);
    }

    [Fact]
    public void A_query_outside_the_gallery_ranks_against_the_whole_gallery()
    {
        // The query is not a gallery image: N = 4 candidates. Its ranking is truncated to 1 item; the 2 missing
        // relevant items get the worst ranks N − u + 1 … N = 3, 4.
        var rankings = new Dictionary<string, IReadOnlyList<string>> { ["q"] = ["r1"] };
        var report = RetrievalMetrics.Evaluate(rankings, _ => ["r1", "r2", "r3"], ["r1", "r2", "r3", "n"], [1]);

        Assert.Equal(1.0 / 3, report.MeanAveragePrecision, 12);
        Assert.Equal((1 + 3 + 4) / 3.0, report.MeanRank, 12);
        Assert.Equal(3.0, report.MedianRank);
        Assert.Equal(1.0, report.MeanFirstRank);
        Assert.Equal(2, report.UnretrievedCount);

        // Nothing retrieved at all: the first relevant rank is the worst possible one, N − R + 1.
        rankings["q"] = ["n"];
        report = RetrievalMetrics.Evaluate(rankings, _ => ["r1", "r2", "r3"], ["r1", "r2", "r3", "n"], [1]);
        Assert.Equal(0.0, report.MeanAveragePrecision);
        Assert.Equal(2.0, report.MeanFirstRank);
        Assert.Equal(3.0, report.MeanRank);
    }

    [Fact]
    public void Seed_compatible_metrics_match_a_hand_computed_example()
    {
        // cap 4: the original asked for 4 neighbours and dropped the query, so the lists are the first 3 items.
        // Positions are read from the first 2 items (positionCap 2); a miss or padding counts 2.
        var report = RetrievalMetrics.EvaluateSeedCompatible(Rankings, Truth, Gallery, [1, 3, 10], cap: 4, positionCap: 2);

        // q1: list a, x, b → hits at ranks 1, 3 (h = 2): AP = (1/1 + 2/3)/2 = 5/6; recall@1 = 1/2, @3 = @10 = 1.
        //     R = 4 → weight 4; positions: 0 (a), padded with 2s to 2R + 1 = 9 entries: sum 16, first 0, median 2.
        // q2: list a, b, x → hit at rank 3 (h = 1): AP = 1/3; recall@1 = 0, @3 = @10 = 1.
        //     R = 2 → weight 2; no hit in the first 2: five 2s: sum 10, first 2, median 2.
        Assert.Equal(4, report.Cap);
        Assert.Equal(2, report.PositionCap);
        Assert.Equal(2, report.QueryCount);
        Assert.Equal(6, report.ConnectionCount);
        Assert.Equal(0, report.QueriesWithoutHits);
        Assert.Equal((4 * 5.0 / 6 + 2 * 1.0 / 3) / 6, report.MeanAveragePrecision, 12);
        Assert.Equal((4 * 0.5 + 2 * 0.0) / 6, report.RecallAtK[0].Recall, 12);
        Assert.Equal(1.0, report.RecallAtK[1].Recall, 12);
        Assert.Equal(1.0, report.RecallAtK[2].Recall, 12);
        Assert.Equal((4 * 16 + 2 * 10) / (double)(4 * 9 + 2 * 5), report.MeanPosition, 12);
        Assert.Equal((4 * 0 + 2 * 2) / 6.0, report.MeanFirstPosition, 12);
        Assert.Equal(2.0, report.MeanMedianPosition, 12);
    }

    [Fact]
    public void Seed_compatible_average_precision_is_the_originals()
    {
        // The doctests of the original metrics.py (Cini_TDA): r = [1,1,0,1,0,1,0,0,0,1] has AP 0.78333…, and the mean
        // with a query whose list has no hit ([0]) is 0.39166…. Both queries here have 5 relevant items, so the
        // per-connection weights are equal and the weighted mean is the plain mean.
        string[] gallery = ["q", "p", .. Enumerable.Range(0, 10).Select(i => $"n{i}"), .. Enumerable.Range(0, 5).Select(i => $"r{i}"),
            .. Enumerable.Range(0, 5).Select(i => $"s{i}")];
        var relevant = new Dictionary<string, string[]>
        {
            ["q"] = ["r0", "r1", "r2", "r3", "r4"],
            ["p"] = ["s0", "s1", "s2", "s3", "s4"],
        };
        var rankings = new Dictionary<string, IReadOnlyList<string>>
        {
            ["q"] = ["r0", "r1", "n0", "r2", "n1", "r3", "n2", "n3", "n4", "r4"],
            // p's relevant items come after the 10-item list (cap 11 = 10 items once the query is dropped).
            ["p"] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "s0", "s1", "s2", "s3", "s4"],
        };

        var seed = RetrievalMetrics.EvaluateSeedCompatible(rankings, id => relevant[id], gallery, [4], cap: 11);
        Assert.Equal(0.39166666666666666, seed.MeanAveragePrecision, 12);
        Assert.Equal(1, seed.QueriesWithoutHits);
        // q: 3 of its 5 hits in the top 4 (recall divided by the hits inside the list); p scores 0.
        Assert.Equal((3 / 5.0 + 0) / 2, seed.RecallAtK[0].Recall, 12);

        // The standard definitions on the same rankings: q retrieved all 5, so its AP is the same 0.78333…; p's
        // relevant items are at ranks 11…15.
        var standard = RetrievalMetrics.Evaluate(rankings, id => relevant[id], gallery, [4]);
        Assert.Equal(0.78333333333333333, standard.Queries.Single(q => q.QueryId == "q").AveragePrecision, 12);
        var apP = (1 / 11.0 + 2 / 12.0 + 3 / 13.0 + 4 / 14.0 + 5 / 15.0) / 5;
        Assert.Equal((0.78333333333333333 + apP) / 2, standard.MeanAveragePrecision, 12);
    }

    [Fact]
    public void Average_precision_equals_scikit_learns()
    {
        // Produced once with /usr/bin/python3 (scikit-learn 1.2.1, numpy 1.24.2):
        //   rng = np.random.default_rng(7); for each query, the other 11 ids g00…g11 (ascending) get
        //   np.round(rng.uniform(0, 1, 11), 3) (distinct) as scores, and
        //   sklearn.metrics.average_precision_score(y_true, scores) gives the AP below.
        string[] ids = [.. Enumerable.Range(0, 12).Select(i => $"g{i:00}")];
        var cases = new (string Query, string[] Relevant, double[] Scores, double Ap)[]
        {
            ("g00", ["g03", "g07", "g11"], [0.625, 0.897, 0.776, 0.225, 0.300, 0.874, 0.005, 0.821, 0.797, 0.468, 0.303], 0.2409090909090909),
            ("g05", ["g01", "g02"], [0.278, 0.255, 0.445, 0.505, 0.553, 0.996, 0.793, 0.622, 0.989, 0.215, 0.160], 0.18253968253968253),
            ("g09", ["g00", "g04", "g06", "g08", "g10"], [0.613, 0.044, 0.036, 0.515, 0.466, 0.917, 0.629, 0.514, 0.497, 0.248, 0.012], 0.5726190476190476),
        };
        var rankings = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var (query, _, scores, _) in cases)
        {
            var others = ids.Where(id => id != query).ToArray();
            rankings[query] = others.Zip(scores).OrderByDescending(p => p.Second).Select(p => p.First).ToArray();
        }

        var report = RetrievalMetrics.Evaluate(rankings, q => cases.Single(c => c.Query == q).Relevant, ids);

        foreach (var (query, _, _, ap) in cases)
        {
            Assert.Equal(ap, report.Queries.Single(q => q.QueryId == query).AveragePrecision, 12);
        }
        Assert.Equal(cases.Average(c => c.Ap), report.MeanAveragePrecision, 12);
    }

    [Fact]
    public void Cosine_rankings_give_scikit_learns_average_precision()
    {
        // Produced once with /usr/bin/python3 (scikit-learn 1.2.1): x = np.round(np.random.default_rng(11)
        // .uniform(-1, 1, (10, 8)), 1).astype(np.float32); relevance = the edges below, both ways; per query with a
        // relevant item, average_precision_score(y_true, cosine_similarity(x)[q, others]) (no ties: the closest two
        // scores of a query differ by 8e-4). Per-query APs for rows 0…8 and their mean:
        double[] expected = [0.20833333333333331, 0.16666666666666666, 0.375, 0.25, 0.5, 0.125, 0.2777777777777778, 0.2, 0.5];
        const double expectedMap = 0.2891975308641975;
        float[] x =
        [
            -0.7f, -0.0f, 0.2f, -0.9f, -0.7f, 0.9f, -0.9f, -0.7f,
            0.9f, 0.2f, -0.3f, 0.0f, 0.3f, -0.4f, -0.7f, 0.6f,
            0.3f, 0.0f, 0.6f, 0.1f, 1.0f, -0.6f, 0.1f, -0.0f,
            -0.3f, 0.2f, -0.5f, 0.6f, 0.7f, -0.7f, -0.1f, -0.4f,
            -0.8f, 0.8f, -0.1f, -0.7f, 0.3f, -0.6f, 0.8f, -0.6f,
            -0.9f, -0.6f, -0.3f, -0.1f, 0.8f, 0.4f, -0.3f, -1.0f,
            -0.7f, 1.0f, -0.1f, 0.4f, -0.9f, -0.9f, 0.7f, 0.2f,
            -0.4f, -0.4f, -0.8f, -0.7f, -1.0f, 0.7f, -0.1f, -0.7f,
            0.5f, -0.6f, -0.9f, 0.2f, 0.8f, -0.9f, 0.6f, -0.6f,
            -0.8f, -1.0f, -0.4f, 0.5f, -0.0f, 0.7f, -0.6f, -0.4f,
        ];
        string[] ids = [.. Enumerable.Range(0, 10).Select(i => $"i{i}")];
        var truth = Morphograph.FromEdges(new[] { (0, 1), (0, 2), (3, 4), (5, 6), (6, 7), (2, 8) }
            .Select(e => Positive(ids[e.Item1], ids[e.Item2])));

        var rankings = CosineRanking.Rank(x, ids);
        var report = RetrievalMetrics.Evaluate(rankings, truth, ids);

        Assert.Equal(9, report.QueryCount);
        Assert.Equal(1, report.QueriesWithoutRelevant);   // i9
        for (var q = 0; q < 9; q++)
        {
            Assert.Equal(expected[q], report.Queries.Single(r => r.QueryId == ids[q]).AveragePrecision, 12);
        }
        Assert.Equal(expectedMap, report.MeanAveragePrecision, 12);
    }

    [Fact]
    public void Rankings_from_rank_by_cosine_score_as_plain_lists_do()
    {
        // RankByCosine's lists are read by row index, without per-item checks; copied into plain string arrays they
        // take the checked path. Both must give the same figures.
        const int n = 60, dim = 16;
        var random = new Random(9);
        var x = Enumerable.Range(0, n * dim).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        string[] ids = [.. Enumerable.Range(0, n).Select(i => $"i{i}")];
        var truth = Morphograph.FromEdges(Enumerable.Range(0, 40).Select(_ => Positive(ids[random.Next(n)], ids[random.Next(n)])));
        string[] queries = [.. ids.Where((_, i) => i % 2 == 0)];

        foreach (var topK in new int?[] { null, 5 })
        {
            var views = CosineRanking.Rank(x, ids, queries, topK);
            var copies = views.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)[.. p.Value]);

            var fast = RetrievalMetrics.Evaluate(views, truth, ids, [1, 5, 20]);
            var slow = RetrievalMetrics.Evaluate(copies, truth, ids, [1, 5, 20]);
            Assert.True(fast.QueryCount > 10);
            Assert.Equal(slow.MeanAveragePrecision, fast.MeanAveragePrecision);
            Assert.Equal(slow.RecallAtK, fast.RecallAtK);
            Assert.Equal((slow.MeanRank, slow.MedianRank, slow.MeanFirstRank, slow.UnretrievedCount),
                (fast.MeanRank, fast.MedianRank, fast.MeanFirstRank, fast.UnretrievedCount));
            Assert.Equal(slow.Queries.Select(q => q.RetrievedRanks), fast.Queries.Select(q => q.RetrievedRanks));
            var seedSlow = RetrievalMetrics.EvaluateSeedCompatible(copies, truth, ids, cap: 10, positionCap: 4);
            var seedFast = RetrievalMetrics.EvaluateSeedCompatible(views, truth, ids, cap: 10, positionCap: 4);
            Assert.Equal(seedSlow.RecallAtK, seedFast.RecallAtK);
            Assert.Equal(seedSlow, seedFast with { RecallAtK = seedSlow.RecallAtK });
        }

        // The unchecked path is only taken when it is safe: a list filed under another query, or a gallery that lacks
        // some of the matrix's ids, are checked item by item and refused.
        var rankings = CosineRanking.Rank(x, ids);
        var misfiled = new Dictionary<string, IReadOnlyList<string>> { ["i1"] = rankings["i0"] };
        Assert.Contains("the query itself", Assert.Throws<ArgumentException>(() => RetrievalMetrics.Evaluate(misfiled, _ => ["i0"], ids)).Message);
        var own = new Dictionary<string, IReadOnlyList<string>> { ["i0"] = rankings["i0"] };
        Assert.Contains("not in the gallery", Assert.Throws<ArgumentException>(() => RetrievalMetrics.Evaluate(own, _ => ["i1"], ids[..^1])).Message);
    }

    [Fact]
    public void Malformed_rankings_are_refused()
    {
        static void Check(IReadOnlyList<string> ranking, string expected)
        {
            var rankings = new Dictionary<string, IReadOnlyList<string>> { ["q1"] = ranking };
            var error = Assert.Throws<ArgumentException>(() => RetrievalMetrics.Evaluate(rankings, Truth, Gallery));
            Assert.Contains(expected, error.Message);
            Assert.Throws<ArgumentException>(() => RetrievalMetrics.EvaluateSeedCompatible(rankings, Truth, Gallery));
        }
        Check(["a", "q1"], "the query itself (rank 2)");
        Check(["a", "b", "a"], "'a' twice (again at rank 3)");
        Check(["a", "w"], "'w' at rank 2, which is not in the gallery");
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalMetrics.Evaluate(Rankings, Truth, Gallery, [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalMetrics.EvaluateSeedCompatible(Rankings, Truth, Gallery, cap: 1));
    }

    [Fact]
    public void No_query_gives_nan_means()
    {
        var rankings = new Dictionary<string, IReadOnlyList<string>> { ["lonely"] = ["a"] };
        var report = RetrievalMetrics.Evaluate(rankings, Truth, Gallery);
        Assert.Equal(0, report.QueryCount);
        Assert.True(double.IsNaN(report.MeanAveragePrecision));
        Assert.True(double.IsNaN(report.MedianRank));
        Assert.True(double.IsNaN(RetrievalMetrics.EvaluateSeedCompatible(rankings, Truth, Gallery).MeanAveragePrecision));
    }
}
