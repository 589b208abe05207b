using Motif.Core.Signatures;

namespace Motif.Core.Clustering;

/// <summary>
/// OPTICS — Ankerst, Breunig, Kriegel &amp; Sander, "OPTICS: Ordering Points To Identify the Clustering
/// Structure", ACM SIGMOD Record 28(2), 1999, pp. 49–60 — over a precomputed <see cref="NeighbourGraph"/>,
/// written to give exactly the results of scikit-learn 1.2.1's <c>sklearn/cluster/_optics.py</c>
/// (<c>compute_optics_graph</c>, <c>cluster_optics_xi</c>, <c>cluster_optics_dbscan</c>) with
/// <c>metric='cosine'</c>: the same ordering, tie-breaking, rounding, predecessors and labels.
/// </summary>
/// <remarks>
/// scikit-learn finds each point's neighbours with a brute-force radius query per processed point
/// (O(N²·D) in total, and the reason the research could not finish 79k images); here the neighbours come
/// from the graph, built once (and incrementally), and the "smallest unprocessed reachability" scan —
/// <c>np.argmin</c> over all unprocessed points, O(N²) — is a binary heap with lazy deletion, O(E log N).
/// Where Motif deliberately differs: scikit-learn refuses data sets smaller than <c>min_samples</c> or
/// <c>min_cluster_size</c> (ValueError); Motif returns their natural result — no point is core, everything is
/// noise — because a nightly run over a young collection must not fail.
/// </remarks>
public static class Optics
{
    /// <summary>
    /// Core distances, reachability, ordering and predecessors (<c>compute_optics_graph</c>).
    /// </summary>
    /// <param name="graph">Neighbours within at least <paramref name="maxEps"/>.</param>
    /// <param name="minSamples">Neighbourhood size for a core point, the point itself included: an integer ≥ 2,
    /// or a fraction in (0, 1] of the number of points (then max(2, ⌊fraction·N⌋)), as in scikit-learn.</param>
    /// <param name="maxEps">Largest neighbourhood radius; defaults to the graph's radius, and may not exceed it.</param>
    public static OpticsResult Order(NeighbourGraph graph, double minSamples, double? maxEps = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var n = graph.Count;
        var eps = maxEps ?? graph.Radius;
        if (!(eps >= 0) || eps > graph.Radius)
        {
            throw new ArgumentOutOfRangeException(nameof(maxEps), eps, $"max_eps must be in [0, the graph's radius {graph.Radius}].");
        }
        var k = ResolveCount(minSamples, n, nameof(minSamples));

        // Core distance: distance to the k-th nearest point counting the point itself (kneighbors(X, k)[0][:, -1]
        // in _compute_core_distances_), i.e. the (k−1)-th neighbour in the row; ∞ beyond max_eps. Then scikit-learn
        // rounds to np.finfo(float64).precision = 15 decimals; rounding turns last-bit differences between
        // its two computations of a distance (kneighbors, pairwise_distances) into exact ties, so we round alike.
        var core = new double[n];
        for (var p = 0; p < n; p++)
        {
            var distances = graph.DistancesOf(p);
            core[p] = k - 1 <= distances.Length && distances[k - 2] <= eps ? Round15(distances[k - 2]) : double.PositiveInfinity;
        }

        var reachability = new double[n];
        Array.Fill(reachability, double.PositiveInfinity);
        var predecessor = new int[n];
        Array.Fill(predecessor, -1);
        var ordering = new int[n];
        var processed = new bool[n];

        // scikit-learn picks `index[np.argmin(reachability_[index])]` over the unprocessed points: the smallest
        // reachability, lowest index among equals; when every unprocessed point is at ∞ that is the lowest
        // unprocessed index. The heap orders (reachability, index) lexicographically, giving the same choice;
        // stale entries (the point has since improved or been processed) are skipped when they surface.
        var heap = new PriorityQueue<int, (double Reachability, int Index)>();
        var nextUnprocessed = 0;
        for (var position = 0; position < n; position++)
        {
            var point = -1;
            while (heap.TryDequeue(out var candidate, out var priority))
            {
                if (!processed[candidate] && priority.Reachability == reachability[candidate])
                {
                    point = candidate;
                    break;
                }
            }
            if (point < 0)
            {
                while (processed[nextUnprocessed])
                {
                    nextUnprocessed++;
                }
                point = nextUnprocessed;
            }
            processed[point] = true;
            ordering[position] = point;
            if (double.IsPositiveInfinity(core[point]))
            {
                continue;
            }

            // _set_reach_dist: every unprocessed neighbour within max_eps gets
            // round15(max(distance, core distance)) when that is strictly smaller than its reachability.
            var neighbours = graph.NeighboursOf(point);
            var distances = graph.DistancesOf(point);
            for (var i = 0; i < neighbours.Length && distances[i] <= eps; i++)
            {
                var q = neighbours[i];
                if (processed[q])
                {
                    continue;
                }
                var reach = Round15(Math.Max(distances[i], core[point]));
                if (reach < reachability[q])
                {
                    reachability[q] = reach;
                    predecessor[q] = point;
                    heap.Enqueue(q, (reach, q));
                }
            }
        }
        return new OpticsResult(k, eps, ordering, reachability, core, predecessor);
    }

