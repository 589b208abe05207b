using Motif.Core.Clustering;

namespace Motif.Core.Tests.Clustering;

public sealed class RadiusCalibrationTests
{
    // Ten positives 0.01…0.10 and ten non-neighbours 0.30…0.39: low is the 9th positive (0.09), high the 2nd
    // non-neighbour (0.31, since one in ten may be admitted); the midpoint is 0.20.
    private static readonly double[] Positives = [.. Enumerable.Range(1, 10).Select(i => i / 100.0)];
    private static readonly double[] Separate = [.. Enumerable.Range(0, 10).Select(i => 0.30 + i / 100.0)];

    [Fact]
    public void Separated_distances_give_the_midpoint_between_the_two_targets()
    {
        var result = RadiusCalibration.Calibrate(Positives, Separate);

        Assert.Equal(0.2, result.Radius!.Value, 12);
        Assert.True(result.MeetsTargets);
        Assert.Equal((10, 10, 0, 10), (result.PositivesKept, result.Positives, result.NonNeighboursAdmitted, result.NonNeighbours));
    }

    [Fact]
    public void The_radius_keeps_the_target_share_and_admits_no_more_than_the_cap()
    {
        // Positives 0.05 ×8, 0.12 and an outlier at 0.5: low is the 9th, 0.12. One non-neighbour of ten may be
        // admitted, so high is the 2nd, 0.25. Midpoint 0.185.
        double[] positives = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.12, 0.5];
        double[] others = [0.2, 0.25, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3];

        var result = RadiusCalibration.Calibrate(positives, others);

