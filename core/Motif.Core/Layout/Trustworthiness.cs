using Motif.Core.Signatures;

namespace Motif.Core.Layout;

/// <summary>
/// Trustworthiness of a low-dimensional embedding — Venna &amp; Kaski, "Neighborhood preservation in nonlinear
/// projection methods: An experimental study", ICANN 2001, LNCS 2130, pp. 485–491 — with scikit-learn 1.2's
/// definition (<c>sklearn.manifold.trustworthiness</c>, <c>sklearn/manifold/_t_sne.py</c>):
/// <code>
/// T(k) = 1 − 2 / (n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Nᵢᵏ} max(0, r(i, j) − k)
/// </code>
/// where Nᵢᵏ are i's k nearest neighbours in the embedding and r(i, j) is j's rank (1 = nearest) among i's
/// neighbours in the original space. It penalises embedded neighbours that were far apart in the original space;
/// 1 is perfect.
/// </summary>
/// <remarks>
/// Original distances are <see cref="CosineRanking.Distance"/> (the metric the neighbour graph and search use, as
/// <c>trustworthiness(X, Y, metric="cosine")</c>), embedded ones Euclidean. Ties are ranked by index (NumPy's
/// argsort on distinct values; on exact ties scikit-learn's unstable sort may differ). Exact and O(n²·D): for tests
/// and one-off measurements of a few thousand points, not for a collection.
/// </remarks>
public static class Trustworthiness
{
    /// <summary>T(k) of <paramref name="embedding"/> (n rows of 2) against <paramref name="signatures"/> (n rows of
    /// <paramref name="dimension"/>).</summary>
    /// <exception cref="ArgumentException">Sizes disagree, or k ≥ n/2 (scikit-learn's limit, where the normaliser fails).</exception>
    public static double Compute(ReadOnlySpan<float> signatures, int dimension, IReadOnlyList<MapPoint> embedding, int k)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var n = embedding.Count;
        if (signatures.Length != n * dimension)
        {
            throw new ArgumentException($"{signatures.Length / dimension} signatures for {n} embedded points.", nameof(embedding));
        }
        if (k >= n / 2.0)
        {
            throw new ArgumentException($"k = {k} must be below n/2 = {n / 2.0}.", nameof(k));
        }
        var norms = new double[n];
        for (var i = 0; i < n; i++)
        {
            var row = signatures.Slice(i * dimension, dimension);
            norms[i] = CosineRanking.Dot(row, row);
        }

        var original = new double[n];
        var order = new int[n];
        var rank = new int[n];
        var embedded = new double[n];
        var nearest = new int[n];
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            var xi = signatures.Slice(i * dimension, dimension);
            for (var j = 0; j < n; j++)
            {
                order[j] = j;
                original[j] = j == i ? double.PositiveInfinity : CosineRanking.Distance(xi, signatures.Slice(j * dimension, dimension), norms[i], norms[j]);
                var dx = embedding[i].X - embedding[j].X;
                var dy = embedding[i].Y - embedding[j].Y;
                embedded[j] = j == i ? double.PositiveInfinity : dx * dx + dy * dy;
            }
            SortByDistanceThenIndex(original, order);
            for (var r = 0; r < n; r++)
            {
                rank[order[r]] = r + 1;
            }
            for (var j = 0; j < n; j++)
            {
                nearest[j] = j;
            }
            SortByDistanceThenIndex(embedded, nearest);
            for (var m = 0; m < k; m++)
            {
                sum += Math.Max(0, rank[nearest[m]] - k);
            }
        }
        return 1 - sum * (2.0 / (n * (double)k * (2.0 * n - 3.0 * k - 1.0)));
    }

    private static void SortByDistanceThenIndex(double[] distances, int[] indices) =>
        Array.Sort(indices, (a, b) => distances[a] != distances[b] ? distances[a].CompareTo(distances[b]) : a.CompareTo(b));
}
