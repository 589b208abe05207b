using System.Collections.Concurrent;
using System.Numerics.Tensors;
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
/// <para><b>Distance.</b> d(x, y) = 1 − x·y / (‖x‖‖y‖), clamped to [0, 2] — scikit-learn's
/// <c>cosine_distances</c> (sklearn/metrics/pairwise.py), which clips the same way so that duplicates, whose
/// 1 − cos comes out as a tiny negative, get 0. Rows need not be unit length: each is divided by its own norm,
/// as scikit-learn's <c>normalize</c> does; an all-zero row has no direction and is refused.</para>
/// <para><b>Exactness.</b> All pairs are screened with float32 SIMD dot products over cache-sized tiles; a pair
/// is kept as a candidate when its screened distance is within the radius plus a rigorous bound on float32
/// rounding (Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, §3.1: |error| ≤ γₙ Σ|xᵢyᵢ| with
/// γₙ = nu/(1 − nu), u = 2⁻²⁴, and Σ|xᵢyᵢ| ≤ ‖x‖‖y‖). Each candidate's distance is then recomputed with float64
/// accumulation (float32 × float32 products are exact in float64), the arithmetic scikit-learn uses after
/// converting its input to float64, and the radius test is <c>d ≤ radius</c> in float64, as in
/// <c>radius_neighbors</c> (sklearn/neighbors/_base.py, <c>np.where(d &lt;= radius)</c>). So no pair within the
/// radius is lost to float32 rounding, and ties at exactly the radius are decided as scikit-learn decides them.</para>
/// <para><b>Why float64 distances.</b> The graph stores them as float64 (12 bytes per entry with the index).
/// scikit-learn rounds reachabilities to 15 decimals and breaks ties between them by index; float32 storage
/// would merge distances closer than ~4e-9 into ties and could change OPTICS' ordering, so we pay 4 bytes per
/// entry for identical orderings.</para>
/// <para><b>Incremental.</b> <see cref="Append"/> computes only new × old and new × new pairs and merges them
/// into the existing rows; old × old pairs are never recomputed. <see cref="Build"/> is an append to the empty
/// graph, so both paths share one implementation.</para>
/// </remarks>
public sealed class NeighbourGraph
{
    // Rows and columns are processed in blocks of this many signatures: two blocks of 2048-d float32 rows
    // (2 × 32 × 8 KiB = 512 KiB) stay in a core's L2 cache while every pair between them is computed.
    private const int BlockSize = 32;

    // int8 rows are zero-padded to a multiple of one 256-bit vector. The int32 accumulators of the int8 screen
    // sum at most Stride × 255 × 127 per pair, which stays below 2³¹ up to this many dimensions.
    private const int QuantizedMaxDimension = 32768;

    /// <summary>Whether the int8 (AVX-VNNI) screen may be used where the CPU has it; tests turn it off to compare
    /// both screens, which must give identical graphs.</summary>
    internal static bool UseQuantizedScreen { get; set; } = true;

    private readonly int[] _offsets;
    private readonly int[] _indices;
    private readonly double[] _distances;
    // ‖x‖² per row, in float64: used for the distances, and to check on Append that the old rows are unchanged.
    private readonly double[] _squaredNorms;

    private NeighbourGraph(int dimension, double radius, int[] offsets, int[] indices, double[] distances, double[] squaredNorms)
    {
        Dimension = dimension;
        Radius = radius;
        _offsets = offsets;
        _indices = indices;
        _distances = distances;
        _squaredNorms = squaredNorms;
    }

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
        Empty(dimension, radius).Append(signatures, degreeOfParallelism, cancellationToken);

