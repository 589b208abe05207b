using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

public sealed class CosineRankingTests
{
    private static string[] Ids(int n) => [.. Enumerable.Range(0, n).Select(i => $"r{i}")];

    private static float[] Random(int n, int dim, int seed, bool unit = true)
    {
        var random = new Random(seed);
        var x = new float[n * dim];
        for (var i = 0; i < n; i++)
        {
            var row = x.AsSpan(i * dim, dim);
            for (var k = 0; k < dim; k++)
            {
                row[k] = (float)(random.NextDouble() * 2 - 1);
            }
            var norm = Math.Sqrt(row.ToArray().Sum(v => (double)v * v));
            var scale = unit ? 1 / norm : (0.5 + 1.5 * random.NextDouble()) / norm;
            for (var k = 0; k < dim; k++)
            {
                row[k] = (float)(row[k] * scale);
            }
        }
        return x;
    }

    private static int[] Rows(IReadOnlyList<string> ranking) => [.. ranking.Select(id => int.Parse(id.AsSpan(1)))];

    [Fact]
    public void Ties_are_broken_by_row_index()
    {
        // Three directions, each three times (dim 8, so the SIMD kernels run): A = e1, B = e2, C = 0.6 e1 + 0.8 e2.
        // Rows 0, 3, 6 are A; 1, 4, 7 are B; 2, 5, 8 are C.
        const int dim = 8;
        var x = new float[9 * dim];
        for (var i = 0; i < 9; i++)
        {
            (x[i * dim], x[i * dim + 1]) = (i % 3) switch { 0 => (1f, 0f), 1 => (0f, 1f), _ => (0.6f, 0.8f) };
        }
        var ids = Ids(9);

        foreach (var threads in new[] { 1, 2 })
        {
            var rankings = CosineRanking.Rank(x, ids, degreeOfParallelism: threads);
            // A: the other As (cos 1), the Cs (0.6), the Bs (0, all tied) — each group by index.
            Assert.Equal([3, 6, 2, 5, 8, 1, 4, 7], Rows(rankings["r0"]));
            Assert.Equal([4, 7, 2, 5, 8, 0, 3, 6], Rows(rankings["r1"]));
            Assert.Equal([5, 8, 1, 4, 7, 0, 3, 6], Rows(rankings["r2"]));
            Assert.Equal([0, 6, 2, 5, 8, 1, 4, 7], Rows(rankings["r3"]));
            Assert.Equal([0, 1, 3, 4, 6, 7], Rows(rankings["r8"]).Skip(2).Order());
        }
    }

    [Fact]
    public void Rankings_follow_cosine_similarity_whatever_the_row_norms()
    {
        const int n = 70, dim = 20;
        var x = Random(n, dim, seed: 3, unit: false);
        var ids = Ids(n);

        var rankings = CosineRanking.Rank(x, ids);

        Assert.Equal(ids, rankings.Keys);
        for (var q = 0; q < n; q++)
        {
            var ranking = Rows(rankings[ids[q]]);
            Assert.Equal(Enumerable.Range(0, n).Where(j => j != q), ranking.Order());
            // Cosines in float64 never rise along the ranking beyond float32 rounding.
            var cosines = ranking.Select(j => Cosine(x, dim, q, j)).ToArray();
            for (var i = 1; i < cosines.Length; i++)
            {
                Assert.True(cosines[i] <= cosines[i - 1] + 1e-6, $"query {q}: rank {i + 1} has a higher cosine than rank {i}");
            }
        }
    }

