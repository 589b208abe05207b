using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>Recall at one cut-off: the mean over queries of the share of a query's relevant items in its top
/// <see cref="K"/>.</summary>
public sealed record RecallAtK(int K, double Recall);

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
/// neighbours; mAP, recall@k (k = 20…400), mean/median rank"), plus an exact cosine ranking to produce the input.
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
/// <c>average_precision_score</c>); recall@k = |{i : rᵢ ≤ k}| / R; mAP and recall@k are means over queries.
/// Mean and median rank are over the ranks of every relevant item of every query, pooled (a query with more
/// relevant items weighs more, as in the research's "all positions"); the mean first rank is per query.
/// These are exact when each ranking covers the whole gallery (<see cref="RankByCosine"/> with no top-K). With
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
    /// <summary>The research's recall cut-offs (Cini_TDA <c>get_scores</c>: recall @ 20, 50, 100, 200, 400).</summary>
    public static IReadOnlyList<int> DefaultRecallKs { get; } = [20, 50, 100, 200, 400];

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
    /// <param name="recallKs">Recall cut-offs, each ≥ 1; default <see cref="DefaultRecallKs"/>.</param>
    /// <exception cref="ArgumentException">A ranking holds its query, an id twice, or an id outside the gallery.</exception>
    public static RetrievalReport Evaluate(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings, Func<string, IEnumerable<string>> relevantOf,
        IEnumerable<string> gallery, IReadOnlyList<int>? recallKs = null)
    {
        var (ks, galleryIds) = CheckArguments(rankings, relevantOf, gallery, recallKs);
        var queries = new List<QueryRetrieval>();
        var pooledRanks = new List<long>();
        var skipped = 0;
        long unretrieved = 0;
        double sumAp = 0, sumFirst = 0;
        var sumRecall = new double[ks.Length];
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
                sumRecall[k] += CountAtMost(ranks, ks[k]) / (double)r;
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
        if (ranking is RankingView view && views.Read(view, query, relevant) is { } fast)
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
    /// Reads rankings made by <see cref="RankByCosine"/> by row index instead of id: their rows are distinct and
    /// exclude their query, so once every id of their matrix is known to be in the gallery no per-item check is
    /// needed (10k full rankings: 10⁸ hash look-ups saved).
    /// </summary>
    private sealed class ViewReader(HashSet<string> gallery)
    {
        private readonly Dictionary<IReadOnlyList<string>, (Dictionary<string, int> RowOf, bool[] Marked)?> _sources =
            new(ReferenceEqualityComparer.Instance);

        /// <summary>The 1-based ranks of the relevant items, or null when the view must be checked id by id (some id
        /// of its matrix is not in the gallery, or it was filed under another query than its own).</summary>
        public int[]? Read(RankingView view, string query, HashSet<string> relevant)
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

    // ---------------------------------------------------------------------------------------------------------------
    // Exact cosine ranking
    // ---------------------------------------------------------------------------------------------------------------

    // Queries are processed in blocks of this many rows against gallery tiles of GalleryBlock rows: a query block of
    // 2048-d float32 rows (512 KiB) stays in a core's L2 cache while the whole gallery streams past it once.
    private const int QueryBlock = 64;
    private const int GalleryBlock = 64;

    /// <summary>
    /// Every query's gallery ranked by cosine similarity, best first, the query itself excluded: the input of
    /// <see cref="Evaluate(IReadOnlyDictionary{string, IReadOnlyList{string}}, Func{string, IEnumerable{string}}, IEnumerable{string}, IReadOnlyList{int})"/>.
    /// The gallery is every row; the queries are <paramref name="queries"/> (default: every row).
    /// </summary>
    /// <remarks>
    /// <para><b>Scores.</b> The cosine of query q and gallery row j is ranked as x_q·x_j / ‖x_j‖ (dividing by ‖x_q‖ does
    /// not change q's order), so rows need not be exactly unit length (Replica signatures are L2-normalised per
    /// image, SEEDS.md). The dot product is a float32 SIMD sum computed by the same sequence of operations for every
    /// pair, whatever block it falls in, so results do not depend on the query set, block sizes or thread count,
    /// and x_q·x_j = x_j·x_q bit for bit.</para>
    /// <para><b>Ties.</b> Equal scores are ordered by row index (the lower first); −0 and +0 are equal.</para>
    /// <para><b>Cost.</b> Exact: Q × N dot products in 4 × 4 register-blocked tiles (about 2·10¹¹ multiply-adds for
    /// 10k × 10k × 2048-d), then per query a stable radix sort of all N − 1 candidates, or a bounded heap of K when
    /// 8K &lt; N. Measured for 10k × 2048 with 2 threads on a shared 2-core VM: about 15 s for full rankings, 10 s for
    /// the top 100 (5× faster than one <c>TensorPrimitives.Dot</c> per pair). Memory: 4 bytes per returned entry (the
    /// lists are views over one int array), plus 8 bytes × N × 65 per worker while sorting full rankings.</para>
    /// </remarks>
    /// <param name="signatures">Row-major N × D float32 matrix, N = <paramref name="ids"/>.Count.</param>
    /// <param name="ids">Row ids, distinct.</param>
    /// <param name="queries">Ids of the rows to rank for, each once; default every row, in row order.</param>
    /// <param name="topK">Entries kept per query (≥ 1); default all N − 1.</param>
    /// <param name="degreeOfParallelism">Worker threads.</param>
    /// <param name="cancellationToken">Cancels the computation.</param>
    /// <returns>Query id → ranked gallery ids, in the order of the queries.</returns>
    /// <exception cref="ArgumentException">The matrix is not N × D, a row is all zeros or not finite, an id repeats or
    /// a query is not an id.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> RankByCosine(ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids,
        IEnumerable<string>? queries = null, int? topK = null, int degreeOfParallelism = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degreeOfParallelism);
        ids = ids.ToArray();   // the rankings read ids from this list: the caller's may change later
        var n = ids.Count;
        if (n == 0 || signatures.Length % n != 0 || signatures.Length == 0)
        {
            throw new ArgumentException($"The signatures ({signatures.Length} floats) are not {n} non-empty rows.", nameof(signatures));
        }
        var dim = signatures.Length / n;
        var rowOf = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            if (ids[i] is null || !rowOf.TryAdd(ids[i], i))
            {
                throw new ArgumentException($"Row id {i} ('{ids[i]}') is null or repeats an earlier one.", nameof(ids));
            }
        }
        int[] queryRows;
        if (queries is null)
        {
            queryRows = Enumerable.Range(0, n).ToArray();
        }
        else
        {
            var list = new List<int>();
            var chosen = new HashSet<int>();
            foreach (var q in queries)
            {
                if (q is null || !rowOf.TryGetValue(q, out var row))
                {
                    throw new ArgumentException($"The query '{q}' is not a row id.", nameof(queries));
                }
                if (!chosen.Add(row))
                {
                    throw new ArgumentException($"The query '{q}' is given twice.", nameof(queries));
                }
                list.Add(row);
            }
            queryRows = [.. list];
        }
        if (topK is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "Keep at least one entry per query.");
        }
        var k = (int)Math.Min(topK ?? long.MaxValue, n - 1);

        var inverseNorms = new float[n];
        var x = signatures;
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
        {
            var row = x.Span.Slice(i * dim, dim);
            var sum = 0.0;
            foreach (var v in row)
            {
                sum += (double)v * v;
            }
            inverseNorms[i] = (float)(1 / Math.Sqrt(sum));
        });
        for (var i = 0; i < n; i++)
        {
            if (!float.IsFinite(inverseNorms[i]) || inverseNorms[i] == 0)
            {
                throw new ArgumentException($"Signature {i} ('{ids[i]}') is all zeros or not finite: it has no direction.", nameof(signatures));
            }
        }

        if ((long)queryRows.Length * k > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK,
                $"{queryRows.Length} queries × {k} entries exceed one array: ask for fewer entries or fewer queries at a time.");
        }
        var result = new int[(long)queryRows.Length * k];
        var rankings = new OrderedDictionary<string, IReadOnlyList<string>>(queryRows.Length, StringComparer.Ordinal);
        if (k == 0)
        {
            // A single row: nothing to rank.
            foreach (var row in queryRows)
            {
                rankings.Add(ids[row], new RankingView(ids, result, 0, 0, row));
            }
            return rankings;
        }
        // A bounded heap pays off when it keeps a small share of the candidates; otherwise sort them all.
        var useHeap = (long)k * 8 < n;
        var blocks = Enumerable.Range(0, (queryRows.Length + QueryBlock - 1) / QueryBlock).ToArray();
        Parallel.ForEach(
            Partitioner.Create(blocks, EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken },
            () => new RankWorker(useHeap ? k : n, QueryBlock, useHeap),
            (block, _, worker) =>
            {
                worker.Run(x.Span, dim, n, queryRows, block * QueryBlock, Math.Min(queryRows.Length, (block + 1) * QueryBlock),
                    inverseNorms, k, useHeap, result, cancellationToken);
                return worker;
            },
            _ => { });

        for (var q = 0; q < queryRows.Length; q++)
        {
            rankings.Add(ids[queryRows[q]], new RankingView(ids, result, (long)q * k, k, queryRows[q]));
        }
        return rankings;
    }

    /// <summary>A ranking as ids, read from a slice of the shared index array. By construction its rows are distinct
    /// and exclude <see cref="QueryRow"/>, which lets the metrics read it without checking it id by id.</summary>
    private sealed class RankingView(IReadOnlyList<string> ids, int[] rows, long offset, int count, int queryRow) : IReadOnlyList<string>
    {
        public IReadOnlyList<string> Ids => ids;

        public int QueryRow => queryRow;

        public ReadOnlySpan<int> Rows => rows.AsSpan((int)offset, count);

        public string this[int index] => (uint)index < (uint)count ? ids[rows[offset + index]] : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => count;

        public IEnumerator<string> GetEnumerator()
        {
            for (var i = 0; i < count; i++)
            {
                yield return ids[rows[offset + i]];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// A candidate as one sortable key: ascending keys are descending scores, then ascending row index. The float's
    /// bits are mapped to an unsigned integer that grows with the value (sign bit flipped for positives, all bits
    /// for negatives), inverted for descending order, and put above the 32-bit index.
    /// </summary>
    internal static ulong RankKey(float score, int index)
    {
        var bits = BitConverter.SingleToUInt32Bits(score + 0f);   // −0 + 0 = +0: −0 and +0 tie
        var ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)~ascending << 32) | (uint)index;
    }

    /// <summary>Per-thread buffers: a tile of dot products and one candidate buffer per query of a block.</summary>
    private sealed class RankWorker(int capacity, int queries, bool useHeap)
    {
        private const int DigitBits = 11;
        private const int Buckets = 1 << DigitBits;

        private readonly float[] _tile = new float[QueryBlock * GalleryBlock];
        private readonly ulong[][] _candidates = Enumerable.Range(0, queries).Select(_ => new ulong[capacity]).ToArray();
        private readonly int[] _counts = new int[queries];
        private readonly ulong[] _scratch = useHeap ? [] : new ulong[capacity];
        private readonly int[] _histogram = useHeap ? [] : new int[3 * Buckets];

        public void Run(ReadOnlySpan<float> x, int dim, int n, int[] queryRows, int q0, int q1, float[] inverseNorms, int k,
            bool useHeap, int[] result, CancellationToken cancellationToken)
        {
            Array.Clear(_counts);
            for (var g0 = 0; g0 < n; g0 += GalleryBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var g1 = Math.Min(n, g0 + GalleryBlock);
                DotTile(x, dim, queryRows, q0, q1, g0, g1, _tile);
                for (var q = q0; q < q1; q++)
                {
                    var self = queryRows[q];
                    var buffer = _candidates[q - q0];
                    ref var count = ref _counts[q - q0];
                    var tileRow = _tile.AsSpan((q - q0) * GalleryBlock, g1 - g0);
                    for (var j = g0; j < g1; j++)
                    {
                        if (j == self)
                        {
                            continue;
                        }
                        var key = RankKey(tileRow[j - g0] * inverseNorms[j], j);
                        if (!useHeap)
                        {
                            buffer[count++] = key;
                        }
                        else if (count < k)
                        {
                            HeapPush(buffer, count++, key);
                        }
                        else if (key < buffer[0])
                        {
                            HeapReplaceTop(buffer, k, key);
                        }
                    }
                }
            }
            for (var q = q0; q < q1; q++)
            {
                var keys = _candidates[q - q0].AsSpan(0, _counts[q - q0]);
                if (useHeap)
                {
                    keys.Sort();
                }
                else
                {
                    SortByScore(keys);
                }
                var output = result.AsSpan(q * k, k);
                for (var i = 0; i < k; i++)
                {
                    output[i] = (int)(uint)keys[i];
                }
            }
        }

        /// <summary>
        /// Sorts keys that were appended in ascending index order: a stable LSD radix sort on their score half (three
        /// 11-bit digits of bits 32–63). Stability keeps equal scores in index order, so the result is the keys'
        /// full ascending order, at a fraction of a comparison sort's cost for a whole gallery.
        /// </summary>
        private void SortByScore(Span<ulong> keys)
        {
            var histogram = _histogram.AsSpan();
            histogram.Clear();
            foreach (var key in keys)
            {
                var score = (uint)(key >> 32);
                histogram[(int)(score & (Buckets - 1))]++;
                histogram[Buckets + (int)((score >> DigitBits) & (Buckets - 1))]++;
                histogram[2 * Buckets + (int)(score >> (2 * DigitBits))]++;
            }
            var source = keys;
            var target = _scratch.AsSpan(0, keys.Length);
            for (var pass = 0; pass < 3; pass++)
            {
                var counts = histogram.Slice(pass * Buckets, Buckets);
                var shift = 32 + pass * DigitBits;
                var digitOfFirst = keys.Length == 0 ? 0 : (int)((source[0] >> shift) & (Buckets - 1));
                if (counts[digitOfFirst] == keys.Length)
                {
                    continue;   // every key has the same digit: this pass would not move anything
                }
                var offset = 0;
                for (var b = 0; b < Buckets; b++)
                {
                    (counts[b], offset) = (offset, offset + counts[b]);
                }
                foreach (var key in source)
                {
                    target[counts[(int)((key >> shift) & (Buckets - 1))]++] = key;
                }
                var swap = source;
                source = target;
                target = swap;
            }
            if (source != keys)
            {
                source.CopyTo(keys);
            }
        }

        // A max-heap of the k smallest keys seen: the root is the worst kept candidate.
        private static void HeapPush(ulong[] heap, int count, ulong key)
        {
            var i = count;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (heap[parent] >= key)
                {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = key;
        }

        private static void HeapReplaceTop(ulong[] heap, int count, ulong key)
        {
            var i = 0;
            while (true)
            {
                var child = 2 * i + 1;
                if (child >= count)
                {
                    break;
                }
                if (child + 1 < count && heap[child + 1] > heap[child])
                {
                    child++;
                }
                if (heap[child] <= key)
                {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = key;
        }
    }

    /// <summary>Dot products of query rows queryRows[q0..q1) with gallery rows [g0, g1) into <paramref name="tile"/>
    /// (row stride <see cref="GalleryBlock"/>).</summary>
    private static void DotTile(ReadOnlySpan<float> x, int dim, int[] queryRows, int q0, int q1, int g0, int g1, float[] tile)
    {
        var vectorised = Vector256.IsHardwareAccelerated && dim >= Vector256<float>.Count;
        var q = q0;
        if (vectorised)
        {
            for (; q + 4 <= q1; q += 4)
            {
                var g = g0;
                for (; g + 4 <= g1; g += 4)
                {
                    Kernel4x4(x, dim, queryRows, q, g, tile.AsSpan((q - q0) * GalleryBlock + (g - g0)));
                }
                for (; g < g1; g++)
                {
                    for (var r = q; r < q + 4; r++)
                    {
                        tile[(r - q0) * GalleryBlock + (g - g0)] = Dot(x, dim, queryRows[r], g);
                    }
                }
            }
        }
        for (; q < q1; q++)
        {
            for (var g = g0; g < g1; g++)
            {
                tile[(q - q0) * GalleryBlock + (g - g0)] = vectorised ? Dot(x, dim, queryRows[q], g) : ScalarDot(x, dim, queryRows[q], g);
            }
        }
    }

    /// <summary>One dot product by exactly the operations <see cref="Kernel4x4"/> performs for each of its pairs.</summary>
    private static float Dot(ReadOnlySpan<float> x, int dim, int a, int b)
    {
        ref var origin = ref MemoryMarshal.GetReference(x);
        nuint ao = (nuint)a * (nuint)dim, bo = (nuint)b * (nuint)dim;
        Vector256<float> s = default;
        var width = (nuint)Vector256<float>.Count;
        var end = (nuint)dim - (nuint)dim % width;
        for (nuint k = 0; k < end; k += width)
        {
            s = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref origin, ao + k), Vector256.LoadUnsafe(ref origin, bo + k), s);
        }
        var sum = Vector256.Sum(s);
        for (var k = (int)end; k < dim; k++)
        {
            sum += x[a * dim + k] * x[b * dim + k];
        }
        return sum;
    }

    private static float ScalarDot(ReadOnlySpan<float> x, int dim, int a, int b)
    {
        var sum = 0f;
        for (var k = 0; k < dim; k++)
        {
            sum += x[a * dim + k] * x[b * dim + k];
        }
        return sum;
    }

    // Same reduction and tail, in the same order, as Dot.
    private static void Kernel4x4(ReadOnlySpan<float> x, int dim, int[] queryRows, int q, int g, Span<float> output) =>
        FloatDotKernel.Compute4x4(x, dim, queryRows[q], queryRows[q + 1], queryRows[q + 2], queryRows[q + 3], g, output, GalleryBlock);
}