    /// <summary>
    /// A graph over this graph's signatures plus new ones. <paramref name="signatures"/> holds all rows:
    /// first the <see cref="Count"/> rows this graph was built from, unchanged, then the new rows. Only pairs
    /// involving a new row are computed; this graph is left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not N × <see cref="Dimension"/> with N ≥ <see cref="Count"/>,
    /// the old rows differ from the ones this graph was built from, or a new row is all zeros or not finite.</exception>
    public NeighbourGraph Append(ReadOnlyMemory<float> signatures, int degreeOfParallelism = 1, CancellationToken cancellationToken = default)
    {
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

        var squaredNorms = new double[n];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
        {
            var row = signatures.Span.Slice(i * dim, dim);
            squaredNorms[i] = Dot64(row, row);
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

        var edges = ComputeNewEdges(signatures, dim, n0, n, squaredNorms, Radius, degreeOfParallelism, cancellationToken);
        return Merge(edges, n, squaredNorms, degreeOfParallelism, cancellationToken);
    }

    private readonly record struct Edge(int Row, int Column, double Distance);

    /// <summary>All pairs (i, j) with n0 ≤ i &lt; n and j &lt; i whose distance is ≤ radius.</summary>
    private static List<Edge[]> ComputeNewEdges(ReadOnlyMemory<float> signatures, int dim, int n0, int n, double[] squaredNorms,
        double radius, int degreeOfParallelism, CancellationToken cancellationToken)
    {
        // Every cosine distance is ≤ 2, so a radius ≥ 2 keeps every pair and the float32 screen would be wasted work.
        var screen = radius < 2;
        // Rigorous float32 error bound on a dot product of unit-normalised rows (see remarks): covers the SIMD
        // kernel (D/8 products per lane plus the lane sum) and the scalar fallback (D sequential products).
        var margin = 1.01 * (dim + 16) * Math.ScaleB(1.0, -24);
        var inverseNorms = squaredNorms.Select(s => 1 / Math.Sqrt(s)).ToArray();

        var rowBlocks = new List<(int Start, int End)>();
        for (var start = n0; start < n; start += BlockSize)
        {
            rowBlocks.Add((start, Math.Min(n, start + BlockSize)));
        }
        // Largest blocks (most columns) first, handed out one at a time: the triangle's rows have unequal work.
        rowBlocks.Reverse();

        // On CPUs with AVX-VNNI the screen uses int8 dot products: vpdpbusd does 32 multiply-adds per 256-bit
        // instruction against 8 for a float32 FMA, and the float32 kernel is already near this CPU's FMA peak.
        var quantized = screen && UseQuantizedScreen && AvxVnni.IsSupported && dim <= QuantizedMaxDimension
            ? QuantizedRows.Create(signatures, dim, n, inverseNorms, degreeOfParallelism, cancellationToken)
            : null;

        var results = new ConcurrentBag<Edge[]>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.ForEach(
            Partitioner.Create(rowBlocks, EnumerablePartitionerOptions.NoBuffering),
            options,
            () => new List<Edge>(),
            (block, _, local) =>
            {
                Span<float> tile = stackalloc float[BlockSize * BlockSize];
                Span<int> quantizedTile = stackalloc int[BlockSize * BlockSize];
                var x = signatures.Span;
                for (var c0 = 0; c0 < block.End; c0 += BlockSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var c1 = Math.Min(block.End, c0 + BlockSize);
                    if (quantized is not null)
                    {
                        quantized.DotTile(block.Start, block.End, c0, c1, quantizedTile);
                    }
                    else if (screen)
                    {
                        DotTile(x, dim, block.Start, block.End, c0, c1, tile);
                    }
                    for (var i = block.Start; i < block.End; i++)
                    {
                        var rowI = x.Slice(i * dim, dim);
                        var jEnd = Math.Min(c1, i);
                        for (var j = c0; j < jEnd; j++)
                        {
                            if (quantized is not null)
                            {
                                if (quantized.DistanceLowerBound(i, j, quantizedTile[(i - block.Start) * BlockSize + (j - c0)]) > radius)
                                {
                                    continue;
                                }
                            }
                            else if (screen)
                            {
                                var approximate = 1 - tile[(i - block.Start) * BlockSize + (j - c0)] * inverseNorms[i] * inverseNorms[j];
                                if (approximate > radius + margin)
                                {
                                    continue;
                                }
                            }
                            // cos = x·y / √(‖x‖²‖y‖²): for identical rows this is exactly 1 (√(s²) = s in IEEE
                            // arithmetic), so duplicates are at distance exactly 0 rather than ±1e-16.
                            var d = 1 - Dot64(rowI, x.Slice(j * dim, dim)) / Math.Sqrt(squaredNorms[i] * squaredNorms[j]);
                            d = Math.Clamp(d, 0.0, 2.0);
                            if (d <= radius)
                            {
                                local.Add(new Edge(i, j, d));
                            }
                        }
                    }
                }
                return local;
            },
            local => results.Add([.. local]));
        return [.. results];
    }

    private NeighbourGraph Merge(List<Edge[]> edges, int n, double[] squaredNorms, int degreeOfParallelism, CancellationToken cancellationToken)
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
        return new NeighbourGraph(Dimension, Radius, offsets, indices, distances, squaredNorms);
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

    private static void Kernel4x4(ReadOnlySpan<float> x, int dim, int i, int j, Span<float> output)
    {
        ref var origin = ref MemoryMarshal.GetReference(x);
        nuint a0 = (nuint)i * (nuint)dim, a1 = a0 + (nuint)dim, a2 = a1 + (nuint)dim, a3 = a2 + (nuint)dim;
        nuint b0 = (nuint)j * (nuint)dim, b1 = b0 + (nuint)dim, b2 = b1 + (nuint)dim, b3 = b2 + (nuint)dim;
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
        var width = (nuint)Vector256<float>.Count;
        var end = (nuint)dim - (nuint)dim % width;
        for (nuint k = 0; k < end; k += width)
        {
            var y0 = Vector256.LoadUnsafe(ref origin, b0 + k);
            var y1 = Vector256.LoadUnsafe(ref origin, b1 + k);
            var y2 = Vector256.LoadUnsafe(ref origin, b2 + k);
            var y3 = Vector256.LoadUnsafe(ref origin, b3 + k);
            var v = Vector256.LoadUnsafe(ref origin, a0 + k);
            s00 = Vector256.MultiplyAddEstimate(v, y0, s00); s01 = Vector256.MultiplyAddEstimate(v, y1, s01);
            s02 = Vector256.MultiplyAddEstimate(v, y2, s02); s03 = Vector256.MultiplyAddEstimate(v, y3, s03);
            v = Vector256.LoadUnsafe(ref origin, a1 + k);
            s10 = Vector256.MultiplyAddEstimate(v, y0, s10); s11 = Vector256.MultiplyAddEstimate(v, y1, s11);
            s12 = Vector256.MultiplyAddEstimate(v, y2, s12); s13 = Vector256.MultiplyAddEstimate(v, y3, s13);
            v = Vector256.LoadUnsafe(ref origin, a2 + k);
            s20 = Vector256.MultiplyAddEstimate(v, y0, s20); s21 = Vector256.MultiplyAddEstimate(v, y1, s21);
            s22 = Vector256.MultiplyAddEstimate(v, y2, s22); s23 = Vector256.MultiplyAddEstimate(v, y3, s23);
            v = Vector256.LoadUnsafe(ref origin, a3 + k);
            s30 = Vector256.MultiplyAddEstimate(v, y0, s30); s31 = Vector256.MultiplyAddEstimate(v, y1, s31);
            s32 = Vector256.MultiplyAddEstimate(v, y2, s32); s33 = Vector256.MultiplyAddEstimate(v, y3, s33);
        }
        Span<float> sums =
        [
            Vector256.Sum(s00), Vector256.Sum(s01), Vector256.Sum(s02), Vector256.Sum(s03),
            Vector256.Sum(s10), Vector256.Sum(s11), Vector256.Sum(s12), Vector256.Sum(s13),
            Vector256.Sum(s20), Vector256.Sum(s21), Vector256.Sum(s22), Vector256.Sum(s23),
            Vector256.Sum(s30), Vector256.Sum(s31), Vector256.Sum(s32), Vector256.Sum(s33),
        ];
        for (var r = 0; r < 4; r++)
        {
            for (var c = 0; c < 4; c++)
            {
                var sum = sums[r * 4 + c];
                for (var k = (int)end; k < dim; k++)
                {
                    sum += x[(i + r) * dim + k] * x[(j + c) * dim + k];
                }
                output[r * BlockSize + c] = sum;
            }
        }
    }

    /// <summary>x·y with float64 accumulation of the (exact) float32 × float32 products.</summary>
    private static double Dot64(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var k = 0;
        var sum = 0.0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            ref var xr = ref MemoryMarshal.GetReference(x);
            ref var yr = ref MemoryMarshal.GetReference(y);
            Vector256<double> lower = default, upper = default;
            for (; k + Vector256<float>.Count <= x.Length; k += Vector256<float>.Count)
            {
                var (xl, xu) = Vector256.Widen(Vector256.LoadUnsafe(ref xr, (nuint)k));
                var (yl, yu) = Vector256.Widen(Vector256.LoadUnsafe(ref yr, (nuint)k));
                lower = Vector256.MultiplyAddEstimate(xl, yl, lower);
                upper = Vector256.MultiplyAddEstimate(xu, yu, upper);
            }
            sum = Vector256.Sum(lower + upper);
        }
        for (; k < x.Length; k++)
        {
            sum += (double)x[k] * y[k];
        }
        return sum;
    }

