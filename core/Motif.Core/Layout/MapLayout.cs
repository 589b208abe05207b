using Motif.Core.Signatures;

namespace Motif.Core.Layout;

/// <summary>A point of the map, in layout units (no fixed range; readers fit the bounds to their view).</summary>
public readonly record struct MapPoint(double X, double Y);

/// <summary>
/// A 2D map of the collection from its <see cref="NeighbourGraph"/>: UMAP — McInnes, Healy &amp; Melville, "UMAP:
/// Uniform Manifold Approximation and Projection for Dimension Reduction", arXiv:1802.03426 (2018), §3 and
/// Appendix C — following the reference implementation, umap-learn 0.5 (<c>umap/umap_.py</c>:
/// <c>smooth_knn_dist</c>, <c>compute_membership_strengths</c>, <c>fuzzy_simplicial_set</c>,
/// <c>make_epochs_per_sample</c>; <c>umap/layouts.py</c>: <c>optimize_layout_euclidean</c>):
/// <list type="number">
/// <item>each point's k nearest neighbours, read from the graph's rows (nearest first);</item>
/// <item>fuzzy memberships exp(−(d − ρᵢ)/σᵢ), ρᵢ the nearest non-zero distance and σᵢ found by bisection so that a
/// row's memberships sum to log₂ k, then the fuzzy union w = a + b − ab of the two directions;</item>
/// <item>random initial positions, each connected component in its own disc (umap-learn's <c>init="random"</c> within
/// the component placement of its spectral start, whose eigensolver we do not have; see <c>InitialiseByComponent</c>),
/// then stochastic gradient descent: each edge is sampled in proportion to its weight,
/// pulls its ends together with the gradient of log(1 + a·d^2b), and each sample pushes its head away from
/// <see cref="MapLayoutOptions.NegativeSampleRate"/> random points; the step shrinks linearly to 0.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para><b>What the graph gives.</b> The stored graph holds every pair within the clustering radius (max_eps), not a
/// fixed k: inside a family a point has its k nearest, but a point with fewer neighbours within the radius gets fewer
/// edges, and one with none has no edge at all. Such <em>isolated</em> points (and points whose every edge weighs
/// under 1/epochs of the heaviest, which umap-learn drops) are placed after the optimisation on a ring just outside
/// the laid-out points, at seeded angles: they are the images alike to none within the radius, and their relative
/// positions carry no meaning. Families with no edge between them are kept apart only by the negative samples, so
/// distances between families mean less than distances inside one, as with UMAP on any disconnected graph.</para>
/// <para><b>Incremental.</b> With a previous layout, every point given a position keeps it exactly (it is fixed:
/// gradients never move it). A new point starts at the membership-weighted mean of its fixed neighbours' positions
/// (umap-learn's <c>transform</c> initialisation), or, with no fixed neighbour, at a random place within the fixed
/// points' bounds; then only new points move, for a third of the epochs at a quarter of the learning rate (again
/// <c>transform</c>'s schedule). New isolated points go on the ring.</para>
/// <para><b>Deterministic.</b> One thread and a seeded xorshift generator (umap-learn's parallel SGD races by design):
/// the same graph, options and previous layout give the same coordinates. The cost is O(epochs · edges · negative
/// samples); see the bench for 100,000 points.</para>
/// </remarks>
public static class MapLayout
{
    // UMAP's curve 1 / (1 + a·d^2b) fitted to min_dist = 0.1, spread = 1 (umap_.find_ab_params gives these for the defaults).
    private const double A = 1.576943460405378;
    private const double B = 0.8950608781227859;
    // umap_.smooth_knn_dist's constants.
    private const double SmoothKTolerance = 1e-5;
    private const double MinKDistScale = 1e-3;
    private const int BisectionSteps = 64;
    // layouts.clip: every gradient coordinate is clipped to ±4.
    private const double Clip = 4;

