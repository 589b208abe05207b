namespace Motif.Core.Clustering;

/// <summary>What <see cref="RadiusCalibration"/> aims for.</summary>
/// <param name="PositiveShare">Share of positive pairs the radius must keep together (distance ≤ radius). 0.9: a
/// family whose members are 90 % linked at this radius still forms one OPTICS cluster, since a member needs one
/// linked neighbour, not all; asking for every pair would let the single hardest derivation (a small detail, a heavy
/// occlusion) set the radius for the whole collection.</param>
/// <param name="NonNeighbourShare">Largest share of the images' nearest non-neighbours the radius may admit. 0.1: a
/// nearest non-neighbour inside the radius links two unrelated images, and with min_samples 2 one such link is enough
/// to chain two clusters into one; one image in ten is what the product's precision goal (≥ 0.9) can absorb.</param>
/// <param name="Resolution">The radius is rounded to a multiple of this (0.001), so that it reads as a number and
/// the neighbour graph, stored per radius, is reused by the next calibration that lands on the same value.</param>
public sealed record RadiusCalibrationOptions(double PositiveShare = 0.9, double NonNeighbourShare = 0.1, double Resolution = 0.001)
{
    /// <exception cref="ArgumentOutOfRangeException">A share outside [0, 1], or a resolution that is not positive.</exception>
    public void Validate()
    {
        if (!(PositiveShare is > 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(PositiveShare), PositiveShare, "The share of positive pairs to keep must be in (0, 1].");
        }
        if (!(NonNeighbourShare is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(NonNeighbourShare), NonNeighbourShare, "The share of non-neighbours to admit must be in [0, 1].");
        }
        if (!(Resolution is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Resolution), Resolution, "The resolution must be in (0, 1).");
        }
    }
}

/// <summary>The calibrated radius and the numbers that justify it.</summary>
/// <param name="Radius">OPTICS's max_eps (cosine distance); null when no radius can be justified (see <see cref="Reason"/>).</param>
/// <param name="PositivesKept">Positive pairs at distance ≤ <see cref="Radius"/>.</param>
/// <param name="Positives">Positive pairs measured.</param>
/// <param name="NonNeighboursAdmitted">Nearest non-neighbours at distance ≤ <see cref="Radius"/>.</param>
/// <param name="NonNeighbours">Nearest non-neighbours measured.</param>
/// <param name="MeetsTargets">Whether the radius keeps the target share of positives and admits no more than the target
/// share of non-neighbours. False when the two distributions overlap too much: then the non-neighbour cap wins.</param>
/// <param name="Reason">Why the radius is what it is, in one line.</param>
/// <param name="UnrelatedSide">What <see cref="NonNeighbours"/> counts: each image's "nearest other images" (with
/// labels, <see cref="RadiusCalibration.Calibrate"/>) or the "pair distances" the unrelated side was fitted to (without,
/// <see cref="RadiusCalibration.CalibrateWithoutLabels"/>). A record stored before it existed reads as the first.</param>
public sealed record RadiusCalibrationResult(
    double? Radius, int PositivesKept, int Positives, int NonNeighboursAdmitted, int NonNeighbours, bool MeetsTargets, string Reason,
    string UnrelatedSide = RadiusCalibrationResult.NearestOthers)
{
    /// <summary><see cref="UnrelatedSide"/> with labels.</summary>
    public const string NearestOthers = "nearest other images";

    /// <summary><see cref="UnrelatedSide"/> without labels.</summary>
    public const string PairDistances = "pair distances";

    /// <summary>Share of positive pairs kept (0 when none were measured).</summary>
    public double PositiveShareKept => Positives == 0 ? 0 : (double)PositivesKept / Positives;

    /// <summary>Share of nearest non-neighbours admitted (0 when none were measured).</summary>
    public double NonNeighbourShareAdmitted => NonNeighbours == 0 ? 0 : (double)NonNeighboursAdmitted / NonNeighbours;
}