        Assert.Equal(0.185, result.Radius!.Value, 12);
        Assert.Equal(9, result.PositivesKept);
        Assert.Equal(0, result.NonNeighboursAdmitted);   // 0.2 would be allowed, but the margin puts the radius below it
        Assert.True(result.PositiveShareKept >= 0.9);
        Assert.True(result.NonNeighbourShareAdmitted <= 0.1);
    }

    [Fact]
    public void Overlapping_distances_let_the_non_neighbour_cap_win()
    {
        // Positives 0.01…0.10, non-neighbours 0.04…0.13: high = 0.05 (the 2nd), so the radius is the largest
        // positive below it, 0.04, keeping 4 of 10 and admitting the one allowed non-neighbour.
        double[] others = [.. Enumerable.Range(4, 10).Select(i => i / 100.0)];

        var result = RadiusCalibration.Calibrate(Positives, others);

        Assert.False(result.MeetsTargets);
        Assert.Equal(0.04, result.Radius!.Value, 12);
        Assert.Equal((4, 1), (result.PositivesKept, result.NonNeighboursAdmitted));
        Assert.Contains("overlap", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void No_positives_give_no_radius()
    {
        var result = RadiusCalibration.Calibrate([], Separate);

        Assert.Null(result.Radius);
        Assert.Equal((0, 10), (result.Positives, result.NonNeighbours));
        Assert.False(result.MeetsTargets);
    }

    [Fact]
    public void Positives_all_beyond_the_non_neighbours_give_no_radius()
    {
        var result = RadiusCalibration.Calibrate([0.5, 0.6], [0.1, 0.2, 0.3]);

        Assert.Null(result.Radius);
        Assert.Contains("no radius separates", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Identical_distances_everywhere_give_no_radius()
    {
        double[] same = [0.3, 0.3, 0.3, 0.3];

        Assert.Null(RadiusCalibration.Calibrate(same, same).Radius);
    }

    [Fact]
    public void Without_non_neighbours_the_radius_is_the_positive_target()
    {
        // A collection of one image has no nearest other image: only the positives decide (the 9th of ten).
        var result = RadiusCalibration.Calibrate(Positives, []);

        Assert.Equal(0.09, result.Radius!.Value, 12);
        Assert.True(result.MeetsTargets);
        Assert.Equal((9, 0, 0), (result.PositivesKept, result.NonNeighboursAdmitted, result.NonNeighbours));
    }

    [Fact]
    public void Positives_at_distance_zero_give_no_radius()
    {
        Assert.Null(RadiusCalibration.Calibrate([0.0, 0.0, 0.0], []).Radius);
    }

    [Fact]
    public void The_radius_is_rounded_to_the_resolution_and_stays_inside_the_gap()
    {
        // low = 0.1004, high = 0.1006: the midpoint 0.1005 rounds to 0.101 (≥ high) and 0.100 (< low) at 0.001, so no
        // rounded radius fits the gap and the exact low is kept.
        var result = RadiusCalibration.Calibrate([0.1004], [0.1006]);

        Assert.Equal(0.1004, result.Radius!.Value, 12);
        Assert.True(result.MeetsTargets);
        Assert.Equal(0.123, RadiusCalibration.Calibrate([0.1], [0.14612]).Radius!.Value, 12);
    }

    [Fact]
    public void Bad_distances_and_targets_are_refused()
    {
        Assert.Throws<ArgumentException>(() => RadiusCalibration.Calibrate([double.NaN], []));
        Assert.Throws<ArgumentException>(() => RadiusCalibration.Calibrate([0.1], [-0.2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RadiusCalibration.Calibrate([0.1], [], new RadiusCalibrationOptions(PositiveShare: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => RadiusCalibration.Calibrate([0.1], [], new RadiusCalibrationOptions(NonNeighbourShare: 1.5)));
    }

    [Fact]
    public void The_order_of_the_input_does_not_matter()
    {
        var reversed = RadiusCalibration.Calibrate([.. Positives.Reverse()], [.. Separate.Reverse()]);

        Assert.Equal(RadiusCalibration.Calibrate(Positives, Separate), reversed);
    }

    // Without labels. Distances are drawn deterministically: the normal's quantiles at (i + 0.5) / n.
    private static double[] Normal(double mean, double sigma, int n) =>
        [.. Enumerable.Range(0, n).Select(i => mean + sigma * RadiusCalibration.NormalQuantile((i + 0.5) / n))];

    private static double[] Uniform(double from, double to, int n) => [.. Enumerable.Range(0, n).Select(i => from + (to - from) * (i + 0.5) / n)];

    [Fact]
    public void Without_labels_a_collection_made_mostly_of_copies_still_gets_a_radius_between_its_copies_and_unrelated_images()
    {
        // 55 images in families of five to six, as motif sample makes them: every image's nearest other image is a copy
        // (0.05-0.30 away), unrelated images are 0.6 ± 0.08 apart. 10 % of an image's pairs are copies.
        var positives = Uniform(0.05, 0.30, 64);
        var nearestOthers = Uniform(0.02, 0.25, 55);
        var pairs = Normal(0.6, 0.08, 1300).Concat(Uniform(0.05, 0.30, 140)).ToArray();

        // The nearest-other-image method collapses: its 10 % cap sits among the copies.
        var old = RadiusCalibration.Calibrate(positives, nearestOthers);
        Assert.True(old.Radius is null or < 0.1, $"{old.Radius}");

        var result = RadiusCalibration.CalibrateWithoutLabels(positives, pairs, candidates: 54);

        // low is the positives' 90 % point (0.275); the unrelated limit is μ − 2.89 σ ≈ 0.37 (the median and quartile
        // are moved a little by the copies). The radius is the midpoint, about 0.32.
        Assert.True(result.MeetsTargets, result.Reason);
        Assert.InRange(result.Radius!.Value, 0.29, 0.35);
        Assert.True(result.PositiveShareKept >= 0.9);
        Assert.Contains("fitted from 1440 pair distances", result.Reason);
    }

    [Fact]
    public void Without_labels_the_copies_barely_move_the_radius_and_a_larger_collection_gets_a_smaller_one()
    {
        var positives = Uniform(0.05, 0.30, 64);
        var unrelated = Normal(0.6, 0.08, 1300);
        var withCopies = unrelated.Concat(Uniform(0.05, 0.30, 140)).ToArray();

        var clean = RadiusCalibration.CalibrateWithoutLabels(positives, unrelated, candidates: 54).Radius!.Value;
        var polluted = RadiusCalibration.CalibrateWithoutLabels(positives, withCopies, candidates: 54).Radius!.Value;
        // Exactly: high = 0.6 − 0.08 × 2.886 = 0.369, radius = (0.275 + 0.369) / 2 ≈ 0.322.
        Assert.Equal(0.322, clean, 3);
        Assert.InRange(polluted, clean - 0.015, clean);

        // Among 10,000 images each has far more unrelated candidates: the nearest of them is nearer, so is the limit.
        var large = RadiusCalibration.CalibrateWithoutLabels(positives, unrelated, candidates: 9999);
        Assert.True(large.Radius < clean, $"{large.Radius} vs {clean}");
    }

    [Fact]
    public void Without_labels_overlap_lets_the_unrelated_side_win_and_too_few_pairs_give_no_radius()
    {
        // Copies as far apart as unrelated images' lower tail: the radius stays below the fitted limit.
        var positives = Uniform(0.2, 0.6, 50);
        var result = RadiusCalibration.CalibrateWithoutLabels(positives, Normal(0.6, 0.08, 1000), candidates: 999);
        Assert.False(result.MeetsTargets);
        Assert.True(result.Radius < 0.6 - 0.08 * 3.3, $"{result.Radius}");
        Assert.Contains("the unrelated side wins", result.Reason);

        Assert.Null(RadiusCalibration.CalibrateWithoutLabels(positives, [0.5, 0.6], candidates: 2).Radius);
        Assert.Null(RadiusCalibration.CalibrateWithoutLabels([], Normal(0.6, 0.08, 100), candidates: 99).Radius);
        Assert.Throws<ArgumentException>(() => RadiusCalibration.CalibrateWithoutLabels([0.1], [double.NaN], candidates: 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => RadiusCalibration.CalibrateWithoutLabels([0.1], [0.5], candidates: 0));
    }

    [Fact]
    public void The_normal_quantile_matches_tabulated_values()
    {
        // Acklam's approximation is good to about 1e-9 relative: seven decimals.
        Assert.Equal(0, RadiusCalibration.NormalQuantile(0.5), 9);
        Assert.Equal(0.674489750, RadiusCalibration.NormalQuantile(0.75), 7);
        Assert.Equal(-1.959963985, RadiusCalibration.NormalQuantile(0.025), 7);
        Assert.Equal(-3.090232306, RadiusCalibration.NormalQuantile(0.001), 7);
        Assert.Equal(-4.264890794, RadiusCalibration.NormalQuantile(1e-5), 6);
    }
}