    /// <summary>Lays out the graph's rows.</summary>
    /// <param name="graph">The neighbour graph (each row nearest first).</param>
    /// <param name="options">Settings; null for <see cref="MapLayoutOptions.Default"/>.</param>
    /// <param name="fixedPositions">Per row, its position in the previous layout to keep, or null for a row to place;
    /// null when there is no previous layout.</param>
    /// <param name="cancellationToken">Checked once an epoch.</param>
    /// <returns>One position per row.</returns>
    public static MapPoint[] Compute(NeighbourGraph graph, MapLayoutOptions? options = null, IReadOnlyList<MapPoint?>? fixedPositions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= MapLayoutOptions.Default;
        options.Validate();
        var n = graph.Count;
        if (fixedPositions is not null && fixedPositions.Count != n)
        {
            throw new ArgumentException($"{fixedPositions.Count} fixed positions for {n} rows.", nameof(fixedPositions));
        }
        var x = new double[n];
        var y = new double[n];
        var movable = new bool[n];
        var anyFixed = false;
        for (var i = 0; i < n; i++)
        {
            if (fixedPositions?[i] is { } p)
            {
                if (!double.IsFinite(p.X) || !double.IsFinite(p.Y))
                {
                    throw new ArgumentException($"Fixed position {i} is not finite.", nameof(fixedPositions));
                }
                (x[i], y[i]) = (p.X, p.Y);
                anyFixed = true;
            }
            else
            {
                movable[i] = true;
            }
        }
        if (n == 0 || !movable.Contains(true))
        {
            return Points(x, y);
        }

        var epochs = options.ResolveEpochs(n);
        var (heads, tails, weights) = FuzzyUnion(graph, options.Neighbours);
        var random = new XorShift(options.Seed);

        // Edges lighter than 1/epochs of the heaviest would never be sampled (umap_.simplicial_set_embedding drops them).
        var maxWeight = weights.Length == 0 ? 0 : weights.Max();
        var hasEdge = new bool[n];
        var edgeCount = 0;
        for (var e = 0; e < weights.Length; e++)
        {
            if (weights[e] >= maxWeight / epochs && (movable[heads[e]] || movable[tails[e]]))
            {
                (heads[edgeCount], tails[edgeCount], weights[edgeCount]) = (heads[e], tails[e], weights[e]);
                hasEdge[heads[edgeCount]] = hasEdge[tails[edgeCount]] = true;
                edgeCount++;
            }
        }

        Initialise(x, y, movable, anyFixed, hasEdge, heads.AsSpan(0, edgeCount), tails.AsSpan(0, edgeCount), weights.AsSpan(0, edgeCount), random);
        var learningRate = 1.0;
        if (anyFixed)
        {
            epochs = Math.Max(1, epochs / 3);
            learningRate = 0.25;
        }
        Optimise(x, y, movable, heads.AsSpan(0, edgeCount), tails.AsSpan(0, edgeCount), weights.AsSpan(0, edgeCount), epochs, learningRate,
            options.NegativeSampleRate, random, cancellationToken);
        PlaceIsolated(x, y, movable, hasEdge, random);
        return Points(x, y);
    }

    private static MapPoint[] Points(double[] x, double[] y)
    {
        var points = new MapPoint[x.Length];
        for (var i = 0; i < points.Length; i++)
        {
            points[i] = new MapPoint(x[i], y[i]);
        }
        return points;
    }

    /// <summary>The symmetric fuzzy graph as directed edges (both directions of each pair, as umap-learn's COO matrix
    /// holds them), ordered by head then tail.</summary>
    internal static (int[] Heads, int[] Tails, double[] Weights) FuzzyUnion(NeighbourGraph graph, int neighbours)
    {
        var n = graph.Count;
        var target = Math.Log2(neighbours);
        var meanOfAll = 0.0;
        long counted = 0;
        for (var i = 0; i < n; i++)
        {
            foreach (var d in graph.DistancesOf(i)[..Math.Min(neighbours, graph.DistancesOf(i).Length)])
            {
                meanOfAll += d;
                counted++;
            }
        }
        meanOfAll = counted == 0 ? 0 : meanOfAll / counted;

        // Directed memberships keyed by (min, max) so the two directions meet after sorting.
        var keys = new List<long>();
        var values = new List<double>();
        for (var i = 0; i < n; i++)
        {
            var all = graph.DistancesOf(i);
            var m = Math.Min(neighbours, all.Length);
            if (m == 0)
            {
                continue;
            }
            var distances = all[..m];
            var indices = graph.NeighboursOf(i)[..m];
            var (rho, sigma) = SmoothKnnDistance(distances, target, meanOfAll);
            for (var j = 0; j < m; j++)
            {
                var excess = distances[j] - rho;
                var w = excess <= 0 || sigma == 0 ? 1.0 : Math.Exp(-excess / sigma);
                var (lo, hi) = i < indices[j] ? (i, indices[j]) : (indices[j], i);
                keys.Add(((long)lo << 32) | (uint)hi);
                values.Add(w);
            }
        }
        var keyArray = keys.ToArray();
        var valueArray = values.ToArray();
        Array.Sort(keyArray, valueArray);

        var heads = new List<int>();
        var tails = new List<int>();
        var weights = new List<double>();
        for (var e = 0; e < keyArray.Length;)
        {
            var w = valueArray[e];
            if (e + 1 < keyArray.Length && keyArray[e + 1] == keyArray[e])
            {
                // Fuzzy union (set_op_mix_ratio = 1): a + b − a∘b.
                var other = valueArray[e + 1];
                w = w + other - w * other;
                e += 2;
            }
            else
            {
                e++;
            }
            var key = keyArray[e - 1];
            var lo = (int)(key >> 32);
            var hi = (int)(key & 0xFFFF_FFFF);
            heads.Add(lo); tails.Add(hi); weights.Add(w);
            heads.Add(hi); tails.Add(lo); weights.Add(w);
        }
        return ([.. heads], [.. tails], [.. weights]);
    }