/// <summary>
/// Chooses OPTICS's radius (max_eps) from the model's own distances instead of a hand-set constant: the research's
/// 0.13 was tuned for its fine-tuned model, and under the pretrained backbone it clusters almost nothing (issue 11:
/// 8 of 418 images). The inputs are two distance samples of the same model: <i>positives</i>, the distances of pairs
/// that show one pattern (curated pairs, or an image and a synthetic derivation of it), and <i>non-neighbours</i>, each
/// image's distance to its nearest image that does not show its pattern. The radius separates the two.
/// </summary>
/// <remarks>
/// <para>With P = <see cref="RadiusCalibrationOptions.PositiveShare"/> of n positives and Q =
/// <see cref="RadiusCalibrationOptions.NonNeighbourShare"/> of m non-neighbours (distances counted as admitted when
/// ≤ the radius): <c>low</c> is the ⌈P·n⌉-th smallest positive distance, the smallest radius that keeps the target;
/// <c>high</c> is the (⌊Q·m⌋+1)-th smallest non-neighbour distance, the first radius that admits one too many (∞ when
/// ⌊Q·m⌋ = m). When low &lt; high every radius in [low, high) meets both targets, and the midpoint is chosen (∞: low
/// itself), the largest margin to both, like a maximum-margin threshold between two classes; it is rounded to the
/// resolution and moved by one step if rounding crossed either bound. When low ≥ high the distributions overlap and no
/// radius meets both: the cap on non-neighbours wins, because a radius that links unrelated images chains whole
/// clusters together (cluster precision falls for every family), while a missed positive only leaves one image out
/// (that family's recall falls). The radius is then the largest positive distance below high, and
/// <see cref="RadiusCalibrationResult.MeetsTargets"/> is false.</para>
/// <para>No radius is returned when there are no positives, or no positive lies below high (every synthetic copy is
/// farther than the nearest unrelated images: the model cannot tell them apart at any radius), or the chosen radius is
/// 0 (every positive at distance 0: nothing to separate).</para>
/// <para>In a collection without labels an image's nearest other image is often a true copy, not a non-neighbour:
/// <see cref="CalibrateWithoutLabels"/> takes the unrelated side from the bulk of the pair distances instead.</para>
/// </remarks>
public static class RadiusCalibration
{
    /// <summary>Calibrates the radius (see the remarks).</summary>
    /// <param name="positiveDistances">Cosine distances of positive pairs; NaN or negative values are refused.</param>
    /// <param name="nonNeighbourDistances">Each image's distance to its nearest non-neighbour.</param>
    /// <param name="options">Targets; default 0.9 of positives kept, at most 0.1 of non-neighbours admitted.</param>
    /// <exception cref="ArgumentException">A distance that is not a finite number ≥ 0.</exception>
    public static RadiusCalibrationResult Calibrate(IReadOnlyCollection<double> positiveDistances, IReadOnlyCollection<double> nonNeighbourDistances,
        RadiusCalibrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(positiveDistances);
        ArgumentNullException.ThrowIfNull(nonNeighbourDistances);
        options ??= new RadiusCalibrationOptions();
        options.Validate();
        var positives = Sorted(positiveDistances, nameof(positiveDistances));
        var others = Sorted(nonNeighbourDistances, nameof(nonNeighbourDistances));
        var (n, m) = (positives.Length, others.Length);
        if (n == 0)
        {
            return new RadiusCalibrationResult(null, 0, 0, 0, m, false, "no positive pairs to calibrate from");
        }

        var low = positives[Math.Max(1, (int)Math.Ceiling(options.PositiveShare * n - 1e-9)) - 1];
        var allowed = (int)Math.Floor(options.NonNeighbourShare * m + 1e-9);
        var high = allowed >= m ? double.PositiveInfinity : others[allowed];
        return Choose(positives, others, low, high, options,
            $"keeps ≥ {options.PositiveShare:P0} of positive pairs and admits ≤ {options.NonNeighbourShare:P0} of nearest non-neighbours",
            $"the distances overlap: no radius keeps {options.PositiveShare:P0} of positive pairs while admitting ≤ {options.NonNeighbourShare:P0} of nearest non-neighbours, so the cap on non-neighbours wins");
    }

