using System.Collections.Concurrent;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Motif.Core.Signatures;

/// <summary>
/// Every signature's neighbours within a cosine-distance radius, computed exactly and stored as CSR
/// (row offsets, neighbour indices, distances; each row sorted by distance, then index; a point is not
/// its own neighbour). It is the input of OPTICS (<see cref="Clustering.Optics"/>): with the radius equal to
/// OPTICS' <c>max_eps</c> it holds exactly the pairs scikit-learn's <c>radius_neighbors</c> would return.
/// </summary>
/// <remarks>
/// <para><b>Distance.</b> <see cref="CosineRanking.Distance"/>: d(x, y) = 1 − x·y / (‖x‖‖y‖), clamped to [0, 2],
/// scikit-learn's <c>cosine_distances</c>, the same arithmetic search and evaluation rank with. Rows need not be
/// unit length; an all-zero row has no direction and is refused.</para>
/// <para><b>Exactness.</b> All pairs are screened over cache-sized tiles, and a pair is dropped only when a rigorous
/// bound proves its distance exceeds the radius. The screen (<see cref="NeighbourGraphOptions"/>) uses int8 dot products
/// (AVX2 or scalar kernels, <see cref="Int8DotKernels"/>, all giving the same integers on the same rows; the AVX2 kernel's rows are quantised to ±63), bounds
/// their quantisation error, and checks the bound on prefixes of the coordinates so that most pairs are dropped
/// long before the last one (Cauchy–Schwarz on the rest; see <see cref="QuantizedRows"/>). Past 32,768 dimensions
/// (or when asked to) it uses float32 SIMD dot products and keeps a pair when its screened distance is within the radius plus a rigorous bound
/// on float32 rounding (Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, §3.1: |error| ≤ γₙ Σ|xᵢyᵢ|
/// with γₙ = nu/(1 − nu), u = 2⁻²⁴, and Σ|xᵢyᵢ| ≤ ‖x‖‖y‖). Each candidate's distance is then recomputed with float64
/// accumulation (float32 × float32 products are exact in float64), the arithmetic scikit-learn uses after
/// converting its input to float64, and the radius test is <c>d ≤ radius</c> in float64, as in
/// <c>radius_neighbors</c> (sklearn/neighbors/_base.py, <c>np.where(d &lt;= radius)</c>). So no pair within the
/// radius is lost to the screen, and ties at exactly the radius are decided as scikit-learn decides them.</para>
/// <para><b>Why float64 distances.</b> The graph stores them as float64 (12 bytes per entry with the index).
/// scikit-learn rounds reachabilities to 15 decimals and breaks ties between them by index; float32 storage
/// would merge distances closer than ~4e-9 into ties and could change OPTICS' ordering, so we pay 4 bytes per
/// entry for identical orderings.</para>
/// <para><b>Incremental.</b> <see cref="Append(ReadOnlyMemory{float}, NeighbourGraphOptions, int, CancellationToken)"/> computes only new × old and new × new pairs and merges them
/// into the existing rows; old × old pairs are never recomputed. <see cref="Build(ReadOnlyMemory{float}, int, double, NeighbourGraphOptions, int, CancellationToken)"/> is an append to the empty
/// graph, so both paths share one implementation.</para>
/// </remarks>
public sealed partial class NeighbourGraph
{
    // Columns, and the float32 screen's rows, are processed in blocks of this many signatures: two blocks of 2048-d
    // float32 rows (2 × 32 × 8 KiB = 512 KiB) stay in a core's L2 cache while every pair between them is computed.
    private const int BlockSize = 32;

    // The int8 screen takes rows in blocks of this many: its tiles mostly stop after the first few hundred
    // coordinates, so each pass over the columns reads little of each, and it is the number of passes (one per
    // block) over the n × D int8 matrix, far larger than the caches, that costs; 256 rows' prefixes stay in L2. (512
    // measured the same at 50,000 rows, now that the first stage's segments are read as one contiguous stream.)
    private const int QuantizedBlockSize = 256;

    private readonly int[] _offsets;
    private readonly int[] _indices;
    private readonly double[] _distances;
    // ‖x‖² per row, in float64: used for the distances, and to check on Append that the old rows are unchanged.
    private readonly double[] _squaredNorms;

    private NeighbourGraph(int dimension, double radius, int[] offsets, int[] indices, double[] distances, double[] squaredNorms,
        NeighbourGraphKernel? screenKernel = null)
    {
        ScreenKernel = screenKernel;
        Dimension = dimension;
        Radius = radius;
        _offsets = offsets;
        _indices = indices;
        _distances = distances;
        _squaredNorms = squaredNorms;
    }

    /// <summary>The kernel that screened the pairs the <see cref="Build(ReadOnlyMemory{float}, int, double, NeighbourGraphOptions, int, CancellationToken)"/>
    /// or <see cref="Append(ReadOnlyMemory{float}, NeighbourGraphOptions, int, CancellationToken)"/> that made this graph
    /// computed (never <see cref="NeighbourGraphKernel.Auto"/>); null when it screened none: an empty graph, a radius ≥ 2
    /// (which keeps every pair), or a graph made by <see cref="Select"/> or read from storage.</summary>
    public NeighbourGraphKernel? ScreenKernel { get; }

    /// <summary>Number of signatures (rows).</summary>
    public int Count => _squaredNorms.Length;

    /// <summary>Length of each signature.</summary>
    public int Dimension { get; }

    /// <summary>Cosine-distance radius: a pair is stored when its distance is ≤ this value.</summary>
    public double Radius { get; }

    /// <summary>Number of stored entries (each neighbour pair is stored twice, once in each row).</summary>
    public long EntryCount => _indices.Length;