    /// <summary>
    /// The int8 screen. Each row is normalised to u = x/‖x‖ and quantised with its own scale s = 127 / max|uₖ|:
    /// q = round(s·u), so u = q/s + e with |eₖ| ≤ 0.5/s. For two rows,
    /// u·v − q_u·q_v/(s_u s_v) = (q_u/s_u)·e_v + e_u·(q_v/s_v) + e_u·e_v, whose magnitude is at most
    /// 0.5·(‖q_u‖₁/s_u)/s_v + 0.5·(‖q_v‖₁/s_v)/s_u + 0.25·D/(s_u s_v) (Hölder, term by term). A pair is dropped only
    /// when its distance exceeds the radius by more than that bound, so no pair within the radius is lost; every
    /// kept pair is then recomputed exactly in float64 like any other candidate. For 2048-d unit rows the bound
    /// is about 0.03 in cosine distance, which lets almost nothing but true neighbours through.
    /// </summary>
    private sealed class QuantizedRows
    {
        // Covers float64 rounding in the normalisation and the bound itself (both ~1e-15 relative).
        private const double Slack = 1e-9;

        private readonly sbyte[] _values;   // n × _stride, zero-padded
        private readonly int _stride;
        private readonly int _dimension;
        private readonly double[] _inverseScales;  // 1/s per row
        private readonly double[] _l1;             // ‖q‖₁ / s per row
        private readonly int[] _sums;       // Σₖ qₖ per row: vpdpbusd multiplies unsigned by signed bytes, see DotTile