    /// <summary>
    /// Clusters by the ξ-steep method (Ankerst et al. 1999, §4.3; <c>cluster_optics_xi</c>), with the
    /// predecessor correction of Schubert &amp; Gertz, "Improving the Cluster Structure Extracted from OPTICS
    /// Plots", LWDA 2018 (Algorithm 2). Labels are the leaf clusters, as scikit-learn's <c>_extract_xi_labels</c>.
    /// </summary>
    /// <param name="result">The output of <see cref="Order"/>.</param>
    /// <param name="xi">Minimum steepness, in [0, 1].</param>
    /// <param name="minClusterSize">An integer ≥ 2 or a fraction in (0, 1]; <c>null</c> means min_samples.</param>
    /// <param name="predecessorCorrection">Schubert &amp; Gertz's correction (scikit-learn's default).</param>
    public static XiClustering ExtractXi(OpticsResult result, double xi = 0.05, double? minClusterSize = null, bool predecessorCorrection = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!(xi >= 0 && xi <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(xi), xi, "xi is in [0, 1].");
        }
        var n = result.Ordering.Count;
        var minSize = minClusterSize is { } size ? ResolveCount(size, n, nameof(minClusterSize)) : result.MinSamples;
        var clusters = XiSteepAreas.Clusters(result, xi, result.MinSamples, minSize, predecessorCorrection);

        // _extract_xi_labels: clusters come smaller-before-enclosing, so a cluster gets a label only when none
        // of its positions is labelled yet — the leaves of the hierarchy, in order of their end.
        var byPosition = new int[n];
        Array.Fill(byPosition, -1);
        var label = 0;
        foreach (var (start, end) in clusters)
        {
            if (byPosition.AsSpan(start, end - start + 1).ContainsAnyExcept(-1))
            {
                continue;
            }
            byPosition.AsSpan(start, end - start + 1).Fill(label++);
        }
        var labels = new int[n];
        for (var position = 0; position < n; position++)
        {
            labels[result.Ordering[position]] = byPosition[position];
        }
        return new XiClustering(labels, clusters);
    }

    /// <summary>
    /// DBSCAN-like labels at radius <paramref name="eps"/> read off the ordering (<c>cluster_optics_dbscan</c>;
    /// Ankerst et al. 1999, §4.1, ExtractDBSCAN-Clustering): a new cluster starts at each point whose
    /// reachability exceeds eps but whose core distance does not; a point with both above eps is noise.
    /// </summary>
    public static int[] ExtractDbscan(OpticsResult result, double eps)
    {
        ArgumentNullException.ThrowIfNull(result);
        var n = result.Ordering.Count;
        var labels = new int[n];
        var cluster = -1;
        foreach (var point in result.Ordering)
        {
            var far = result.Reachability[point] > eps;
            var nearCore = result.CoreDistances[point] <= eps;
            if (far && nearCore)
            {
                cluster++;
            }
            // labels[ordering] = cumsum(far & near_core) − 1, then labels[far & ~near_core] = −1.
            labels[point] = far && !nearCore ? -1 : cluster;
        }
        return labels;
    }

    /// <summary>scikit-learn's reading of min_samples / min_cluster_size: ≤ 1 is a fraction of N (at least 2).</summary>
    private static int ResolveCount(double value, int n, string name)
    {
        if (!(value > 0) || (value > 1 && (value != Math.Floor(value) || value < 2)))
        {
            throw new ArgumentOutOfRangeException(name, value, "Expected an integer ≥ 2 or a fraction in (0, 1].");
        }
        return value <= 1 ? Math.Max(2, (int)(value * n)) : (int)Math.Min(value, int.MaxValue);
    }

    /// <summary>np.around(x, 15): x·10¹⁵, rounded half to even (np.rint), ÷10¹⁵ — the same float64 operations.</summary>
    internal static double Round15(double x) => Math.Round(x * 1e15, MidpointRounding.ToEven) / 1e15;
}

/// <summary>
/// Output of <see cref="Optics.Order"/>, indexed like scikit-learn's attributes: <see cref="Ordering"/> by
/// position, the others by point. ∞ means undefined (never reached, or never core).
/// </summary>
/// <param name="MinSamples">min_samples after resolving a fraction.</param>
/// <param name="MaxEps">The max_eps used.</param>
/// <param name="Ordering">Points in cluster order (<c>ordering_</c>).</param>
/// <param name="Reachability">Reachability distance per point (<c>reachability_</c>).</param>
/// <param name="CoreDistances">Core distance per point (<c>core_distances_</c>).</param>
/// <param name="Predecessor">The point each was reached from, −1 for none (<c>predecessor_</c>).</param>
public sealed record OpticsResult(
    int MinSamples,
    double MaxEps,
    IReadOnlyList<int> Ordering,
    IReadOnlyList<double> Reachability,
    IReadOnlyList<double> CoreDistances,
    IReadOnlyList<int> Predecessor);

/// <summary>Output of <see cref="Optics.ExtractXi"/>.</summary>
/// <param name="Labels">Cluster per point, −1 for noise (<c>labels_</c>).</param>
/// <param name="Clusters">The whole hierarchy as inclusive [start, end] ranges of ordering positions, smaller
/// clusters before the ones enclosing them (<c>cluster_hierarchy_</c>).</param>
public sealed record XiClustering(IReadOnlyList<int> Labels, IReadOnlyList<(int Start, int End)> Clusters);
