namespace Motif.Core.Evaluation;

/// <summary>One triplet's two distances: anchor to positive (same pattern) and anchor to negative (another).</summary>
public readonly record struct TripletDistances(double AnchorPositive, double AnchorNegative);

/// <summary>A same/different threshold: a pair is called "same" when its distance is ≤ <see cref="Threshold"/>.</summary>
/// <param name="Threshold">The distance.</param>
/// <param name="CalibrationAccuracy">The pair accuracy it reached on the triplets it was chosen from.</param>
public sealed record SameDifferentThreshold(double Threshold, double CalibrationAccuracy);

/// <summary>Verification figures over triplets (see <see cref="TripletVerification"/> for the definitions).</summary>
/// <param name="TripletCount">Triplets evaluated.</param>
/// <param name="TripletAccuracy">Share of triplets whose positive is nearer the anchor than its negative (ties ½).</param>
/// <param name="RocAuc">Exact ROC AUC of distance as a same/different score.</param>
/// <param name="SeedGridRocAuc">The Painter-by-Numbers code's AUC: trapezoids over a fixed threshold grid (optimistic).</param>
/// <param name="Threshold">The same/different threshold applied (calibrated elsewhere).</param>
/// <param name="PairAccuracy">Share of the 2 × <see cref="TripletCount"/> pairs the threshold classifies correctly.</param>
/// <param name="TruePositiveRate">Share of anchor–positive pairs called "same".</param>
/// <param name="FalsePositiveRate">Share of anchor–negative pairs called "same".</param>
public sealed record TripletVerificationReport(
    int TripletCount,
    double TripletAccuracy,
    double RocAuc,
    double SeedGridRocAuc,
    double Threshold,
    double PairAccuracy,
    double TruePositiveRate,
    double FalsePositiveRate);

/// <summary>
/// Same/different verification on triplets (anchor, positive, negative), as the Painter-by-Numbers siamese network
/// was evaluated (SEEDS.md; github.com/AzmiHaider92/PainterByNumbers): per-triplet accuracy and ROC AUC, plus a
/// same/different threshold calibrated on held-out triplets and applied to the evaluated ones.
/// </summary>
/// <remarks>
/// <para><b>Per-triplet accuracy.</b> A triplet is right when d(A, P) &lt; d(A, N); a tie counts ½ (neither image is
/// nearer). The original reports 0.893 averaged per batch of 4; per triplet it is ≈ 0.75 (SEEDS.md). This is the per-
/// triplet figure.</para>
/// <para><b>ROC AUC.</b> The anchor–positive distances are the "same" class, the anchor–negative ones "different",
/// and a smaller distance says "same". The exact AUC is the Mann–Whitney statistic: the share of (same, different)
/// pairs of distances where the same one is smaller, ties ½ — what scikit-learn's <c>roc_auc_score</c> returns for
/// the scores −d (sklearn/metrics/_ranking.py, trapezoids over every distinct threshold).</para>
/// <para><b>Seed-compatible AUC.</b> The original swept thresholds t = 0, 0.1, …, 10 ("tested with multiple
/// thresholds from 0 to 10 (jumps of 0.1)") with TPR(t) = share of anchor–positive distances ≤ t and
/// FPR(t) = share of anchor–negative distances &lt; t (SEEDS.md), and integrated by trapezoids. The coarse grid and
/// the ≤ / &lt; asymmetry make it optimistic; for comparison with its published 0.7465 only.</para>
/// <para><b>Calibrated threshold.</b> <see cref="Calibrate"/> picks, on calibration triplets (the validation split),
/// the threshold that classifies the most of their pairs correctly ("same" when d ≤ t). Every candidate is the
/// midpoint between two consecutive distinct distances (or just below the smallest, or the largest); among equally
/// good ones the lowest wins, the strictest call of "same". <see cref="Evaluate"/> applies it unchanged to the
/// evaluated triplets, so the pair accuracy there is an honest held-out figure.</para>
/// </remarks>
public static class TripletVerification
{
    /// <summary>The original's threshold grid: 0 to 10 in steps of 0.1.</summary>
    public const double SeedGridStep = 0.1;

    /// <summary>The last threshold of the original's grid.</summary>
    public const double SeedGridEnd = 10;

    /// <summary>The threshold that classifies the most calibration pairs correctly (see remarks on <see cref="TripletVerification"/>).</summary>
    /// <exception cref="ArgumentException">No triplet, or a distance that is not a finite number.</exception>
    public static SameDifferentThreshold Calibrate(IReadOnlyList<TripletDistances> calibration)
    {
        var (same, different) = Split(calibration, nameof(calibration));
        // Sweep the distinct distances upwards; between two of them, every pair at or below the lower is "same".
        var all = same.Select(d => (Distance: d, Same: true)).Concat(different.Select(d => (Distance: d, Same: false)))
            .OrderBy(p => p.Distance).ToArray();
        int correct = different.Length, best = correct;   // below every distance: all called "different"
        var threshold = all[0].Distance - Math.Max(1e-9, Math.Abs(all[0].Distance) * 1e-9);
        for (var i = 0; i < all.Length;)
        {
            var d = all[i].Distance;
            for (; i < all.Length && all[i].Distance == d; i++)
            {
                correct += all[i].Same ? 1 : -1;
            }
            if (correct > best)
            {
                best = correct;
                threshold = i < all.Length ? (d + all[i].Distance) / 2 : d;
            }
        }
        return new SameDifferentThreshold(threshold, best / (double)all.Length);
    }

