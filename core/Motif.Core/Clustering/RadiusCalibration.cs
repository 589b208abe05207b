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
public sealed record RadiusCalibrationResult(
    double? Radius, int PositivesKept, int Positives, int NonNeighboursAdmitted, int NonNeighbours, bool MeetsTargets, string Reason)
{
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
/// <para>In a collection without labels an image's nearest non-identical image stands in for its nearest
/// non-neighbour. Where the collection holds true copies some of those are in fact neighbours, so the admitted share
/// is an over-estimate and the radius errs small, on the side of precision.</para>
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
                : Result(radius, positives, others, true,
                    $"keeps ≥ {options.PositiveShare:P0} of positive pairs and admits ≤ {options.NonNeighbourShare:P0} of nearest non-neighbours");
        }

        // Overlap: the largest positive distance below high (sorted, so the last one that is).
        var below = Array.FindLastIndex(positives, d => d < high);
        if (below < 0 || positives[below] <= 0)
        {
            return Result(null, positives, others, false,
                "every positive pair is at least as far apart as the nearest non-neighbours the cap allows: no radius separates them");
        }
        return Result(positives[below], positives, others, false,
            $"the distances overlap: no radius keeps {options.PositiveShare:P0} of positive pairs while admitting ≤ {options.NonNeighbourShare:P0} of nearest non-neighbours, so the cap on non-neighbours wins");
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