    /// <summary>umap_.smooth_knn_dist for one row (local_connectivity = 1, bandwidth = 1): ρ, the nearest non-zero
    /// distance, and σ with Σ exp(−max(0, d − ρ)/σ) = log₂ k, floored at 1e-3 of the mean distance.</summary>
    internal static (double Rho, double Sigma) SmoothKnnDistance(ReadOnlySpan<double> distances, double target, double meanOfAll)
    {
        var rho = 0.0;
        foreach (var d in distances)
        {
            if (d > 0)
            {
                rho = d;
                break;
            }
        }
        double lo = 0, hi = double.PositiveInfinity, mid = 1;
        for (var step = 0; step < BisectionSteps; step++)
        {
            var sum = 0.0;
            foreach (var d in distances)
            {
                var excess = d - rho;
                sum += excess > 0 ? Math.Exp(-excess / mid) : 1;
            }
            if (Math.Abs(sum - target) < SmoothKTolerance)
            {
                break;
            }
            if (sum > target)
            {
                hi = mid;
                mid = (lo + hi) / 2;
            }
            else
            {
                lo = mid;
                mid = double.IsPositiveInfinity(hi) ? mid * 2 : (lo + hi) / 2;
            }
        }
        var mean = 0.0;
        foreach (var d in distances)
        {
            mean += d;
        }
        mean /= distances.Length;
        var floor = MinKDistScale * (rho > 0 ? mean : meanOfAll);
        return (rho, Math.Max(mid, floor));
    }

    private static void Initialise(double[] x, double[] y, bool[] movable, bool anyFixed, bool[] hasEdge,
        ReadOnlySpan<int> heads, ReadOnlySpan<int> tails, ReadOnlySpan<double> weights, XorShift random)
    {
        var n = x.Length;
        double minX = -10, maxX = 10, minY = -10, maxY = 10;
        if (anyFixed)
        {
            (minX, maxX, minY, maxY) = (double.MaxValue, double.MinValue, double.MaxValue, double.MinValue);
            for (var i = 0; i < n; i++)
            {
                if (!movable[i])
                {
                    (minX, maxX) = (Math.Min(minX, x[i]), Math.Max(maxX, x[i]));
                    (minY, maxY) = (Math.Min(minY, y[i]), Math.Max(maxY, y[i]));
                }
            }
        }
        if (!anyFixed)
        {
            InitialiseByComponent(x, y, hasEdge, heads, tails, random);
            return;
        }
        // Random places first (every movable point draws, so a point's start does not depend on its neighbours' luck).
        for (var i = 0; i < n; i++)
        {
            if (movable[i])
            {
                x[i] = minX + (maxX - minX) * random.NextDouble();
                y[i] = minY + (maxY - minY) * random.NextDouble();
            }
        }
        // transform's start: the membership-weighted mean of the fixed neighbours, with a small jitter so that two new
        // points with the same fixed neighbours do not start on one spot (where no gradient separates them).
        var sumX = new double[n];
        var sumY = new double[n];
        var sumW = new double[n];
        for (var e = 0; e < heads.Length; e++)
        {
            int h = heads[e], t = tails[e];
            if (movable[h] && !movable[t])
            {
                sumX[h] += weights[e] * x[t];
                sumY[h] += weights[e] * y[t];
                sumW[h] += weights[e];
            }
        }
        var jitter = 1e-3 * Math.Max(maxX - minX, maxY - minY);
        for (var i = 0; i < n; i++)
        {
            if (movable[i] && hasEdge[i] && sumW[i] > 0)
            {
                x[i] = sumX[i] / sumW[i] + jitter * (random.NextDouble() - 0.5);
                y[i] = sumY[i] / sumW[i] + jitter * (random.NextDouble() - 0.5);
            }
        }
    }