    /// <summary>Per-triplet accuracy, both AUCs, and the pair figures at <paramref name="threshold"/>.</summary>
    /// <exception cref="ArgumentException">No triplet, or a distance that is not a finite number.</exception>
    public static TripletVerificationReport Evaluate(IReadOnlyList<TripletDistances> triplets, double threshold)
    {
        var (same, different) = Split(triplets, nameof(triplets));
        var right = triplets.Sum(t => t.AnchorPositive < t.AnchorNegative ? 1.0 : t.AnchorPositive == t.AnchorNegative ? 0.5 : 0.0);
        var truePositives = same.Count(d => d <= threshold);
        var falsePositives = different.Count(d => d <= threshold);
        var n = triplets.Count;
        return new TripletVerificationReport(
            n,
            right / n,
            RocAuc(same, different),
            SeedGridRocAuc(same, different),
            threshold,
            (truePositives + (n - falsePositives)) / (2.0 * n),
            truePositives / (double)n,
            falsePositives / (double)n);
    }

    /// <summary>The exact ROC AUC of distance as a "same" score: P(d_same &lt; d_different) + ½ P(tie), by one sort
    /// (Mann–Whitney U from rank sums, tied ranks averaged).</summary>
    public static double RocAuc(IReadOnlyList<double> same, IReadOnlyList<double> different)
    {
        ArgumentNullException.ThrowIfNull(same);
        ArgumentNullException.ThrowIfNull(different);
        if (same.Count == 0 || different.Count == 0)
        {
            throw new ArgumentException("The AUC needs distances of both classes.");
        }
        // Rank all distances in descending order, so that a smaller distance gets a higher rank; the "same" class's
        // rank sum minus its minimum is U, the count of (same, different) pairs ordered correctly (ties ½).
        var all = same.Select(d => (Distance: d, Same: true)).Concat(different.Select(d => (Distance: d, Same: false)))
            .OrderByDescending(p => p.Distance).ToArray();
        var rankSum = 0.0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j < all.Length && all[j].Distance == all[i].Distance)
            {
                j++;
            }
            var averageRank = (i + 1 + j) / 2.0;   // ranks i + 1 … j share their mean
            for (var k = i; k < j; k++)
            {
                rankSum += all[k].Same ? averageRank : 0;
            }
            i = j;
        }
        var u = rankSum - same.Count * (same.Count + 1) / 2.0;
        return u / ((double)same.Count * different.Count);
    }

    /// <summary>The Painter-by-Numbers code's AUC (see remarks on <see cref="TripletVerification"/>): thresholds
    /// t = i·<paramref name="step"/> up to <paramref name="end"/>, TPR(t) = share of same ≤ t, FPR(t) = share of
    /// different &lt; t, trapezoids between consecutive points.</summary>
    public static double SeedGridRocAuc(IReadOnlyList<double> same, IReadOnlyList<double> different, double step = SeedGridStep, double end = SeedGridEnd)
    {
        ArgumentNullException.ThrowIfNull(same);
        ArgumentNullException.ThrowIfNull(different);
        if (same.Count == 0 || different.Count == 0)
        {
            throw new ArgumentException("The AUC needs distances of both classes.");
        }
        var steps = (int)Math.Round(end / step);
        double area = 0, lastFpr = 0, lastTpr = 0;
        for (var i = 0; i <= steps; i++)
        {
            var t = i * step;
            var tpr = same.Count(d => d <= t) / (double)same.Count;
            var fpr = different.Count(d => d < t) / (double)different.Count;
            if (i > 0)
            {
                area += (fpr - lastFpr) * (tpr + lastTpr) / 2;
            }
            (lastFpr, lastTpr) = (fpr, tpr);
        }
        return area;
    }

    private static (double[] Same, double[] Different) Split(IReadOnlyList<TripletDistances> triplets, string name)
    {
        ArgumentNullException.ThrowIfNull(triplets, name);
        if (triplets.Count == 0)
        {
            throw new ArgumentException("No triplet to evaluate.", name);
        }
        if (triplets.Any(t => !double.IsFinite(t.AnchorPositive) || !double.IsFinite(t.AnchorNegative)))
        {
            throw new ArgumentException("A triplet's distance is not a finite number.", name);
        }
        return ([.. triplets.Select(t => t.AnchorPositive)], [.. triplets.Select(t => t.AnchorNegative)]);
    }
}