    /// <summary>The radius between <paramref name="low"/> (the positives' limit) and <paramref name="high"/> (the
    /// unrelated side's), as the class remarks describe; the reasons are the caller's words for each outcome.</summary>
    private static RadiusCalibrationResult Choose(double[] positives, double[] others, double low, double high, RadiusCalibrationOptions options,
        string meetsReason, string overlapReason)
    {
        if (low < high)
        {
            var radius = Round(double.IsPositiveInfinity(high) ? low : (low + high) / 2, options.Resolution);
            if (radius < low)
            {
                radius += options.Resolution;
            }
            if (radius >= high)
            {
                radius -= options.Resolution;
            }
            // A resolution wider than the gap [low, high) cannot hold a rounded radius: keep the exact one.
            if (radius < low || radius >= high)
            {
                radius = low;
            }
            return radius <= 0
                ? Result(null, positives, others, false, "every positive pair is at distance 0: nothing to separate")
                : Result(radius, positives, others, true, meetsReason);
        }

        // Overlap: the largest positive distance below high (sorted, so the last one that is).
        var below = Array.FindLastIndex(positives, d => d < high);
        if (below < 0 || positives[below] <= 0)
        {
            return Result(null, positives, others, false,
                "every positive pair is at least as far apart as the nearest non-neighbours the cap allows: no radius separates them");
        }
        return Result(positives[below], positives, others, false, overlapReason);
    }