    /// <summary>
    /// The first layout's start: each connected component of the graph gets its own disc, of area in proportion to its
    /// size (one component fills umap-learn's [−10, 10]² square's area), and its points random places in it. The discs
    /// are packed largest first along a sunflower spiral (Vogel, "A better way to construct the sunflower head",
    /// Mathematical Biosciences 44, 1979). This is umap-learn's <c>spectral.multi_component_layout</c> idea (components
    /// laid out apart, each within its own region) with a random start inside each: a collection at max_eps is hundreds
    /// of families with no edge between them, and strewing every family over the whole square (plain random init) leaves
    /// 200 epochs too few to gather them, measured as trustworthiness 0.67 at 100,000 points against 0.999 at 10,000.
    /// </summary>
    private static void InitialiseByComponent(double[] x, double[] y, bool[] hasEdge, ReadOnlySpan<int> heads, ReadOnlySpan<int> tails, XorShift random)
    {
        var n = x.Length;
        var parent = new int[n];
        for (var i = 0; i < n; i++)
        {
            parent[i] = i;
        }
        int Find(int i)
        {
            while (parent[i] != i)
            {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            return i;
        }
        for (var e = 0; e < heads.Length; e++)
        {
            int a = Find(heads[e]), b = Find(tails[e]);
            if (a != b)
            {
                parent[Math.Max(a, b)] = Math.Min(a, b);
            }
        }
        var sizes = new Dictionary<int, int>();
        var placed = 0;
        for (var i = 0; i < n; i++)
        {
            if (hasEdge[i])
            {
                var root = Find(i);
                sizes[root] = sizes.GetValueOrDefault(root) + 1;
                placed++;
            }
        }
        // Largest first, ties by the component's lowest row: the same order whatever the dictionary's.
        var components = sizes.OrderByDescending(c => c.Value).ThenBy(c => c.Key).ToArray();
        var centres = new Dictionary<int, (double X, double Y, double Radius)>(components.Length);
        const double fullArea = 400; // [−10, 10]²
        var cumulative = 0.0;
        var golden = Math.PI * (3 - Math.Sqrt(5));
        for (var c = 0; c < components.Length; c++)
        {
            var area = fullArea * components[c].Value / placed;
            var radius = Math.Sqrt(area / Math.PI);
            // The centre sits where the spiral has covered the area of the discs before it plus half its own;
            // the 1.5 leaves gaps between discs, which the negative samples then widen.
            var distance = 1.5 * Math.Sqrt((cumulative + area / 2) / Math.PI);
            cumulative += area;
            var angle = c * golden;
            centres[components[c].Key] = (distance * Math.Cos(angle), distance * Math.Sin(angle), radius);
        }
        for (var i = 0; i < n; i++)
        {
            if (!hasEdge[i])
            {
                continue;
            }
            var (cx, cy, r) = centres[Find(i)];
            // Uniform in the disc: radius ∝ √u.
            var rho = r * Math.Sqrt(random.NextDouble());
            var theta = 2 * Math.PI * random.NextDouble();
            x[i] = cx + rho * Math.Cos(theta);
            y[i] = cy + rho * Math.Sin(theta);
        }
    }

    /// <summary>layouts.optimize_layout_euclidean's single-threaded loop (move_other = true, gamma = 1), moving only
    /// movable points.</summary>
    private static void Optimise(double[] x, double[] y, bool[] movable, ReadOnlySpan<int> heads, ReadOnlySpan<int> tails,
        ReadOnlySpan<double> weights, int epochs, double initialAlpha, int negativeSampleRate, XorShift random, CancellationToken cancellationToken)
    {
        var edges = heads.Length;
        if (edges == 0)
        {
            return;
        }
        // make_epochs_per_sample: an edge of weight w is sampled every max(w)/w epochs.
        var maxWeight = 0.0;
        foreach (var w in weights)
        {
            maxWeight = Math.Max(maxWeight, w);
        }
        var epochsPerSample = new double[edges];
        var nextSample = new double[edges];
        var epochsPerNegative = new double[edges];
        var nextNegative = new double[edges];
        for (var e = 0; e < edges; e++)
        {
            epochsPerSample[e] = maxWeight / weights[e];
            nextSample[e] = epochsPerSample[e];
            epochsPerNegative[e] = negativeSampleRate == 0 ? double.PositiveInfinity : epochsPerSample[e] / negativeSampleRate;
            nextNegative[e] = epochsPerNegative[e];
        }
        var n = (ulong)x.Length;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var alpha = initialAlpha * (1 - (double)epoch / epochs);
            for (var e = 0; e < edges; e++)
            {
                if (nextSample[e] > epoch)
                {
                    continue;
                }
                int j = heads[e], k = tails[e];
                var dx = x[j] - x[k];
                var dy = y[j] - y[k];
                var d2 = dx * dx + dy * dy;
                if (d2 > 0)
                {
                    var powB = Math.Exp(B * Math.Log(d2));
                    var coefficient = -2 * A * B * powB / d2 / (A * powB + 1);
                    var gx = Clamp(coefficient * dx) * alpha;
                    var gy = Clamp(coefficient * dy) * alpha;
                    if (movable[j])
                    {
                        x[j] += gx;
                        y[j] += gy;
                    }
                    if (movable[k])
                    {
                        x[k] -= gx;
                        y[k] -= gy;
                    }
                }
                nextSample[e] += epochsPerSample[e];

                if (!movable[j])
                {
                    continue;
                }
                var negatives = (int)((epoch - nextNegative[e]) / epochsPerNegative[e]);
                for (var s = 0; s < negatives; s++)
                {
                    var other = (int)(random.Next() % n);
                    if (other == j)
                    {
                        continue;
                    }
                    var ox = x[j] - x[other];
                    var oy = y[j] - y[other];
                    var o2 = ox * ox + oy * oy;
                    if (o2 > 0)
                    {
                        var powB = Math.Exp(B * Math.Log(o2));
                        var coefficient = 2 * B / ((0.001 + o2) * (A * powB + 1));
                        x[j] += Clamp(coefficient * ox) * alpha;
                        y[j] += Clamp(coefficient * oy) * alpha;
                    }
                }
                nextNegative[e] += negatives * epochsPerNegative[e];
            }
        }
    }

