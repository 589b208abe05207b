using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>Recall at one cut-off: the mean over queries of the share of a query's relevant items in its top
/// <see cref="K"/>.</summary>
public sealed record RecallAtK(int K, double Recall);

/// <summary>Precision at one cut-off: the mean over queries of the share of a query's top <see cref="K"/> that is
/// relevant.</summary>
public sealed record PrecisionAtK(int K, double Precision);

/// <summary>One query's standard retrieval figures.</summary>
/// <param name="QueryId">The query image.</param>
/// <param name="RelevantCount">Its relevant items in the gallery (the query itself excluded).</param>
/// <param name="RetrievedRanks">1-based ranks of the relevant items found in its ranking, ascending; fewer than
/// <paramref name="RelevantCount"/> when the ranking was truncated.</param>
/// <param name="AveragePrecision">Its average precision (see <see cref="RetrievalMetrics.Evaluate(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int})"/>).</param>
public sealed record QueryRetrieval(string QueryId, int RelevantCount, IReadOnlyList<int> RetrievedRanks, double AveragePrecision);

/// <summary>Standard retrieval metrics over a set of queries (see <see cref="RetrievalMetrics"/> for the definitions).</summary>
/// <param name="QueryCount">Queries evaluated: rankings whose query has at least one relevant item in the gallery.</param>
/// <param name="QueriesWithoutRelevant">Rankings skipped because their query has no relevant item in the gallery.</param>
/// <param name="MeanAveragePrecision">Mean over queries of the average precision.</param>
/// <param name="RecallAtK">Recall at each requested cut-off, in the order requested.</param>
/// <param name="PrecisionAtK">Precision at the same cut-offs.</param>
/// <param name="MeanRank">Mean 1-based rank of every relevant item, pooled over all queries.</param>
/// <param name="MedianRank">Median of the same pooled ranks (the mean of the two middle ones for an even count).</param>
/// <param name="MeanFirstRank">Mean over queries of the rank of the first relevant item.</param>
/// <param name="RelevantCount">(query, relevant item) pairs, the size of the pooled rank list.</param>
/// <param name="UnretrievedCount">Pairs whose item is missing from a truncated ranking (0 for complete rankings).</param>
/// <param name="Queries">Per-query figures, in ordinal order of the query id.</param>
public sealed record RetrievalReport(
    int QueryCount,
    int QueriesWithoutRelevant,
    double MeanAveragePrecision,
    IReadOnlyList<RecallAtK> RecallAtK,
    IReadOnlyList<PrecisionAtK> PrecisionAtK,
    double MeanRank,
    double MedianRank,
    double MeanFirstRank,
    long RelevantCount,
    long UnretrievedCount,
    IReadOnlyList<QueryRetrieval> Queries);

/// <summary>The research's own (optimistic) retrieval figures, reproduced for comparison with its published numbers
/// (see <see cref="RetrievalMetrics.EvaluateSeedCompatible(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int}, int, int)"/>).</summary>
/// <param name="Cap">Nearest neighbours the original asked for, the query itself included (4,000).</param>
/// <param name="PositionCap">Length of the prefix the positions are read from, and the value of a miss (400).</param>
/// <param name="QueryCount">Distinct query images evaluated.</param>
/// <param name="ConnectionCount">Rows the original averaged over: one per (query, relevant item) pair.</param>
/// <param name="QueriesWithoutHits">Queries with no relevant item inside the capped list (they score 0).</param>
/// <param name="MeanAveragePrecision">Weighted mean of the per-query AP over the hits inside the capped list.</param>
/// <param name="RecallAtK">Weighted mean of (hits in the top k) / (hits inside the capped list).</param>
/// <param name="MeanPosition">The original's "all positions": mean 0-based position, misses and padding at <see cref="PositionCap"/>.</param>
/// <param name="MeanFirstPosition">The original's "min positions".</param>
/// <param name="MeanMedianPosition">The original's "median positions": the weighted mean of per-query medians.</param>
public sealed record SeedCompatibleRetrievalReport(
    int Cap,
    int PositionCap,
    int QueryCount,
    long ConnectionCount,
    int QueriesWithoutHits,
    double MeanAveragePrecision,
    IReadOnlyList<RecallAtK> RecallAtK,
    double MeanPosition,
    double MeanFirstPosition,
    double MeanMedianPosition);

