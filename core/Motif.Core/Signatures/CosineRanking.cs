using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Motif.Core.Signatures;

/// <summary>A gallery row and its cosine distance to a query.</summary>
public readonly record struct RankedRow(int Row, double Distance);

/// <summary>
/// The one cosine arithmetic and ranking that search, evaluation and the neighbour graph's exact check share, so an
/// image's neighbours are the same pairs at the same distances whichever of them asks.
/// </summary>
/// <remarks>
/// <para><b>Distance.</b> d(x, y) = 1 − x·y / √(‖x‖²‖y‖²), clamped to [0, 2]: scikit-learn's
/// <c>cosine_distances</c> (sklearn/metrics/pairwise.py), which normalises each row and clips the same way so that
/// duplicates, whose 1 − cos comes out as a tiny negative, get 0. The dot products accumulate the float32 × float32
/// products (exact in float64) in float64, the arithmetic scikit-learn uses after converting its input to float64.
/// Rows need not be unit length; an all-zero row has no direction and is refused. For identical rows the cosine is
/// exactly 1, since √(s²) = s in IEEE arithmetic.</para>
/// <para><b>Images signed with their details.</b> A version may sign each image as its whole and a few details (windows
/// of it seen enlarged; <c>SignatureDetails</c>): a row is then <c>parts</c> signatures of D values, the whole first.
/// Two such images are as near as the nearest of their whole ↔ whole, whole ↔ detail and detail ↔ whole pairs
/// (<see cref="ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>): a reproduction of a detail is near the painting's own detail, whatever else the
/// painting shows. Detail ↔ detail pairs do not count: two paintings that share a patch of sky are not a pattern. With
/// one part (the default) this is the distance above, to the bit.</para>
/// <para><b>Order.</b> Ascending distance, ties by row index (the lower first), as scikit-learn's stable
/// <c>argsort</c> of a distance row orders them. A query is never its own neighbour.</para>
/// <para><b>Cost.</b> Exact: every query is compared with every row, O(Q·N·D), one dot product at a time (no register
/// tiling yet; 2 × parts − 1 of them per pair of images signed with details), then a sort of all rows when k is at
/// least N/8, else a bounded heap. The float64 accumulation costs
/// more than a float32 SIMD dot product; the neighbour graph screens pairs with cheaper float32 or int8 bounds first
/// (<see cref="NeighbourGraph"/>) and calls <see cref="Distance"/> only on the survivors. Evaluation ranks only the
/// morphograph's queries of one split part, so Q is small beside N.</para>
/// </remarks>
public static class CosineRanking
{
    /// <summary>x·y with float64 accumulation of the (exact) float32 × float32 products: 2 × 4 float64 lanes, summed
    /// at the end, then the tail past the last full vector added in order. A given pair always gets the same value.</summary>
    // Called for every row from the start (norms, quantisation): tiering would run the first thousands unoptimised.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException($"Rows of {x.Length} and {y.Length} values have no dot product.", nameof(y));
        }
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

    /// <summary>The cosine distance of two rows whose squared norms (<see cref="Dot"/> of each with itself) are given.</summary>
    public static double Distance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, double xSquaredNorm, double ySquaredNorm) =>
        Math.Clamp(1 - Dot(x, y) / Math.Sqrt(xSquaredNorm * ySquaredNorm), 0.0, 2.0);

    /// <summary>
    /// The cosine distance of two images signed as <paramref name="parts"/> signatures each, the whole first and then
    /// its details: the least of whole ↔ whole, whole ↔ each detail of the other and each detail ↔ the other's whole.
    /// Detail ↔ detail pairs are not compared. One part: <see cref="Distance"/>.
    /// </summary>
    /// <param name="x">One image's row: <paramref name="parts"/> × D values.</param>
    /// <param name="y">The other's, as long.</param>
    /// <param name="parts">Signatures per row (≥ 1).</param>
    /// <param name="xSquaredNorms">‖part‖² of each of <paramref name="x"/>'s parts (<see cref="SquaredNorms"/>).</param>
    /// <param name="ySquaredNorms">The same for <paramref name="y"/>.</param>
    public static double ImageDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int parts, ReadOnlySpan<double> xSquaredNorms, ReadOnlySpan<double> ySquaredNorms)
    {
        var dim = x.Length / parts;
        var wholeX = x[..dim];
        var wholeY = y[..dim];
        var best = Distance(wholeX, wholeY, xSquaredNorms[0], ySquaredNorms[0]);
        for (var p = 1; p < parts; p++)
        {
            best = Math.Min(best, Distance(wholeX, y.Slice(p * dim, dim), xSquaredNorms[0], ySquaredNorms[p]));
            best = Math.Min(best, Distance(x.Slice(p * dim, dim), wholeY, xSquaredNorms[p], ySquaredNorms[0]));
        }
        return best;
    }

    /// <summary><see cref="ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>
    /// of two rows whose parts' norms are not known yet (computed here with <see cref="Dot"/>).</summary>
    public static double ImageDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if (x.Length != y.Length || x.Length % parts != 0)
        {
            throw new ArgumentException($"Rows of {x.Length} and {y.Length} values are not two images of {parts} parts.", nameof(y));
        }
        var width = x.Length / parts;
        // A row's parts come from a file's header: only a few go on the stack.
        var norms = parts <= 32 ? stackalloc double[2 * parts] : new double[2 * parts];
        for (var p = 0; p < parts; p++)
        {
            norms[p] = Dot(x.Slice(p * width, width), x.Slice(p * width, width));
            norms[parts + p] = Dot(y.Slice(p * width, width), y.Slice(p * width, width));
        }
        return ImageDistance(x, y, parts, norms[..parts], norms[parts..]);
    }

    /// <summary>‖part‖² of each signature of a row-major matrix: <paramref name="parts"/> per row, row after row.</summary>
    /// <param name="matrix">Row-major rows of <paramref name="dimension"/> values.</param>
    /// <param name="dimension">Values per row.</param>
    /// <param name="degreeOfParallelism">Worker threads.</param>
    /// <param name="cancellationToken">Cancels the computation.</param>
    /// <param name="ids">Row ids, to name a refused row in the message (optional).</param>
    /// <param name="parts">Signatures per row, each of <paramref name="dimension"/> / <paramref name="parts"/> values:
    /// an image's whole and its details (1: the whole only).</param>
    /// <exception cref="ArgumentException">The matrix is not rows of <paramref name="dimension"/> values, a row does not
    /// split into <paramref name="parts"/>, or a signature is all zeros or not finite (it has no direction).</exception>
    public static double[] SquaredNorms(ReadOnlyMemory<float> matrix, int dimension, int degreeOfParallelism = 1,
        CancellationToken cancellationToken = default, IReadOnlyList<string>? ids = null, int parts = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if (matrix.Length % dimension != 0 || dimension % parts != 0)
        {
            throw new ArgumentException($"The signatures ({matrix.Length} floats) are not rows of {dimension} in {parts} parts.", nameof(matrix));
        }
        var width = dimension / parts;
        var norms = new double[matrix.Length / width];
        Parallel.For(0, norms.Length, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, i =>
        {
            var part = matrix.Span.Slice(i * width, width);
            norms[i] = Dot(part, part);
        });
        var bad = Array.FindIndex(norms, s => !double.IsFinite(s) || s == 0);
        if (bad >= 0)
        {
            var row = bad / parts;
            var what = string.Join(", ", new[] { ids is null ? null : $"'{ids[row]}'", parts == 1 ? null : bad % parts == 0 ? "its whole" : $"detail {bad % parts}" }
                .Where(s => s is not null));
            throw new ArgumentException($"Signature {row}{(what.Length == 0 ? "" : $" ({what})")} is all zeros or not finite: it has no direction.", nameof(matrix));
        }
        return norms;
    }

    /// <summary>
    /// The <paramref name="k"/> rows of <paramref name="matrix"/> nearest to <paramref name="query"/>, nearest first,
    /// ties by row; <paramref name="exclude"/> (a row, or −1) is left out. Search's ranking.
    /// </summary>
    /// <param name="matrix">Row-major N × <paramref name="dimension"/> signatures.</param>
    /// <param name="dimension">Values per row.</param>
    /// <param name="squaredNorms">Their <see cref="SquaredNorms"/> (N × <paramref name="parts"/>).</param>
    /// <param name="query">A row of <paramref name="dimension"/> values, not necessarily one of the matrix.</param>
    /// <param name="k">Rows to return (≥ 0; fewer when the matrix has fewer).</param>
    /// <param name="exclude">A row to leave out (the query's own), or −1.</param>
    /// <param name="parts">Signatures per row, the whole first (<see cref="ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>); 1: the whole only.</param>
    public static RankedRow[] Nearest(ReadOnlySpan<float> matrix, int dimension, ReadOnlySpan<double> squaredNorms,
        ReadOnlySpan<float> query, int k, int exclude = -1, int parts = 1)
    {
        if (query.Length != dimension)
        {
            throw new ArgumentException($"The query has {query.Length} values; signatures have {dimension}.", nameof(query));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if (dimension % parts != 0 || squaredNorms.Length % parts != 0)
        {
            throw new ArgumentException($"Rows of {dimension} values with {squaredNorms.Length} norms do not split into {parts} parts.", nameof(parts));
        }
        var width = dimension / parts;
        var queryNorms = parts <= 64 ? stackalloc double[parts] : new double[parts];
        for (var p = 0; p < parts; p++)
        {
            var part = query.Slice(p * width, width);
            queryNorms[p] = Dot(part, part);
            if (!double.IsFinite(queryNorms[p]) || queryNorms[p] == 0)
            {
                throw new ArgumentException("The query is all zeros or not finite: it has no direction.", nameof(query));
            }
        }
        var queryNorm = queryNorms[0];
        var n = squaredNorms.Length / parts;
        if ((long)k * 8 >= n)
        {
            // Most of the gallery is kept: one sort of every row beats a heap.
            var all = new List<RankedRow>(n);
            for (var j = 0; j < n; j++)
            {
                if (j != exclude)
                {
                    all.Add(new RankedRow(j, parts == 1
                        ? Distance(query, matrix.Slice(j * dimension, dimension), queryNorm, squaredNorms[j])
                        : ImageDistance(query, matrix.Slice(j * dimension, dimension), parts, queryNorms, squaredNorms.Slice(j * parts, parts))));
                }
            }
            all.Sort(Compare);
            return [.. all.Take(k)];
        }
        var selection = new Selection(k);
        for (var j = 0; j < n; j++)
        {
            if (j != exclude)
            {
                selection.Offer(new RankedRow(j, parts == 1
                    ? Distance(query, matrix.Slice(j * dimension, dimension), queryNorm, squaredNorms[j])
                    : ImageDistance(query, matrix.Slice(j * dimension, dimension), parts, queryNorms, squaredNorms.Slice(j * parts, parts))));
            }
        }
        return selection.Sorted();
    }

    /// <summary>
    /// Every query's gallery ranked nearest first, the query itself excluded: evaluation's input
    /// (<see cref="Evaluation.RetrievalMetrics"/>). The gallery is every row; the queries are
    /// <paramref name="queries"/> (default: every row). Each list is what <see cref="Nearest"/> returns for its row.
    /// </summary>
    /// <param name="signatures">Row-major N × D float32 matrix, N = <paramref name="ids"/>.Count.</param>
    /// <param name="ids">Row ids, distinct.</param>
    /// <param name="queries">Ids of the rows to rank for, each once; default every row, in row order.</param>
    /// <param name="topK">Entries kept per query (≥ 1); default all N − 1.</param>
    /// <param name="degreeOfParallelism">Worker threads (queries are shared out among them).</param>
    /// <param name="parts">Signatures per row, the whole first (<see cref="ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>); 1: the whole only.</param>
    /// <param name="cancellationToken">Cancels the computation.</param>
    /// <returns>Query id → ranked gallery ids, in the order of the queries. The lists are views over one int array
    /// (4 bytes per entry).</returns>
    /// <exception cref="ArgumentException">The matrix is not N × D, a row is all zeros or not finite, an id repeats or
    /// a query is not an id.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Rank(ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids,
        IEnumerable<string>? queries = null, int? topK = null, int degreeOfParallelism = 1, int parts = 1, CancellationToken cancellationToken = default)
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
        var queryRows = QueryRows(queries, rowOf, n);
        if (topK is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "Keep at least one entry per query.");
        }
        var k = (int)Math.Min(topK ?? long.MaxValue, n - 1);
        var norms = SquaredNorms(signatures, dim, degreeOfParallelism, cancellationToken, ids, parts);
        if ((long)queryRows.Length * k > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK,
                $"{queryRows.Length} queries × {k} entries exceed one array: ask for fewer entries or fewer queries at a time.");
        }
        var result = new int[(long)queryRows.Length * k];
        Parallel.For(0, queryRows.Length, new ParallelOptions { MaxDegreeOfParallelism = degreeOfParallelism, CancellationToken = cancellationToken }, q =>
        {
            var row = queryRows[q];
            var x = signatures.Span;
            var ranked = Nearest(x, dim, norms, x.Slice(row * dim, dim), k, exclude: row, parts);
            for (var i = 0; i < k; i++)
            {
                result[(long)q * k + i] = ranked[i].Row;
            }
        });
        var rankings = new OrderedDictionary<string, IReadOnlyList<string>>(queryRows.Length, StringComparer.Ordinal);
        for (var q = 0; q < queryRows.Length; q++)
        {
            rankings.Add(ids[queryRows[q]], new RankedIds(ids, result, (long)q * k, k, queryRows[q]));
        }
        return rankings;
    }

    private static int[] QueryRows(IEnumerable<string>? queries, Dictionary<string, int> rowOf, int n)
    {
        if (queries is null)
        {
            return [.. Enumerable.Range(0, n)];
        }
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
        return [.. list];
    }

    /// <summary>Ascending by distance, then by row.</summary>
    private static int Compare(RankedRow a, RankedRow b)
    {
        var byDistance = a.Distance.CompareTo(b.Distance);
        return byDistance != 0 ? byDistance : a.Row.CompareTo(b.Row);
    }

    /// <summary>The best <c>capacity</c> rows offered (a small share of the gallery), kept in a bounded max-heap whose
    /// root is the worst row kept.</summary>
    private sealed class Selection(int capacity)
    {
        private readonly PriorityQueue<RankedRow, RankedRow> _heap = new(Comparer<RankedRow>.Create((a, b) => Compare(b, a)));

        public void Offer(RankedRow row)
        {
            if (capacity == 0)
            {
                return;
            }
            if (_heap.Count < capacity)
            {
                _heap.Enqueue(row, row);
            }
            else if (Compare(row, _heap.Peek()) < 0)
            {
                _heap.DequeueEnqueue(row, row);
            }
        }

        public RankedRow[] Sorted()
        {
            var rows = _heap.UnorderedItems.Select(e => e.Element).ToArray();
            Array.Sort(rows, Compare);
            return rows;
        }
    }

    /// <summary>A ranking as ids, read from a slice of the shared row array. By construction its rows are distinct
    /// and exclude <see cref="QueryRow"/>, which lets the metrics read it without checking it id by id.</summary>
    internal sealed class RankedIds(IReadOnlyList<string> ids, int[] rows, long offset, int count, int queryRow) : IReadOnlyList<string>
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
}
