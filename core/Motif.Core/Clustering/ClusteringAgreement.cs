namespace Motif.Core.Clustering;

/// <summary>How far two labelings of the same points agree.</summary>
public static class ClusteringAgreement
{
    /// <summary>
    /// The adjusted Rand index (Hubert &amp; Arabie 1985), as scikit-learn's <c>adjusted_rand_score</c> computes it:
    /// 1 for identical partitions (whatever the label names), about 0 for chance agreement. Every label, −1 (noise)
    /// included, is one group, as in sklearn.
    /// </summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
        {
            throw new ArgumentException("Both labelings must cover the same points.");
        }
        var n = a.Count;
        var cells = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var columns = new Dictionary<int, long>();
        for (var i = 0; i < n; i++)
        {
            cells[(a[i], b[i])] = cells.GetValueOrDefault((a[i], b[i])) + 1;
            rows[a[i]] = rows.GetValueOrDefault(a[i]) + 1;
            columns[b[i]] = columns.GetValueOrDefault(b[i]) + 1;
        }
        // sklearn's special cases: no pairs to compare, or both labelings are all-one-group or all-singletons.
        if (n < 2 || (rows.Count == columns.Count && (rows.Count == 1 || rows.Count == n)))
        {
            return 1.0;
        }
        static double Pairs(long count) => count * (count - 1) / 2.0;
        var index = cells.Values.Sum(Pairs);
        var sumRows = rows.Values.Sum(Pairs);
        var sumColumns = columns.Values.Sum(Pairs);
        var expected = sumRows * sumColumns / Pairs(n);
        var maximum = (sumRows + sumColumns) / 2;
        return maximum == expected ? 1.0 : (index - expected) / (maximum - expected);
    }
}