/// <summary>
/// Retrieval metrics against a ground truth of relevant items, as the EPFL DHLAB Replica research evaluated its
/// signatures against the morphograph (SEEDS.md: "queries = test+val images; relevant = direct morphograph
/// neighbours; mAP, recall@k (k = 20…400), mean/median rank"). <see cref="CosineRanking.Rank"/> produces the input.
/// </summary>
/// <remarks>
/// <para><b>Input.</b> A ranking per query: gallery ids, best first, without the query itself, each at most once.
/// The relevant items of a query are <c>relevantOf(query)</c> ∩ gallery, minus the query. A query with none is
/// skipped (counted in <see cref="RetrievalReport.QueriesWithoutRelevant"/>): the research's queries are images
/// with a morphograph neighbour. Restricting the rankings to the test and validation images is the caller's choice
/// of dictionary keys.</para>
/// <para><b>Standard definitions</b> (<see cref="Evaluate(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int})"/>),
/// for a query with R relevant items found at 1-based ranks r₁ &lt; r₂ &lt; … &lt; r_h:
/// AP = (1/R) Σᵢ i/rᵢ, the mean over ALL relevant items of the precision at each one's rank, a relevant item that
/// is not retrieved contributing 0 (with a complete ranking and distinct scores this is scikit-learn's
/// <c>average_precision_score</c>); recall@k = |{i : rᵢ ≤ k}| / R; precision@k = |{i : rᵢ ≤ k}| / k, always divided
/// by k even when fewer than k items could be ranked (Manning, Raghavan &amp; Schütze, <i>Introduction to
/// Information Retrieval</i>, §8.4, and trec_eval's P_k); mAP, recall@k and precision@k are means over queries.
/// Mean and median rank are over the ranks of every relevant item of every query, pooled (a query with more
/// relevant items weighs more, as in the research's "all positions"); the mean first rank is per query.
/// These are exact when each ranking covers the whole gallery (<see cref="CosineRanking.Rank"/> with no top-K). With
/// truncated rankings they are bounds on the exact values: AP is a lower bound, recall@k is exact for k up to
/// the ranking's length, and the u relevant items a ranking lacks are given the worst ranks they could have,
/// N − u + 1 … N (N = gallery size without the query), so the rank statistics are upper bounds.</para>
/// <para><b>Seed-compatible definitions</b> (<see cref="EvaluateSeedCompatible(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int}, int, int)"/>)
/// reproduce the original code (github.com/ludovicaschaerf/Cini_TDA, <c>model/utils.py</c> <c>get_scores</c> and
/// <c>model/metrics.py</c>), which SEEDS.md calls optimistic ("ranked list capped at 4,000; recall divided by hits
/// inside the list"). See that method for the details.</para>
/// </remarks>
public static class RetrievalMetrics
{
    /// <summary>The research's recall cut-offs (Cini_TDA <c>get_scores</c>: recall @ 20, 50, 100, 200, 400), the
    /// default of the seed-compatible figures.</summary>
    public static IReadOnlyList<int> DefaultRecallKs { get; } = [20, 50, 100, 200, 400];

    /// <summary>Motif's cut-offs for recall@k and precision@k (issue 11): the research's, plus 1, 5 and 10, which
    /// say whether a curator finds the partner on the first screen.</summary>
    public static IReadOnlyList<int> StandardCutOffs { get; } = [1, 5, 10, 20, 50, 100, 200, 400];

    /// <summary>Standard metrics with the morphograph's positive neighbours (<see cref="Morphograph.PositiveNeighbours"/>) as relevant items.</summary>
    public static RetrievalReport Evaluate(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings, Morphograph morphograph,
        IEnumerable<string> gallery, IReadOnlyList<int>? recallKs = null)
    {
        ArgumentNullException.ThrowIfNull(morphograph);
        return Evaluate(rankings, id => morphograph.PositiveNeighbours(id), gallery, recallKs);
    }