    private static double Cosine(float[] x, int dim, int a, int b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var k = 0; k < dim; k++)
        {
            dot += (double)x[a * dim + k] * x[b * dim + k];
            na += (double)x[a * dim + k] * x[a * dim + k];
            nb += (double)x[b * dim + k] * x[b * dim + k];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public void Top_k_lists_are_prefixes_of_the_full_ranking_whatever_the_path_threads_or_queries()
    {
        const int n = 301, dim = 37;   // odd sizes: remainder rows and columns, a scalar tail after 4 vectors
        var x = Random(n, dim, seed: 5);
        var ids = Ids(n);
        var full = CosineRanking.Rank(x, ids);

        // 7 × 8 < 301: bounded heap; 100: full sort, truncated; 1000: clipped to n − 1.
        foreach (var k in new[] { 1, 7, 100, 1000 })
        {
            var top = CosineRanking.Rank(x, ids, topK: k, degreeOfParallelism: 2);
            foreach (var id in ids)
            {
                Assert.Equal(full[id].Take(k), top[id]);
            }
        }

        // A subset of queries, in the order given, gets the same lists as in the full run.
        string[] queries = ["r300", "r0", "r150", "r3", "r4", "r5", "r6"];
        var subset = CosineRanking.Rank(x, ids, queries, topK: 10);
        Assert.Equal(queries, subset.Keys);
        foreach (var q in queries)
        {
            Assert.Equal(full[q].Take(10), subset[q]);
        }
    }

    [Fact]
    public void The_view_behaves_as_a_list()
    {
        var rankings = CosineRanking.Rank(Random(5, 8, seed: 1), Ids(5), topK: 2);
        var list = rankings["r0"];
        Assert.Equal(2, list.Count);
        Assert.Equal([list[0], list[1]], list.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => list[2]);

        // A single row has nothing to rank.
        Assert.Empty(CosineRanking.Rank(new float[] { 1, 0 }, ["only"])["only"]);
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        var x = Random(4, 8, seed: 2);
        Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, Ids(3)));
        Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, ["a", "b", "a", "c"]));
        Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, Ids(4), ["r9"]));
        Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, Ids(4), ["r1", "r1"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CosineRanking.Rank(x, Ids(4), topK: 0));
        x.AsSpan(8, 8).Clear();
        Assert.Contains("Signature 1", Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, Ids(4))).Message);
        x[8] = float.NaN;
        Assert.Throws<ArgumentException>(() => CosineRanking.Rank(x, Ids(4)));
    }

    [Fact]
    public void Search_evaluation_and_the_graph_share_one_arithmetic()
    {
        // Rows of mixed norms, two exact duplicates (rows 0 and 7) and a near-antipode (row 8 = −row 1).
        const int n = 40, dim = 19;
        var x = Random(n, dim, seed: 9, unit: false);
        x.AsSpan(0, dim).CopyTo(x.AsSpan(7 * dim, dim));
        for (var k = 0; k < dim; k++)
        {
            x[8 * dim + k] = -x[dim + k];
        }
        var ids = Ids(n);
        var norms = CosineRanking.SquaredNorms(x, dim);
        var graph = NeighbourGraph.Build(x, dim, radius: 2.0);
        var rankings = CosineRanking.Rank(x, ids);

        for (var q = 0; q < n; q++)
        {
            var nearest = CosineRanking.Nearest(x, dim, norms, x.AsSpan(q * dim, dim), n, exclude: q);
            // Evaluation's ranking is search's, row for row.
            Assert.Equal(nearest.Select(r => r.Row), Rows(rankings[ids[q]]));
            // The graph holds the same neighbours in the same order at bit-identical distances.
            Assert.Equal(nearest.Select(r => r.Row), graph.NeighboursOf(q).ToArray());
            Assert.Equal(nearest.Select(r => r.Distance), graph.DistancesOf(q).ToArray());
            // And they are the float64 cosine distances, within rounding.
            foreach (var r in nearest)
            {
                Assert.Equal(Math.Clamp(1 - Cosine(x, dim, q, r.Row), 0, 2), r.Distance, 1e-12);
            }
        }
        // Duplicates are at exactly 0, the antipode at exactly 2 (clamped), and a query that is not a row is ranked
        // against every row.
        Assert.Equal(new RankedRow(7, 0.0), CosineRanking.Nearest(x, dim, norms, x.AsSpan(0, dim), 1, exclude: 0)[0]);
        Assert.Equal(2.0, CosineRanking.Nearest(x, dim, norms, x.AsSpan(dim, dim), n, exclude: 1)[^1].Distance, 1e-12);
        Assert.Equal(0, CosineRanking.Nearest(x, dim, norms, x.AsSpan(0, dim), 1)[0].Row);
        Assert.Empty(CosineRanking.Nearest(x, dim, norms, x.AsSpan(0, dim), 0));
        Assert.Throws<ArgumentException>(() => CosineRanking.Nearest(x, dim, norms, new float[dim], 3));
    }
}