    /// <summary>
    /// Calibrates the radius for a collection without labels, where an image's nearest other image cannot stand in for
    /// its nearest non-neighbour (see the remarks): the limit on the unrelated side is extrapolated from the bulk of the
    /// collection's pair distances instead.
    /// </summary>
    /// <remarks>
    /// <para><b>Why not the nearest other image.</b> In a collection made of families of copies (a museum's prints after
    /// a painting, <c>motif sample</c>'s families) an image's nearest other image is usually a true copy, so the 10 %
    /// cap on "nearest non-neighbours" admitted drives the radius to the copies' own distances (0.008 on the sample:
    /// nothing clusters). True copies are, however, a small share of all <i>pairs</i>: an image with s − 1 copies among
    /// n images has s − 1 of its n − 1 pairs related, so the bulk of the pair distances describes unrelated images.</para>
    /// <para><b>The model.</b> The unrelated pair distance is taken as normal, located and scaled by the median and the
    /// upper quartile of the measured pair distances: μ = q50, σ = (q75 − q50) / Φ⁻¹(0.75). Copies only add small
    /// distances, so they move the upper quartile least (with 10 % of pairs related the median and upper quartile are
    /// the unrelated distribution's 45th and 73rd percentiles); the lower quartile would be dragged down by them. If
    /// an image's n − 1 unrelated distances were independent draws, the share of images whose nearest unrelated image is
    /// within r would be 1 − (1 − F(r))ⁿ⁻¹; setting it to <see cref="RadiusCalibrationOptions.NonNeighbourShare"/>
    /// gives the limit high = μ + σ Φ⁻¹(1 − (1 − Q)^(1/(n−1))). The positive side and the choice between
    /// <c>low</c> and high are <see cref="Calibrate"/>'s. The normal tail is an extrapolation: where the real lower tail
    /// is heavier, more unrelated images are linked than the target says, and the benchmark's cluster precision is the
    /// check.</para>
    /// </remarks>
    /// <param name="positiveDistances">Cosine distances of positive pairs (synthetic copies and their images).</param>
    /// <param name="pairDistances">Distances from sampled images to other images of the collection (identical pictures
    /// left out); fewer than 4 give no radius.</param>
    /// <param name="candidates">How many other images each image is compared with when clustering (the collection's size − 1).</param>
    /// <param name="options">Targets; default 0.9 of positives kept, at most 0.1 of images linked to an unrelated one.</param>
    /// <exception cref="ArgumentException">A distance that is not a finite number ≥ 0.</exception>
    public static RadiusCalibrationResult CalibrateWithoutLabels(IReadOnlyCollection<double> positiveDistances, IReadOnlyCollection<double> pairDistances,
        int candidates, RadiusCalibrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(positiveDistances);
        ArgumentNullException.ThrowIfNull(pairDistances);
        ArgumentOutOfRangeException.ThrowIfLessThan(candidates, 1);
        options ??= new RadiusCalibrationOptions();
        options.Validate();
        var positives = Sorted(positiveDistances, nameof(positiveDistances));
        var pairs = Sorted(pairDistances, nameof(pairDistances));
        if (positives.Length == 0)
        {
            return new RadiusCalibrationResult(null, 0, 0, 0, pairs.Length, false, "no positive pairs to calibrate from", RadiusCalibrationResult.PairDistances);
        }
        if (pairs.Length < MinimumPairs)
        {
            return new RadiusCalibrationResult(null, 0, positives.Length, 0, pairs.Length, false, $"{pairs.Length} pair distances are too few to fit",
                RadiusCalibrationResult.PairDistances);
        }
        var (median, upper) = (Quantile(pairs, 0.5), Quantile(pairs, 0.75));
        var sigma = (upper - median) / NormalQuantile(0.75);
        var perPair = 1 - Math.Pow(1 - options.NonNeighbourShare, 1.0 / candidates);
        var high = options.NonNeighbourShare >= 1 ? double.PositiveInfinity
            : perPair <= 0 ? 0
            : median + sigma * NormalQuantile(perPair);
        var low = positives[Math.Max(1, (int)Math.Ceiling(options.PositiveShare * positives.Length - 1e-9)) - 1];
        var fitted = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"unrelated pairs fitted from {pairs.Length} pair distances (median {median:0.000}, σ {sigma:0.000}; expected nearest-unrelated {options.NonNeighbourShare:P0} quantile {high:0.000} over {candidates} others)");
        return Choose(positives, pairs, low, high, options,
            $"keeps ≥ {options.PositiveShare:P0} of positive pairs below the {fitted}",
            $"the distances overlap: no radius keeps {options.PositiveShare:P0} of positive pairs below the {fitted}, so the unrelated side wins")
            with { UnrelatedSide = RadiusCalibrationResult.PairDistances };
    }

    /// <summary>Fewest pair distances <see cref="CalibrateWithoutLabels"/> fits: a median and an upper quartile need a
    /// few values between them (three images give six).</summary>
    private const int MinimumPairs = 4;

    /// <summary>Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation (relative error below 1.15e-9;
    /// P. J. Acklam, "An algorithm for computing the inverse normal cumulative distribution function", 2003).</summary>
    internal static double NormalQuantile(double p)
    {
        if (!(p is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "A probability in (0, 1).");
        }
        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low || p > 1 - low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p < low ? p : 1 - p));
            var x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
            return p < low ? x : -x;
        }
        var r = p - 0.5;
        var t = r * r;
        return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * r / (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
    }

    /// <summary>The linearly interpolated quantile of sorted values (type 7 of Hyndman &amp; Fan, 1996).</summary>
    private static double Quantile(double[] sorted, double p)
    {
        var h = (sorted.Length - 1) * p;
        var i = (int)Math.Floor(h);
        return i + 1 < sorted.Length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
    }

    private static RadiusCalibrationResult Result(double? radius, double[] positives, double[] others, bool meets, string reason)
    {
        var r = radius ?? -1;
        return new RadiusCalibrationResult(radius, CountAtMost(positives, r), positives.Length, CountAtMost(others, r), others.Length, meets, reason);
    }

    /// <summary>How many of the sorted <paramref name="values"/> are ≤ <paramref name="limit"/>.</summary>
    private static int CountAtMost(double[] values, double limit)
    {
        var (lo, hi) = (0, values.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] <= limit)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private static double Round(double value, double resolution) => Math.Round(Math.Round(value / resolution) * resolution, 12);

    private static double[] Sorted(IReadOnlyCollection<double> values, string parameterName)
    {
        var sorted = values.ToArray();
        foreach (var d in sorted)
        {
            if (!double.IsFinite(d) || d < 0)
            {
                throw new ArgumentException($"A distance must be a finite number ≥ 0, not {d}.", parameterName);
            }
        }
        Array.Sort(sorted);
        return sorted;
    }
}