    /// <summary>
    /// Standard mAP, recall@k, mean/median rank and mean first rank (definitions in the remarks on
    /// <see cref="RetrievalMetrics"/>). Means are NaN when no query has a relevant item.
    /// </summary>
    /// <param name="rankings">Query id → gallery ids, best first, without the query, no repeats.</param>
    /// <param name="relevantOf">The ground truth: a query's relevant ids (may include ids outside the gallery).</param>
    /// <param name="gallery">The ids that could be retrieved.</param>
    /// <param name="recallKs">Recall and precision cut-offs, each ≥ 1; default <see cref="StandardCutOffs"/>.</param>
    /// <exception cref="ArgumentException">A ranking holds its query, an id twice, or an id outside the gallery.</exception>
    public static RetrievalReport Evaluate(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings, Func<string, IEnumerable<string>> relevantOf,
        IEnumerable<string> gallery, IReadOnlyList<int>? recallKs = null)
    {
        var (ks, galleryIds) = CheckArguments(rankings, relevantOf, gallery, recallKs ?? StandardCutOffs);
        var queries = new List<QueryRetrieval>();
        var pooledRanks = new List<long>();
        var skipped = 0;
        long unretrieved = 0;
        double sumAp = 0, sumFirst = 0;
        var sumRecall = new double[ks.Length];
        var sumPrecision = new double[ks.Length];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var views = new ViewReader(galleryIds);
        foreach (var query in rankings.Keys.Order(StringComparer.Ordinal))
        {
            var relevant = RelevantSet(query, relevantOf, galleryIds);
            if (relevant.Count == 0)
            {
                skipped++;
                continue;
            }
            var ranking = rankings[query] ?? throw new ArgumentException($"The ranking of '{query}' is null.", nameof(rankings));
            var ranks = FindRelevantRanks(query, ranking, relevant, galleryIds, seen, views);
            var r = relevant.Count;
            var h = ranks.Length;
            var candidates = (long)galleryIds.Count - (galleryIds.Contains(query) ? 1 : 0);

            var ap = 0.0;
            for (var i = 0; i < h; i++)
            {
                ap += (i + 1) / (double)ranks[i];
                pooledRanks.Add(ranks[i]);
            }
            ap /= r;
            // The u missing items get the worst ranks they could have: N − u + 1 … N.
            var u = r - h;
            for (var j = 1; j <= u; j++)
            {
                pooledRanks.Add(candidates - u + j);
            }
            unretrieved += u;
            sumFirst += h > 0 ? ranks[0] : candidates - u + 1;
            sumAp += ap;
            for (var k = 0; k < ks.Length; k++)
            {
                var found = CountAtMost(ranks, ks[k]);
                sumRecall[k] += found / (double)r;
                sumPrecision[k] += found / (double)ks[k];
            }
            queries.Add(new QueryRetrieval(query, r, ranks, ap));
        }

        var n = queries.Count;
        pooledRanks.Sort();
        return new RetrievalReport(
            n,
            skipped,
            sumAp / n,
            [.. ks.Select((k, i) => new RecallAtK(k, sumRecall[i] / n))],
            [.. ks.Select((k, i) => new PrecisionAtK(k, sumPrecision[i] / n))],
            pooledRanks.Count == 0 ? double.NaN : pooledRanks.Average(x => (double)x),
            Median(pooledRanks),
            sumFirst / n,
            pooledRanks.Count,
            unretrieved,
            queries);
    }

    /// <summary>Seed-compatible metrics with the morphograph's positive neighbours as relevant items. For the
    /// original's relevance (POSITIVE edges only) pass <c>id =&gt; morphograph.Neighbours(id, MorphographEdgeType.Positive)</c>.</summary>
    public static SeedCompatibleRetrievalReport EvaluateSeedCompatible(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings,
        Morphograph morphograph, IEnumerable<string> gallery, IReadOnlyList<int>? recallKs = null, int cap = 4000, int positionCap = 400)
    {
        ArgumentNullException.ThrowIfNull(morphograph);
        return EvaluateSeedCompatible(rankings, id => morphograph.PositiveNeighbours(id), gallery, recallKs, cap, positionCap);
    }