    /// <summary>CSR row offsets (<see cref="Count"/> + 1 entries): row i is entries [offsets[i], offsets[i + 1]).</summary>
    public ReadOnlySpan<int> RowOffsets => _offsets;

    /// <summary>CSR neighbour indices of all rows, concatenated.</summary>
    public ReadOnlySpan<int> NeighbourIndices => _indices;

    /// <summary>CSR distances of all rows, concatenated, parallel to <see cref="NeighbourIndices"/>.</summary>
    public ReadOnlySpan<double> NeighbourDistances => _distances;

    /// <summary>The neighbours of <paramref name="point"/>, nearest first (ties by index).</summary>
    public ReadOnlySpan<int> NeighboursOf(int point) => _indices.AsSpan(_offsets[point], _offsets[point + 1] - _offsets[point]);

    /// <summary>The distances to <see cref="NeighboursOf"/>, ascending.</summary>
    public ReadOnlySpan<double> DistancesOf(int point) => _distances.AsSpan(_offsets[point], _offsets[point + 1] - _offsets[point]);

    /// <summary>An empty graph, to which signatures are then appended.</summary>
    /// <param name="dimension">Signature length.</param>
    /// <param name="radius">Cosine-distance radius, ≥ 0; <see cref="double.PositiveInfinity"/> keeps every pair.</param>
    public static NeighbourGraph Empty(int dimension, double radius)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (!(radius >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(radius), radius, "The radius is a cosine distance ≥ 0.");
        }
        return new NeighbourGraph(dimension, radius, [0], [], [], []);
    }

    /// <summary>Builds the graph of <paramref name="signatures"/> (row-major, N × <paramref name="dimension"/>).</summary>
    public static NeighbourGraph Build(ReadOnlyMemory<float> signatures, int dimension, double radius, int degreeOfParallelism = 1, CancellationToken cancellationToken = default) =>
        Build(signatures, dimension, radius, NeighbourGraphOptions.Default, degreeOfParallelism, cancellationToken);

    /// <summary>Builds the graph of <paramref name="signatures"/> (row-major, N × <paramref name="dimension"/>) with the
    /// screen <paramref name="options"/> choose.</summary>
    /// <exception cref="NotSupportedException">The options name a kernel this processor lacks.</exception>
    public static NeighbourGraph Build(ReadOnlyMemory<float> signatures, int dimension, double radius, NeighbourGraphOptions options,
        int degreeOfParallelism = 1, CancellationToken cancellationToken = default) =>
        Empty(dimension, radius).Append(signatures, options, degreeOfParallelism, cancellationToken);

    /// <inheritdoc cref="Append(ReadOnlyMemory{float}, NeighbourGraphOptions, int, CancellationToken)"/>
    public NeighbourGraph Append(ReadOnlyMemory<float> signatures, int degreeOfParallelism = 1, CancellationToken cancellationToken = default) =>
        Append(signatures, NeighbourGraphOptions.Default, degreeOfParallelism, cancellationToken);

    /// <summary>
    /// A graph over this graph's signatures plus new ones. <paramref name="signatures"/> holds all rows:
    /// first the <see cref="Count"/> rows this graph was built from, unchanged, then the new rows. Only pairs
    /// involving a new row are computed; this graph is left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not N × <see cref="Dimension"/> with N ≥ <see cref="Count"/>,
    /// the old rows differ from the ones this graph was built from, or a new row is all zeros or not finite.</exception>
    /// <exception cref="NotSupportedException">The options name a kernel this processor lacks.</exception>
    public NeighbourGraph Append(ReadOnlyMemory<float> signatures, NeighbourGraphOptions options, int degreeOfParallelism = 1,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Parts, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degreeOfParallelism);
        var dim = Dimension;
        if (signatures.Length % dim != 0)
        {
            throw new ArgumentException($"The signatures are not rows of {dim} floats.", nameof(signatures));
        }
        var n = signatures.Length / dim;
        var n0 = Count;
        if (n < n0)
        {
            throw new ArgumentException($"The matrix has {n} rows, fewer than the graph's {n0}.", nameof(signatures));
        }
        if (n % options.Parts != 0 || n0 % options.Parts != 0)
        {
            throw new ArgumentException($"The graph's {n0} rows or the matrix's {n} are not images of {options.Parts} signatures each.", nameof(signatures));
        }

        var squaredNorms = new double[n];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
        {
            var row = signatures.Span.Slice(i * dim, dim);
            squaredNorms[i] = CosineRanking.Dot(row, row);
        });
        for (var i = 0; i < n; i++)
        {
            if (i < n0)
            {
                // The old rows' norms are recomputed (O(N·D), small beside the O(N·m·D) pairs) to catch a caller
                // passing a different or reordered matrix, which would silently produce wrong edges.
                if (squaredNorms[i] != _squaredNorms[i])
                {
                    throw new ArgumentException($"Signature {i} differs from the one the graph was built from.", nameof(signatures));
                }
            }
            else if (!double.IsFinite(squaredNorms[i]) || squaredNorms[i] == 0)
            {
                throw new ArgumentException($"Signature {i} is all zeros or not finite: it has no direction.", nameof(signatures));
            }
        }
        if (n == n0)
        {
            return this;
        }

        // Every cosine distance is ≤ 2, so a radius ≥ 2 keeps every pair and a screen would be wasted work.
        NeighbourGraphKernel? kernel = Radius < 2 ? options.Resolve(dim) : null;
        var edges = ComputeNewEdges(signatures, dim, n0, n, squaredNorms, Radius, kernel, options.Checkpoints, options.Parts, degreeOfParallelism, cancellationToken);
        return Merge(edges, n, squaredNorms, kernel, degreeOfParallelism, cancellationToken);
    }

    private readonly record struct Edge(int Row, int Column, double Distance);

    /// <summary>All pairs (i, j) with n0 ≤ i &lt; n and j &lt; i whose distance is ≤ radius. The screen's kernel is
    /// resolved, or null to keep every pair.</summary>
    private static List<Edge[]> ComputeNewEdges(ReadOnlyMemory<float> signatures, int dim, int n0, int n, double[] squaredNorms,
        double radius, NeighbourGraphKernel? kernel, IReadOnlyList<int>? checkpoints, int parts, int degreeOfParallelism, CancellationToken cancellationToken)
    {
        var screen = kernel is not null;
        var inverseNorms = squaredNorms.Select(s => 1 / Math.Sqrt(s)).ToArray();

        // The int8 screen: a quarter of float32's memory traffic, 32 multiply-adds per 1.5 AVX2 instructions against
        // 8 for a float32 FMA, and a prefix bound that drops most pairs early.
        // Its rows are in ScreenOrder, which screens only the pairs that count when images are in parts.
        var order = ScreenOrder.Of(n, parts);
        var quantized = kernel is NeighbourGraphKernel.Scalar or NeighbourGraphKernel.Avx2
            ? QuantizedRows.Create(signatures, dim, n, inverseNorms, radius, kernel.Value, checkpoints, order, degreeOfParallelism, cancellationToken)
            : null;

        // Blocks of the int8 screen's positions, each within one range of ScreenOrder; of the float32 screen's rows.
        var rowBlocks = new List<(int Start, int End)>();
        foreach (var (first, end) in quantized is null ? [(n0, n)] : order.PositionsFrom(n0))
        {
            var blockRows = quantized is null ? BlockSize : QuantizedBlockSize;
            for (var start = first; start < end; start += blockRows)
            {
                rowBlocks.Add((start, Math.Min(end, start + blockRows)));
            }
        }
        // Largest blocks (most columns) first, handed out one at a time: the triangle's rows have unequal work.
        rowBlocks.Reverse();

        var results = new ConcurrentBag<Edge[]>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.ForEach(
            Partitioner.Create(rowBlocks, EnumerablePartitionerOptions.NoBuffering),
            options,
            () => new Worker(quantized),
            (block, _, worker) =>
            {
                var candidates = worker.Candidates;
                candidates.Clear();
                if (quantized is not null)
                {
                    quantized.Screen(block.Start, block.End, worker.Rows, candidates, cancellationToken);
                }
                else
                {
                    FloatScreen(signatures.Span, dim, block.Start, block.End, inverseNorms, screen ? radius : double.PositiveInfinity, candidates, cancellationToken);
                }
                // Every candidate is recomputed exactly; only d ≤ radius in float64 makes an edge.
                var x = signatures.Span;
                foreach (var (i, j) in candidates)
                {
                    // Images in parts: only a pair with a whole, between two images, can count (FoldParts). The
                    // int8 screen offers no other; the float32 screen offers every pair.
                    if (parts > 1 && (i % parts != 0 && j % parts != 0 || i / parts == j / parts))
                    {
                        continue;
                    }
                    // The arithmetic search and evaluation rank with: duplicates are at distance exactly 0.
                    var d = CosineRanking.Distance(x.Slice(i * dim, dim), x.Slice(j * dim, dim), squaredNorms[i], squaredNorms[j]);
                    if (d <= radius)
                    {
                        worker.Edges.Add(new Edge(i, j, d));
                    }
                }
                return worker;
            },
            worker => results.Add([.. worker.Edges]));
        return [.. results];
    }

    /// <summary>One thread's state: its edges, the current block's candidate pairs, and (int8 screen) the block's
    /// rows in the form the kernel takes (<see cref="Int8DotKernels.Prepare"/>).</summary>
    private sealed class Worker(QuantizedRows? quantized)
    {
        public List<Edge> Edges { get; } = [];
        public List<(int Row, int Column)> Candidates { get; } = [];
        public byte[] Rows { get; } = quantized is null ? [] : quantized.CreateBlockBuffer();
    }

    /// <summary>
    /// The float32 screen (<see cref="NeighbourGraphKernel.Float32"/>): candidate pairs (i, j), i0 ≤ i &lt; i1, j &lt; i, whose float32
    /// distance is within the radius plus a rigorous bound on float32 rounding (see remarks). An infinite radius
    /// makes every pair a candidate without computing anything.
    /// </summary>
    private static void FloatScreen(ReadOnlySpan<float> x, int dim, int i0, int i1, double[] inverseNorms, double radius,
        List<(int Row, int Column)> candidates, CancellationToken cancellationToken)
    {
        var screen = !double.IsPositiveInfinity(radius);
        // Rigorous float32 error bound on a dot product of unit-normalised rows (see remarks): covers the SIMD
        // kernel (D/8 products per lane plus the lane sum) and the scalar fallback (D sequential products).
        var margin = 1.01 * (dim + 16) * Math.ScaleB(1.0, -24);
        Span<float> tile = stackalloc float[BlockSize * BlockSize];
        for (var c0 = 0; c0 < i1; c0 += BlockSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var c1 = Math.Min(i1, c0 + BlockSize);
            if (screen)
            {
                DotTile(x, dim, i0, i1, c0, c1, tile);
            }
            for (var i = i0; i < i1; i++)
            {
                var jEnd = Math.Min(c1, i);
                for (var j = c0; j < jEnd; j++)
                {
                    if (screen && 1 - tile[(i - i0) * BlockSize + (j - c0)] * inverseNorms[i] * inverseNorms[j] > radius + margin)
                    {
                        continue;
                    }
                    candidates.Add((i, j));
                }
            }
        }
    }

    private NeighbourGraph Merge(List<Edge[]> edges, int n, double[] squaredNorms, NeighbourGraphKernel? kernel, int degreeOfParallelism,
        CancellationToken cancellationToken)
    {
        var n0 = Count;
        var degree = new long[n];
        for (var i = 0; i < n0; i++)
        {
            degree[i] = _offsets[i + 1] - _offsets[i];
        }
        foreach (var part in edges)
        {
            foreach (var e in part)
            {
                degree[e.Row]++;
                degree[e.Column]++;
            }
        }
        var offsets = new int[n + 1];
        var total = 0L;
        for (var i = 0; i < n; i++)
        {
            total += degree[i];
            if (total > Array.MaxLength)
            {
                throw new InvalidOperationException($"The graph would hold more than {Array.MaxLength} entries: lower the radius.");
            }
            offsets[i + 1] = (int)total;
        }
        var indices = new int[total];
        var distances = new double[total];
        var cursor = new int[n];
        for (var i = 0; i < n; i++)
        {
            var oldCount = i < n0 ? _offsets[i + 1] - _offsets[i] : 0;
            if (oldCount > 0)
            {
                Array.Copy(_indices, _offsets[i], indices, offsets[i], oldCount);
                Array.Copy(_distances, _offsets[i], distances, offsets[i], oldCount);
            }
            cursor[i] = offsets[i] + oldCount;
        }
        var touched = new bool[n];
        foreach (var part in edges)
        {
            foreach (var e in part)
            {
                indices[cursor[e.Row]] = e.Column;
                distances[cursor[e.Row]++] = e.Distance;
                indices[cursor[e.Column]] = e.Row;
                distances[cursor[e.Column]++] = e.Distance;
                touched[e.Row] = touched[e.Column] = true;
            }
        }
        // Rows that gained entries are re-sorted by (distance, index): a total order, so the result does not
        // depend on how the work was split between threads.
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
        {
            if (touched[i])
            {
                SortRow(indices.AsSpan(offsets[i], offsets[i + 1] - offsets[i]), distances.AsSpan(offsets[i], offsets[i + 1] - offsets[i]));
            }
        });
        return new NeighbourGraph(Dimension, Radius, offsets, indices, distances, squaredNorms, kernel);
    }

    private static void SortRow(Span<int> indices, Span<double> distances)
    {
        var pairs = new (double Distance, int Index)[indices.Length];
        for (var k = 0; k < pairs.Length; k++)
        {
            pairs[k] = (distances[k], indices[k]);
        }
        // ValueTuple compares lexicographically: distance, then index.
        Array.Sort(pairs);
        for (var k = 0; k < pairs.Length; k++)
        {
            (distances[k], indices[k]) = pairs[k];
        }
    }

    /// <summary>
    /// float32 dot products of rows [i0, i1) with rows [j0, j1) into <paramref name="tile"/> (row stride
    /// <see cref="BlockSize"/>). 4 × 4 register blocks: each loaded vector feeds four FMAs, so the kernel is
    /// bound by arithmetic rather than by loads (16 accumulators + 8 operands fit the 32 registers that .NET
    /// uses under AVX-512, and spill little under AVX2).
    /// </summary>
    private static void DotTile(ReadOnlySpan<float> x, int dim, int i0, int i1, int j0, int j1, Span<float> tile)
    {
        var full = Vector256.IsHardwareAccelerated && dim >= Vector256<float>.Count;
        var i = i0;
        if (full)
        {
            for (; i + 4 <= i1; i += 4)
            {
                var j = j0;
                for (; j + 4 <= j1; j += 4)
                {
                    Kernel4x4(x, dim, i, j, tile.Slice((i - i0) * BlockSize + (j - j0)));
                }
                for (; j < j1; j++)
                {
                    for (var r = i; r < i + 4; r++)
                    {
                        tile[(r - i0) * BlockSize + (j - j0)] = TensorPrimitives.Dot(x.Slice(r * dim, dim), x.Slice(j * dim, dim));
                    }
                }
            }
        }
        for (; i < i1; i++)
        {
            for (var j = j0; j < j1; j++)
            {
                tile[(i - i0) * BlockSize + (j - j0)] = TensorPrimitives.Dot(x.Slice(i * dim, dim), x.Slice(j * dim, dim));
            }
        }
    }

    private static void Kernel4x4(ReadOnlySpan<float> x, int dim, int i, int j, Span<float> output) =>
        FloatDotKernel.Compute4x4(x, dim, i, i + 1, i + 2, i + 3, j, output, BlockSize);

    /// <summary>
    /// The int8 screen, with progressive (prefix) rejection.
    /// <para><b>Quantisation.</b> Each row is normalised to u = x/‖x‖ and quantised with its own scale
    /// s = R / max|uₖ| (R = 127, or 63 for the AVX2 kernel: <see cref="Int8DotKernels.Range"/>): q = round(s·u), so u = q/s + e with |eₖ| ≤ 0.5/s. Over any set P of coordinates,
    /// u_P·v_P − q_P·q'_P/(s s') = (q_P/s)·e'_P + e_P·(q'_P/s') + e_P·e'_P, whose magnitude is at most
    /// E_P = 0.5·‖q_P‖₁/(s s') + 0.5·‖q'_P‖₁/(s s') + 0.25·|P|/(s s') (Hölder, |a·b| ≤ ‖a‖₁‖b‖∞, term by term).</para>
    /// <para><b>Prefix bound.</b> Split the coordinates into the first k (the prefix p) and the rest (r). By
    /// Cauchy–Schwarz on the rest, u·v = u_p·v_p + u_r·v_r ≤ u_p·v_p + ‖u_r‖‖v_r‖, so
    /// cos(u, v) ≤ q_p·q'_p/(s s') + E_p + ‖u_r‖‖v_r‖ whatever the remaining coordinates hold. With k = D (no rest)
    /// this is the plain int8 bound. A pair is dropped at a checkpoint k when that upper bound is below 1 − radius
    /// (by more than <see cref="Slack"/>): its distance then provably exceeds the radius, and a pair dropped once stays
    /// dropped. The kernel runs a 4 × 4 tile of pairs checkpoint by checkpoint and stops as soon as all 16 are dropped,
    /// so pairs that are far apart (most of them) cost only the first k of the D coordinates; where the checkpoints
    /// go is chosen from a sample (<see cref="Checkpoints"/>). Every pair that survives the last check (k = D) is
    /// recomputed exactly in float64 like any other candidate.</para>
    /// <para><b>In integers.</b> Multiplying by s s' > 0, "bound &lt; 1 − radius − Slack" reads
    /// q_p·q'_p + (0.5‖q_p‖₁ + k/8) + (0.5‖q'_p‖₁ + k/8) &lt; (1 − radius − Slack − ‖u_r‖‖v_r‖)·s s'. The left side is an
    /// exact multiple of 1/8 (exact in float64); the right side is a few float64 products (see StageMask) whose
    /// rounding (~1e-15·s s') is far below Slack·s s'. Slack (1e-9 in cosine) also covers the float64 rounding of the
    /// normalisation and scaling before q is rounded (|eₖ| ≤ (0.5 + 1e-13)/s), of the residual norms ‖u_r‖ (sums of
    /// squares of the trailing coordinates, relative error ≤ D·2⁻⁵³ ≈ 2e-13) and of the float64 recomputation
    /// (~1e-13), so a dropped pair's recomputed distance would exceed the radius too.</para>
    /// </summary>
    private sealed class QuantizedRows
    {
        private const double Slack = 1e-9;

        // What one check (the reduction and the 16 bounds of a tile) costs, in coordinates of the kernel: about 75
        // measured on Zen 4, rounded up since a check that rarely stops a tile is worth less than the sample says.
        private const int CheckCost = 128;

        // _padded × _stride bytes, stage-major: stage c's segments [_stageEnds[c − 1], _stageEnds[c]) of all rows lie
        // together, row after row, from _padded × _stageEnds[c − 1] on. Most tiles stop after the first stage, so a pass
        // over the columns streams one contiguous array (a few MB that the prefetchers follow, few pages) rather than
        // touching a 64-byte line or two in every row's own page. Positions in no row (ScreenOrder's gap, the 4 past the end) are
        // zero, so 4-row tiles never read past the end.
        private readonly sbyte[] _values;
        private readonly int _stride;
        private readonly int _padded;
        private readonly int[] _stageEnds;     // checkpoints k (multiples of 32), then _stride
        // The check's per-row terms are folded in advance so that each tile's check does the least arithmetic (see
        // StageMask): per row,
        private readonly double[] _scales;           // s
        private readonly double[] _thresholdScales;  // (1 − radius − Slack)·s
        // and per stage c and row (index c·_padded + row), over the first _stageEnds[c] coordinates:
        private readonly double[] _rowHalfL1;        // h = 0.5·‖q_p‖₁ + k/8 (k = real coordinates in the prefix)
        private readonly double[] _columnHalfL1;     // h − RowOffset·Σq_p: the kernel's row offset term taken off here
        private readonly double[] _residualScales;   // ‖u_r‖·s, ‖u_r‖ of the remaining coordinates (0 at the last stage)
        private readonly double _threshold;          // 1 − radius − Slack
        private readonly NeighbourGraphKernel _kernel;
        // Rows are kept at their positions in this order (indices above are positions); candidates are reported as rows.
        private readonly ScreenOrder _order;

        private QuantizedRows(sbyte[] values, int stride, int padded, int[] stageEnds, double threshold, NeighbourGraphKernel kernel, ScreenOrder order)
        {
            (_values, _stride, _padded, _stageEnds, _threshold, _kernel, _order) = (values, stride, padded, stageEnds, threshold, kernel, order);
            _scales = new double[padded];
            _thresholdScales = new double[padded];
            _rowHalfL1 = new double[stageEnds.Length * padded];
            _columnHalfL1 = new double[stageEnds.Length * padded];
            _residualScales = new double[stageEnds.Length * padded];
        }

        /// <summary>
        /// Where to check (multiples of 32 below D), chosen from a sample so that the expected work is least: the
        /// bound's power depends on the data (unrelated random directions are excluded from k ≈ D/5 on at radius 0.13,
        /// non-negative CNN features later, since their prefix dots are large) and on the radius. 16 × 16 tiles of
        /// 4 × 4 pairs between 128 sampled rows give each tile's exit position (the first where all its pairs are
        /// excluded); dynamic programming then picks the checkpoints that minimise Σ over tiles of the coordinates
        /// computed plus <see cref="CheckCost"/> per check. Only speed depends on this choice, never the result.
        /// </summary>
        internal static int[] Checkpoints(ReadOnlySpan<float> x, int dim, int n, double[] inverseNorms, double radius, int range,
            IReadOnlyList<int>? fixedCheckpoints)
        {
            if (fixedCheckpoints is not null)
            {
                return fixedCheckpoints.Where(k => k % 32 == 0 && k > 0 && k < dim).Order().Distinct().ToArray();
            }
            const int side = 64;
            var last = (dim - 1) / 32;   // positions c = 1..last check after the first 32c < D coordinates
            var end = (dim + 31) / 32;   // the final stage, after all of them
            if (last < 1 || n < 2)
            {
                return [];
            }
            var threshold = 1 - radius - Slack;
            var random = new Random(dim);
            var q = new sbyte[2 * side][];
            var scales = new double[2 * side];
            var halfL1 = new double[2 * side, last + 1];
            var residuals = new double[2 * side, last + 1];
            for (var r = 0; r < 2 * side; r++)
            {
                var index = random.Next(n);
                var row = x.Slice(index * dim, dim);
                var inverseNorm = inverseNorms[index];
                scales[r] = range / (Math.Abs(TensorPrimitives.MaxMagnitude(row)) * inverseNorm);
                q[r] = new sbyte[dim];
                var absolute = 0L;
                for (var c = 1; c <= last; c++)
                {
                    absolute += Quantize(row[(32 * c - 32)..(32 * c)], inverseNorm, scales[r], q[r].AsSpan(32 * c - 32, 32)).Absolute;
                    halfL1[r, c] = 0.5 * absolute + 4 * c;
                }
                var squares = CosineRanking.Dot(row[(32 * last)..], row[(32 * last)..]);
                for (var c = last; c >= 1; c--)
                {
                    residuals[r, c] = Math.Sqrt(squares) * inverseNorm;
                    squares += CosineRanking.Dot(row[(32 * c - 32)..(32 * c)], row[(32 * c - 32)..(32 * c)]);
                }
            }
            // Each tile's exit: the largest of its pairs' first excluding positions (end when one never is).
            var exits = new int[side / 4 * (side / 4)];
            for (var a = 0; a < side; a++)
            {
                for (var b = side; b < 2 * side; b++)
                {
                    var (dot, first) = (0, end);
                    for (var c = 1; c <= last && first == end; c++)
                    {
                        for (var k = 32 * c - 32; k < 32 * c; k++)
                        {
                            dot += q[a][k] * q[b][k];
                        }
                        if (dot + halfL1[a, c] + halfL1[b, c] < (threshold - residuals[a, c] * residuals[b, c]) * scales[a] * scales[b])
                        {
                            first = c;
                        }
                    }
                    ref var exit = ref exits[a / 4 * (side / 4) + (b - side) / 4];
                    exit = Math.Max(exit, first);
                }
            }
            // cost[c]: least work (in 32-coordinate steps, over all sampled tiles) up to a check at c; the segment after
            // a check at p is computed by the tiles whose exit is beyond p.
            var cost = new double[end + 1];
            var previous = new int[end + 1];
            for (var c = 1; c <= end; c++)
            {
                cost[c] = double.PositiveInfinity;
                for (var p = 0; p < c; p++)
                {
                    var alive = exits.Count(e => e > p);
                    var total = cost[p] + alive * (c - p + CheckCost / 32.0);
                    if (total < cost[c])
                    {
                        (cost[c], previous[c]) = (total, p);
                    }
                }
            }
            var checkpoints = new List<int>();
            for (var c = previous[end]; c > 0; c = previous[c])
            {
                checkpoints.Add(32 * c);
            }
            checkpoints.Reverse();
            return [.. checkpoints];
        }

        public static QuantizedRows Create(ReadOnlyMemory<float> signatures, int dim, int n, double[] inverseNorms, double radius,
            NeighbourGraphKernel kernel, IReadOnlyList<int>? checkpoints, ScreenOrder order, int degreeOfParallelism, CancellationToken cancellationToken)
        {
            var stride = (dim + 31) / 32 * 32;
            var padded = order.Positions + 4;
            int[] stageEnds = [.. Checkpoints(signatures.Span, dim, n, inverseNorms, radius, Int8DotKernels.Range(kernel), checkpoints), stride];
            var rows = new QuantizedRows(new sbyte[(long)padded * stride], stride, padded, stageEnds, 1 - radius - Slack, kernel, order);
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken },
                i => rows.QuantizeRow(signatures.Span.Slice(i * dim, dim), order.Position(i), inverseNorms[i]));
            return rows;
        }

        // Runs once per row, from the start: tiering would run its first thousands of rows unoptimised. Fills position i's
        // q, s, (1 − radius − Slack)·s and, per stage, h = 0.5‖q_p‖₁ + k/8, h − RowOffset·Σq_p and ‖u_r‖·s.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void QuantizeRow(ReadOnlySpan<float> row, int i, double inverseNorm)
        {
            // max|xₖ·inv| = max|xₖ|·inv exactly, as rounding a product by a positive constant is monotonic
            // (MaxMagnitude returns the signed element).
            var scale = Int8DotKernels.Range(_kernel) / (Math.Abs(TensorPrimitives.MaxMagnitude(row)) * inverseNorm);
            _scales[i] = scale;
            _thresholdScales[i] = _threshold * scale;
            var offset = Int8DotKernels.RowOffset(_kernel);
            var stages = _stageEnds.Length;
            var squares = 0.0;
            for (var stage = stages - 1; stage >= 0; stage--)
            {
                // Segment [start, end) of the row: the coordinates this stage adds to the previous one's prefix.
                var start = stage == 0 ? 0 : _stageEnds[stage - 1];
                var end = Math.Min(row.Length, _stageEnds[stage]);
                var output = _values.AsSpan((int)Segment(stage, i), end - start);
                var (absolute, sum) = Quantize(row[start..end], inverseNorm, scale, output);
                // Multiples of 1/8 far below 2⁵³: exact in float64.
                for (var c = stage; c < stages; c++)
                {
                    _rowHalfL1[c * _padded + i] += 0.5 * absolute;
                    _columnHalfL1[c * _padded + i] += 0.5 * absolute - (double)offset * sum;
                }
                _rowHalfL1[stage * _padded + i] += 0.125 * end;
                _columnHalfL1[stage * _padded + i] += 0.125 * end;
                // ‖u_r‖ from the sum of the trailing squares, accumulated from the end (never total − prefix, whose
                // cancellation could make a small residual norm wrong by far more than Slack).
                _residualScales[stage * _padded + i] = Math.Sqrt(squares) * inverseNorm * scale;
                squares += CosineRanking.Dot(row[start..end], row[start..end]);
            }
        }

        /// <summary>q = round(x·inv·scale) (to nearest, ties to even), in float64; returns Σ|q| and Σq.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static (long Absolute, int Sum) Quantize(ReadOnlySpan<float> x, double inverseNorm, double scale, Span<sbyte> q)
        {
            var k = 0;
            long absolute = 0;
            var sum = 0;
            if (Avx.IsSupported)
            {
                var (inv, s) = (Vector256.Create(inverseNorm), Vector256.Create(scale));
                Vector128<int> absolutes = default, sums = default;
                for (; k + 8 <= x.Length; k += 8)
                {
                    var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)k));
                    var a = Avx.ConvertToVector128Int32WithTruncation(Vector256.Round(lower * inv * s));
                    var b = Avx.ConvertToVector128Int32WithTruncation(Vector256.Round(upper * inv * s));
                    absolutes += Vector128.Abs(a) + Vector128.Abs(b);
                    sums += a + b;
                    var bytes = Vector128.Narrow(Vector128.Narrow(a, b), Vector128<short>.Zero);
                    Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref q[k]), bytes.AsInt64().ToScalar());
                }
                absolute = Vector128.Sum(absolutes);
                sum = Vector128.Sum(sums);
            }
            for (; k < x.Length; k++)
            {
                var v = (int)Math.Round(x[k] * inverseNorm * scale);
                q[k] = (sbyte)v;
                absolute += Math.Abs(v);
                sum += v;
            }
            return (absolute, sum);
        }

        /// <summary>Where row <paramref name="i"/>'s segment of stage <paramref name="stage"/> starts in <see cref="_values"/>.</summary>
        private nuint Segment(int stage, int i)
        {
            var start = stage == 0 ? 0 : _stageEnds[stage - 1];
            return (nuint)_padded * (nuint)start + (nuint)i * (nuint)(_stageEnds[stage] - start);
        }

        // Rows a block buffer holds: the block's, rounded up to whole 4-row groups.
        private const int BlockBufferRows = (QuantizedBlockSize + 3) / 4 * 4;

        /// <summary>A buffer for one block's rows in the kernel's prepared form (<see cref="Screen"/>), stage-major as
        /// <see cref="_values"/> is: stage c's segments from <c>BlockBufferRows</c> × <c>_stageEnds[c − 1]</c> on.</summary>
        public byte[] CreateBlockBuffer() => new byte[BlockBufferRows * _stride];

        /// <summary>Candidate pairs (rows, not positions) of positions i0 ≤ i &lt; i1 (within one range of
        /// <see cref="ScreenOrder.PositionsFrom"/>) with the columns <see cref="ScreenOrder"/> gives them, that the int8
        /// bound cannot exclude.</summary>
        public void Screen(int i0, int i1, byte[] rows, List<(int Row, int Column)> candidates, CancellationToken cancellationToken)
        {
            // The block's rows, in 4-row groups (past i1 they are other rows or padding, whose pairs are ignored), in the
            // kernel's prepared form (AVX2: q + 63): prepared once per block, not per tile.
            var groups = (i1 - i0 + 3) / 4;
            for (var stage = 0; stage < _stageEnds.Length; stage++)
            {
                var start = stage == 0 ? 0 : _stageEnds[stage - 1];
                var length = groups * 4 * (_stageEnds[stage] - start);
                Int8DotKernels.Prepare(_kernel, _values.AsSpan((int)Segment(stage, i0), length), rows.AsSpan(BlockBufferRows * start, length));
            }
            ScreenColumns(i0, i1, rows, details: false, candidates, cancellationToken);
            ScreenColumns(i0, i1, rows, details: true, candidates, cancellationToken);
        }

        /// <summary>The block's positions against their whole (or detail) columns.</summary>
        // Optimised from its first call: each call loops for long, so tiering would run it through on-stack replacement,
        // whose code was measured a third slower.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ScreenColumns(int i0, int i1, byte[] rows, bool details, List<(int Row, int Column)> candidates, CancellationToken cancellationToken)
        {
            var first = details ? _order.DetailStart : 0;
            // Position i's columns are [first, first + Columns(i)); the count grows with i within the block's range.
            int Columns(int i) => details ? _order.DetailColumns(i) : _order.WholeColumns(i);
            var groups = (i1 - i0 + 3) / 4;
            var end = first + Columns(i1 - 1);
            for (var c0 = first; c0 < end; c0 += BlockSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var c1 = Math.Min(end, c0 + BlockSize);
                for (var g = 0; g < groups; g++)
                {
                    var i = i0 + 4 * g;
                    // Column groups start at multiples of 4 (c0 is one: first is 0 or DetailStart), so they are aligned
                    // with the per-row arrays' 4-wide vector loads; a group is needed while it holds a column of its last row.
                    var jEnd = Math.Min(c1, first + Columns(Math.Min(i1 - 1, i + 3)));
                    for (var j = c0; j < jEnd; j += 4)
                    {
                        var mask = Kernel4x4(rows, 4 * g, i, j);
                        while (mask != 0)
                        {
                            var bit = BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            var (row, column) = (i + (bit >> 2), j + (bit & 3));
                            if (row < i1 && column < c1 && column < first + Columns(row))
                            {
                                candidates.Add((_order.Row(row), _order.Row(column)));
                            }
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Rows i..i+3 (also prepared in <paramref name="rows"/>, the block buffer, from its row <paramref name="r"/> on) against rows j..j+3: a 16-bit
        /// mask, bit 4r + c set when pair (i + r, j + c) may be within the radius (no check has excluded it). The kernel
        /// computes each segment between checkpoints; its dots (plus the row offset × Σ q'_segment, for the AVX2
        /// kernels' unsigned operand, which the check takes off) are summed into the prefix dots q_p·q'_p that each check reads.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int Kernel4x4(byte[] rows, int r, int i, int j)
        {
            ref var values = ref MemoryMarshal.GetArrayDataReference(_values);
            ref var prepared = ref MemoryMarshal.GetArrayDataReference(rows);
            Vector128<int> d0 = default, d1 = default, d2 = default, d3 = default;
            var mask = 0xFFFF;
            nuint start = 0;
            for (var stage = 0; ; stage++)
            {
                // This stage's segments, each `length` bytes, consecutive: rows i.., columns j.., prepared rows r...
                var end = (nuint)_stageEnds[stage];
                var length = end - start;
                var (e0, e1, e2, e3) = Int8DotKernels.Dot4x4(_kernel,
                    ref Unsafe.Add(ref prepared, BlockBufferRows * start + (nuint)r * length),
                    ref Unsafe.Add(ref values, (nuint)_padded * start + (nuint)i * length),
                    ref Unsafe.Add(ref values, (nuint)_padded * start + (nuint)j * length), length, 0, length);
                start = end;
                (d0, d1, d2, d3) = (d0 + e0, d1 + e1, d2 + e2, d3 + e3);
                // The running dots still hold the row offset × the columns' prefix sums, which _columnHalfL1 takes off.
                mask &= StageMask(stage * _padded, i, j, d0, d1, d2, d3);
                if (mask == 0 || stage == _stageEnds.Length - 1)
                {
                    return mask;
                }
            }
        }

        /// <summary>Bits 4r + c of the pairs (i + r, j + c) that the bound at this stage does not exclude (see the class
        /// remarks): kept unless q_p·q'_p + h + h' &lt; (1 − radius − Slack − ‖u_r‖‖v_r‖)·s s'. The dots come with the
        /// kernel's row offset term, RowOffset·Σq'_p, which h' − RowOffset·Σq'_p (_columnHalfL1) takes off, exactly; the right
        /// side is computed as ((1 − radius − Slack)·s)·s' − (‖u_r‖·s)(‖v_r‖·s'), from per-row products: its rounding,
        /// a few units of 2⁻⁵³·s s', is as far below Slack·s s' as the plain expression's.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int StageMask(int offset, int i, int j, Vector128<int> d0, Vector128<int> d1, Vector128<int> d2, Vector128<int> d3)
        {
            // Unchecked reads: i + 3 and j + 3 are below _padded (rows past i1 are other rows or padding).
            ref var rowHalfL1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rowHalfL1), offset + i);
            ref var residualScales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_residualScales), offset);
            ref var rowResidualScales = ref Unsafe.Add(ref residualScales, i);
            ref var thresholdScales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_thresholdScales), i);
            var columnHalfL1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_columnHalfL1), offset), (nuint)j);
            var columnResidualScales = Vector256.LoadUnsafe(ref residualScales, (nuint)j);
            var columnScales = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_scales), (nuint)j);
            return RowMask(d0, columnHalfL1, columnResidualScales, columnScales, rowHalfL1, rowResidualScales, thresholdScales)
                | RowMask(d1, columnHalfL1, columnResidualScales, columnScales, Unsafe.Add(ref rowHalfL1, 1), Unsafe.Add(ref rowResidualScales, 1), Unsafe.Add(ref thresholdScales, 1)) << 4
                | RowMask(d2, columnHalfL1, columnResidualScales, columnScales, Unsafe.Add(ref rowHalfL1, 2), Unsafe.Add(ref rowResidualScales, 2), Unsafe.Add(ref thresholdScales, 2)) << 8
                | RowMask(d3, columnHalfL1, columnResidualScales, columnScales, Unsafe.Add(ref rowHalfL1, 3), Unsafe.Add(ref rowResidualScales, 3), Unsafe.Add(ref thresholdScales, 3)) << 12;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int RowMask(Vector128<int> dots, Vector256<double> columnHalfL1, Vector256<double> columnResidualScales,
            Vector256<double> columnScales, double rowHalfL1, double rowResidualScale, double rowThresholdScale)
        {
            // vcvtdq2pd where there is AVX; elsewhere the portable widening (int32 → int64 → float64, exact either way).
            var exact = Avx.IsSupported ? Avx.ConvertToVector256Double(dots)
                : Vector256.ConvertToDouble(Vector256.Create(Vector128.WidenLower(dots), Vector128.WidenUpper(dots)));
            var left = exact + (columnHalfL1 + Vector256.Create(rowHalfL1));
            var right = Vector256.Create(rowThresholdScale) * columnScales - Vector256.Create(rowResidualScale) * columnResidualScales;
            return (int)Vector256.GreaterThanOrEqual(left, right).ExtractMostSignificantBits();
        }
    }
}