        private QuantizedRows(sbyte[] values, int stride, int dimension, double[] inverseScales, double[] l1, int[] sums) =>
            (_values, _stride, _dimension, _inverseScales, _l1, _sums) = (values, stride, dimension, inverseScales, l1, sums);

        public static QuantizedRows Create(ReadOnlyMemory<float> signatures, int dim, int n, double[] inverseNorms,
            int degreeOfParallelism, CancellationToken cancellationToken)
        {
            var stride = (dim + 31) / 32 * 32;
            var values = new sbyte[(long)n * stride];
            var (inverseScales, l1, sums) = (new double[n], new double[n], new int[n]);
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
            {
                var row = signatures.Span.Slice(i * dim, dim);
                var largest = 0.0;
                foreach (var v in row)
                {
                    largest = Math.Max(largest, Math.Abs(v * inverseNorms[i]));
                }
                var scale = 127 / largest;
                var output = values.AsSpan(i * stride, stride);
                long absolute = 0, sum = 0;
                for (var k = 0; k < dim; k++)
                {
                    var q = (int)Math.Round(row[k] * inverseNorms[i] * scale);
                    output[k] = (sbyte)q;
                    absolute += Math.Abs(q);
                    sum += q;
                }
                (inverseScales[i], l1[i], sums[i]) = (1 / scale, absolute / scale, (int)sum);
            });
            return new QuantizedRows(values, stride, dim, inverseScales, l1, sums);
        }

        /// <summary>A lower bound on the cosine distance of rows i and j from their int8 dot product. It runs for
        /// every pair, so it is written with multiplications only.</summary>
        public double DistanceLowerBound(int i, int j, int dot)
        {
            var (ti, tj) = (_inverseScales[i], _inverseScales[j]);
            var error = 0.5 * (_l1[i] * tj + _l1[j] * ti) + 0.25 * _dimension * ti * tj + Slack;
            return 1 - dot * ti * tj - error;
        }