    /// <summary>
    /// The research's retrieval figures as its code computed them (Cini_TDA <c>get_scores</c>, <c>metrics.py</c>),
    /// for comparison with its published numbers only: they are optimistic, use <see cref="Evaluate(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int})"/> otherwise.
    /// </summary>
    /// <remarks>
    /// <para>The list: the original asked a BallTree for the <paramref name="cap"/> nearest signatures and dropped the
    /// query, so a query's list is the first <paramref name="cap"/> − 1 items of its ranking (<paramref name="cap"/> if the
    /// query is not in the gallery). Its h hits (relevant items inside it) sit at 1-based ranks r₁ &lt; … &lt; r_h.</para>
    /// <para>AP = (1/h) Σᵢ i/rᵢ: divided by the hits inside the list, not by the relevant count (<c>average_precision</c>);
    /// recall@k = |{i : rᵢ ≤ k}| / h (<c>recall_at_k</c>). A query with no hit scores 0 on both.</para>
    /// <para>Positions (<c>find_pos_matches</c>): 0-based positions rᵢ − 1 of the hits within the first
    /// <paramref name="positionCap"/> items, then padded with the value <paramref name="positionCap"/> up to the
    /// length of the original's relevant list, which held each neighbour twice (its table had one row per endpoint
    /// of each connection) plus the query itself: 2R + 1 entries for R relevant items. "Mean position" pools the
    /// padded lists, "first position" is a list's first entry, "median position" its median.</para>
    /// <para>Weights: the original looped over connection rows, so a query is counted once per connection, that is
    /// R times (R = its relevant items in the gallery; the original also counted a repeated connection twice).
    /// Every mean here is weighted that way; means are NaN when no query has a relevant item.</para>
    /// </remarks>
    public static SeedCompatibleRetrievalReport EvaluateSeedCompatible(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings,
        Func<string, IEnumerable<string>> relevantOf, IEnumerable<string> gallery, IReadOnlyList<int>? recallKs = null,
        int cap = 4000, int positionCap = 400)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positionCap);
        var (ks, galleryIds) = CheckArguments(rankings, relevantOf, gallery, recallKs);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var views = new ViewReader(galleryIds);
        int queryCount = 0, withoutHits = 0;
        long rows = 0, positionCount = 0;
        double sumAp = 0, sumPositions = 0, sumFirst = 0, sumMedian = 0;
        var sumRecall = new double[ks.Length];
        var positions = new List<long>();
        foreach (var query in rankings.Keys.Order(StringComparer.Ordinal))
        {
            var relevant = RelevantSet(query, relevantOf, galleryIds);
            if (relevant.Count == 0)
            {
                continue;
            }
            var ranking = rankings[query] ?? throw new ArgumentException($"The ranking of '{query}' is null.", nameof(rankings));
            var ranks = FindRelevantRanks(query, ranking, relevant, galleryIds, seen, views);
            var length = cap - (galleryIds.Contains(query) ? 1 : 0);
            var hits = ranks.Where(r => r <= length).ToArray();
            var h = hits.Length;
            var w = relevant.Count;
            queryCount++;
            rows += w;

            double ap = 0;
            for (var i = 0; i < h; i++)
            {
                ap += (i + 1) / (double)hits[i];
            }
            if (h > 0)
            {
                sumAp += w * ap / h;
                for (var k = 0; k < ks.Length; k++)
                {
                    sumRecall[k] += w * CountAtMost(hits, ks[k]) / (double)h;
                }
            }
            else
            {
                withoutHits++;
            }

            positions.Clear();
            positions.AddRange(hits.Where(r => r <= positionCap).Select(r => (long)r - 1));
            while (positions.Count < 2 * w + 1)
            {
                positions.Add(positionCap);
            }
            sumPositions += w * (double)positions.Sum();
            positionCount += w * (long)positions.Count;
            sumFirst += w * (double)positions[0];
            sumMedian += w * Median(positions);   // already ascending: hits ascending, padding the largest
        }
        return new SeedCompatibleRetrievalReport(
            cap,
            positionCap,
            queryCount,
            rows,
            withoutHits,
            sumAp / rows,
            [.. ks.Select((k, i) => new RecallAtK(k, sumRecall[i] / rows))],
            sumPositions / positionCount,
            sumFirst / rows,
            sumMedian / rows);
    }

    private static (int[] Ks, HashSet<string> Gallery) CheckArguments(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings,
        Func<string, IEnumerable<string>> relevantOf, IEnumerable<string> gallery, IReadOnlyList<int>? recallKs)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        ArgumentNullException.ThrowIfNull(relevantOf);
        ArgumentNullException.ThrowIfNull(gallery);
        var ks = (recallKs ?? DefaultRecallKs).ToArray();
        if (ks.Any(k => k < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(recallKs), "Recall cut-offs are ≥ 1.");
        }
        return (ks, new HashSet<string>(gallery, StringComparer.Ordinal));
    }

    private static HashSet<string> RelevantSet(string query, Func<string, IEnumerable<string>> relevantOf, HashSet<string> gallery)
    {
        var relevant = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in relevantOf(query) ?? [])
        {
            if (id is not null && gallery.Contains(id) && !string.Equals(id, query, StringComparison.Ordinal))
            {
                relevant.Add(id);
            }
        }
        return relevant;
    }

    /// <summary>1-based ranks of the relevant items in <paramref name="ranking"/>, ascending, after checking that the
    /// ranking is a list of distinct gallery ids without the query.</summary>
    private static int[] FindRelevantRanks(string query, IReadOnlyList<string> ranking, HashSet<string> relevant,
        HashSet<string> gallery, HashSet<string> seen, ViewReader views)
    {
        if (ranking is CosineRanking.RankedIds view && views.Read(view, query, relevant) is { } fast)
        {
            return fast;
        }
        seen.Clear();
        var ranks = new List<int>();
        for (var i = 0; i < ranking.Count; i++)
        {
            var id = ranking[i];
            if (id is null || !gallery.Contains(id))
            {
                throw new ArgumentException($"The ranking of '{query}' holds '{id}' at rank {i + 1}, which is not in the gallery.", "rankings");
            }
            if (string.Equals(id, query, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The ranking of '{query}' holds the query itself (rank {i + 1}).", "rankings");
            }
            if (!seen.Add(id))
            {
                throw new ArgumentException($"The ranking of '{query}' holds '{id}' twice (again at rank {i + 1}).", "rankings");
            }
            if (relevant.Contains(id))
            {
                ranks.Add(i + 1);
            }
        }
        return [.. ranks];
    }

    /// <summary>
    /// Reads rankings made by <see cref="CosineRanking.Rank"/> by row index instead of id: their rows are distinct and
    /// exclude their query, so once every id of their matrix is known to be in the gallery no per-item check is
    /// needed (10k full rankings: 10⁸ hash look-ups saved).
    /// </summary>
    private sealed class ViewReader(HashSet<string> gallery)
    {
        private readonly Dictionary<IReadOnlyList<string>, (Dictionary<string, int> RowOf, bool[] Marked)?> _sources =
            new(ReferenceEqualityComparer.Instance);

        /// <summary>The 1-based ranks of the relevant items, or null when the view must be checked id by id (some id
        /// of its matrix is not in the gallery, or it was filed under another query than its own).</summary>
        public int[]? Read(CosineRanking.RankedIds view, string query, HashSet<string> relevant)
        {
            if (!string.Equals(view.Ids[view.QueryRow], query, StringComparison.Ordinal))
            {
                return null;
            }
            if (!_sources.TryGetValue(view.Ids, out var source))
            {
                source = view.Ids.All(gallery.Contains)
                    ? (view.Ids.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row, StringComparer.Ordinal), new bool[view.Ids.Count])
                    : null;
                _sources[view.Ids] = source;
            }
            if (source is null)
            {
                return null;
            }
            var (rowOf, marked) = source.Value;
            var relevantRows = new List<int>(relevant.Count);
            foreach (var id in relevant)
            {
                // A relevant gallery image outside this matrix can never be retrieved by it.
                if (rowOf.TryGetValue(id, out var row))
                {
                    marked[row] = true;
                    relevantRows.Add(row);
                }
            }
            var ranks = new List<int>();
            var rows = view.Rows;
            for (var i = 0; i < rows.Length && ranks.Count < relevantRows.Count; i++)
            {
                if (marked[rows[i]])
                {
                    ranks.Add(i + 1);
                }
            }
            foreach (var row in relevantRows)
            {
                marked[row] = false;
            }
            return [.. ranks];
        }
    }

    private static int CountAtMost(int[] ascending, int k)
    {
        var count = 0;
        while (count < ascending.Length && ascending[count] <= k)
        {
            count++;
        }
        return count;
    }

    /// <summary>The median of an ascending list (numpy's: the mean of the two middle values for an even count).</summary>
    private static double Median(List<long> ascending)
    {
        var n = ascending.Count;
        if (n == 0)
        {
            return double.NaN;
        }
        return n % 2 == 1 ? ascending[n / 2] : (ascending[n / 2 - 1] + (double)ascending[n / 2]) / 2;
    }
}