    private static double Clamp(double value) => Math.Clamp(value, -Clip, Clip);

    /// <summary>New points without an edge go on a ring just outside the other points, at random angles.</summary>
    private static void PlaceIsolated(double[] x, double[] y, bool[] movable, bool[] hasEdge, XorShift random)
    {
        var n = x.Length;
        double cx = 0, cy = 0;
        var placed = 0;
        for (var i = 0; i < n; i++)
        {
            if (!movable[i] || hasEdge[i])
            {
                cx += x[i];
                cy += y[i];
                placed++;
            }
        }
        if (placed > 0)
        {
            cx /= placed;
            cy /= placed;
        }
        var radius = 0.0;
        for (var i = 0; i < n; i++)
        {
            if (!movable[i] || hasEdge[i])
            {
                radius = Math.Max(radius, Math.Sqrt((x[i] - cx) * (x[i] - cx) + (y[i] - cy) * (y[i] - cy)));
            }
        }
        radius = radius > 0 ? radius : 10;
        for (var i = 0; i < n; i++)
        {
            if (movable[i] && !hasEdge[i])
            {
                var angle = 2 * Math.PI * random.NextDouble();
                var r = radius * (1.08 + 0.12 * random.NextDouble());
                x[i] = cx + r * Math.Cos(angle);
                y[i] = cy + r * Math.Sin(angle);
            }
        }
    }

    /// <summary>xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators, scrambled", ACM TOMS
    /// 42(4), 2016), seeded through SplitMix64 so that a seed of 0 works: small, fast and the same on every platform.</summary>
    private sealed class XorShift
    {
        private ulong _state;

        public XorShift(ulong seed)
        {
            var z = seed + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            _state = (z ^ (z >> 31)) | 1;
        }

        public ulong Next()
        {
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            return _state * 0x2545F4914F6CDD1DUL;
        }

        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
    }
}