        /// <summary>int8 dot products of rows [i0, i1) with rows [j0, j1) into <paramref name="tile"/> (row stride
        /// <see cref="BlockSize"/>), 4 × 4 register blocks as in the float32 kernel.</summary>
        public void DotTile(int i0, int i1, int j0, int j1, Span<int> tile)
        {
            var i = i0;
            for (; i + 4 <= i1; i += 4)
            {
                var j = j0;
                for (; j + 4 <= j1; j += 4)
                {
                    Kernel4x4(i, j, tile.Slice((i - i0) * BlockSize + (j - j0)));
                }
                for (; j < j1; j++)
                {
                    for (var r = i; r < i + 4; r++)
                    {
                        tile[(r - i0) * BlockSize + (j - j0)] = Dot(r, j);
                    }
                }
            }
            for (; i < i1; i++)
            {
                for (var j = j0; j < j1; j++)
                {
                    tile[(i - i0) * BlockSize + (j - j0)] = Dot(i, j);
                }
            }
        }

        private int Dot(int i, int j)
        {
            var a = _values.AsSpan(i * _stride, _stride);
            var b = _values.AsSpan(j * _stride, _stride);
            var sum = 0;
            for (var k = 0; k < _stride; k++)
            {
                sum += a[k] * b[k];
            }
            return sum;
        }

        // vpdpbusd multiplies UNSIGNED bytes of its first operand by signed bytes of the second. The left rows are
        // fed as q + 128 (flipping the sign bit), so each sum is q_i·q_j + 128·Σq_j, and 128·Σq_j is subtracted.
        private void Kernel4x4(int i, int j, Span<int> output)
        {
            ref var origin = ref MemoryMarshal.GetArrayDataReference(_values);
            var stride = (nuint)_stride;
            nuint a0 = (nuint)i * stride, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride;
            nuint b0 = (nuint)j * stride, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
            var flip = Vector256.Create((byte)0x80);
            Vector256<int> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector256<int> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector256<int> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector256<int> s30 = default, s31 = default, s32 = default, s33 = default;
            for (nuint k = 0; k < stride; k += 32)
            {
                var y0 = Vector256.LoadUnsafe(ref origin, b0 + k);
                var y1 = Vector256.LoadUnsafe(ref origin, b1 + k);
                var y2 = Vector256.LoadUnsafe(ref origin, b2 + k);
                var y3 = Vector256.LoadUnsafe(ref origin, b3 + k);
                var v = Vector256.LoadUnsafe(ref origin, a0 + k).AsByte() ^ flip;
                s00 = AvxVnni.MultiplyWideningAndAdd(s00, v, y0); s01 = AvxVnni.MultiplyWideningAndAdd(s01, v, y1);
                s02 = AvxVnni.MultiplyWideningAndAdd(s02, v, y2); s03 = AvxVnni.MultiplyWideningAndAdd(s03, v, y3);
                v = Vector256.LoadUnsafe(ref origin, a1 + k).AsByte() ^ flip;
                s10 = AvxVnni.MultiplyWideningAndAdd(s10, v, y0); s11 = AvxVnni.MultiplyWideningAndAdd(s11, v, y1);
                s12 = AvxVnni.MultiplyWideningAndAdd(s12, v, y2); s13 = AvxVnni.MultiplyWideningAndAdd(s13, v, y3);
                v = Vector256.LoadUnsafe(ref origin, a2 + k).AsByte() ^ flip;
                s20 = AvxVnni.MultiplyWideningAndAdd(s20, v, y0); s21 = AvxVnni.MultiplyWideningAndAdd(s21, v, y1);
                s22 = AvxVnni.MultiplyWideningAndAdd(s22, v, y2); s23 = AvxVnni.MultiplyWideningAndAdd(s23, v, y3);
                v = Vector256.LoadUnsafe(ref origin, a3 + k).AsByte() ^ flip;
                s30 = AvxVnni.MultiplyWideningAndAdd(s30, v, y0); s31 = AvxVnni.MultiplyWideningAndAdd(s31, v, y1);
                s32 = AvxVnni.MultiplyWideningAndAdd(s32, v, y2); s33 = AvxVnni.MultiplyWideningAndAdd(s33, v, y3);
            }
            ReadOnlySpan<Vector256<int>> sums = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
            for (var r = 0; r < 4; r++)
            {
                for (var c = 0; c < 4; c++)
                {
                    output[r * BlockSize + c] = Vector256.Sum(sums[r * 4 + c]) - 128 * _sums[j + c];
                }
            }
        }
    }
}
