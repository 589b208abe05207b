using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class TripletVerificationTests
{
    // Four triplets (anchor–positive, anchor–negative): right, wrong, a tie, right.
    private static readonly TripletDistances[] Triplets = [new(0.1, 0.4), new(0.3, 0.2), new(0.2, 0.2), new(0.5, 0.9)];

    [Fact]
    public void Triplet_accuracy_and_exact_auc_match_a_hand_computed_example()
    {
        var report = TripletVerification.Evaluate(Triplets, threshold: 0.15);

        // Right, wrong, ½, right.
        Assert.Equal(2.5 / 4, report.TripletAccuracy, 12);
        // Same {0.1, 0.3, 0.2, 0.5} against different {0.4, 0.2, 0.2, 0.9}, pairs where same < different (ties ½):
        // 0.1 → 4; 0.3 → 2; 0.2 → 1 + ½ + ½ + 1 = 3; 0.5 → 1. 10 of 16.
        Assert.Equal(10.0 / 16, report.RocAuc, 12);
        // At 0.15: "same" is only 0.1 (a positive): TPR 1/4, FPR 0; pairs right 1 + 4 of 8.
        Assert.Equal(0.25, report.TruePositiveRate);
        Assert.Equal(0.0, report.FalsePositiveRate);
        Assert.Equal(5.0 / 8, report.PairAccuracy, 12);
        Assert.Equal(4, report.TripletCount);
    }

    [Fact]
    public void The_seed_compatible_auc_is_the_originals_grid_and_is_optimistic()
    {
        // t = 0 (0, 0); 0.1 (0, .25); 0.2 (0, .5); 0.3 (.5, .75); 0.4 (.5, .75): different < 0.4 is only the 0.2s;
        // 0.5 (.75, 1); 0.6 … 0.8 (.75, 1); 0.9 (1, 1), as 9 × 0.1 > 0.9. Trapezoids: .5 × .625 + .25 × .875 + .25 × 1.
        var report = TripletVerification.Evaluate(Triplets, threshold: 0.15);
        Assert.Equal(0.5 * 0.625 + 0.25 * 0.875 + 0.25, report.SeedGridRocAuc, 12);
        Assert.True(report.SeedGridRocAuc > report.RocAuc);
    }

    [Fact]
    public void Calibration_picks_the_lowest_threshold_that_classifies_most_pairs()
    {
        // Pairs right ("same" when d ≤ t): below 0.1 → 4 of 8; [0.1, 0.2) → 5; [0.2, 0.3) → 4; [0.3, 0.4) → 5;
        // [0.4, 0.5) → 4; [0.5, 0.9) → 5; from 0.9 → 4. The lowest best interval's midpoint is 0.15.
        var calibrated = TripletVerification.Calibrate(Triplets);
        Assert.Equal(0.15, calibrated.Threshold, 12);
        Assert.Equal(5.0 / 8, calibrated.CalibrationAccuracy, 12);

        // Perfectly separated: the threshold falls between the classes and classifies everything.
        var separated = TripletVerification.Calibrate([new(0.1, 0.7), new(0.2, 0.6), new(0.3, 0.5)]);
        Assert.Equal(0.4, separated.Threshold, 12);
        Assert.Equal(1.0, separated.CalibrationAccuracy);
        // All inverted: calling everything "different" is best, a threshold below every distance.
        var inverted = TripletVerification.Calibrate([new(0.9, 0.1)]);
        Assert.True(inverted.Threshold < 0.1);
        Assert.Equal(0.5, inverted.CalibrationAccuracy);
    }

    [Fact]
    public void Exact_auc_equals_the_pair_count_on_random_data()
    {
        var random = new Random(4);
        // Distances on a grid of 20 values: many ties.
        double[] same = [.. Enumerable.Range(0, 57).Select(_ => random.Next(20) / 10.0)];
        double[] different = [.. Enumerable.Range(0, 43).Select(_ => random.Next(20) / 10.0)];
        var pairs = same.Sum(s => different.Sum(d => s < d ? 1.0 : s == d ? 0.5 : 0.0));
        Assert.Equal(pairs / (57 * 43), TripletVerification.RocAuc(same, different), 12);
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => TripletVerification.Calibrate([]));
        Assert.Throws<ArgumentException>(() => TripletVerification.Evaluate([new(double.NaN, 0.2)], 0.1));
        Assert.Throws<ArgumentException>(() => TripletVerification.RocAuc([0.1], []));
    }
}
