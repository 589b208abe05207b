using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class MorphographEvaluationTests
{
    // Test component t1–t2–t3–t4 (t2 photographed twice: only "t2x" is signed; t4 is not signed at all), validation
    // component v1–v2, and "d", an image no curator connected. Signatures are unit vectors at these angles (degrees).
    private static readonly Morphograph Source = Morphograph.FromEdges(
    [
        new("t1", "t2", MorphographEdgeType.Positive), new("t2", "t3", MorphographEdgeType.Positive),
        new("t3", "t4", MorphographEdgeType.Positive), new("t2", "t2x", MorphographEdgeType.Duplicate),
        new("v1", "v2", MorphographEdgeType.Positive), new("t1", "d", MorphographEdgeType.Similar),
    ]);

    private static readonly (string Id, double Degrees)[] Rows =
        [("d", 52), ("t1", 0), ("t2x", 10), ("t3", 50), ("v1", 270), ("v2", 280)];

    private static readonly MorphographSplit Split = HandMade.Split(train: [], validation: ["v1", "v2"], test: ["t1", "t2", "t2x", "t3", "t4"]);

    private static float[] Signatures() => HandMade.OnTheCircle(Rows).Signatures;

    private static string[] Ids => HandMade.OnTheCircle(Rows).Ids;

    [Fact]
    public void Images_signed_with_details_are_ranked_by_their_nearest_whole_to_detail_pair()
    {
        // Each image's one detail is its whole, except t2x's, at 49°: t3's whole (50°) is 1° from it, d's (52°) 3°.
        var wholes = Signatures();
        var details = HandMade.OnTheCircle(Rows.Select(r => r.Id == "t2x" ? (r.Id, 49.0) : r)).Signatures;
        var signatures = Enumerable.Range(0, Ids.Length).SelectMany(i => wholes.Skip(2 * i).Take(2).Concat(details.Skip(2 * i).Take(2))).ToArray();

        var report = MorphographEvaluation.Evaluate(MorphographDuplicates.Of(Source), Split, SplitPart.Test, signatures, Ids, parts: 2);

        // t1 (0°): t2 10 → AP 1. t2: t3 1, d 3, t1 10 → relevant t3, t1 at 1, 3: AP (1 + 2/3)/2. t3: t2 1, d 2 → AP 1
        // (by wholes alone, t3 found t2 second: the first test's AP 1/2).
        Assert.Equal([[1], [1, 3], [1]], report.Retrieval.Queries.Select(q => q.RetrievedRanks));
        Assert.Equal((1 + (1 + 2.0 / 3) / 2 + 1) / 3, report.Retrieval.MeanAveragePrecision, 12);
        // Triplets measure the same distances: t2→t3 is 1° apart.
        Assert.Equal(1.0, report.Verification!.TripletAccuracy);
    }

    [Fact]
    public void The_test_part_is_scored_on_artworks_with_duplicates_folded()
    {
        var labels = new Dictionary<string, int> { ["t1"] = 0, ["t2x"] = 0, ["d"] = 0, ["t3"] = 1, ["v1"] = 2, ["v2"] = 2 };
        var report = MorphographEvaluation.Evaluate(MorphographDuplicates.Of(Source), Split, SplitPart.Test, Signatures(), Ids, labels);

        // Queries t1, t2 (through t2x), t3; t4 has no signature. Gallery: d, t1, t2, t3, v1, v2.
        Assert.Equal(3, report.QueryImages);
        Assert.Equal(1, report.ImagesWithoutSignature);
        Assert.Equal(6, report.GallerySize);
        // t1 (0°): t2 10, t3 50, d 52, v2 80, v1 90 → relevant t2 at 1: AP 1.
        // t2 (10°): t1 10, t3 40, d 42, … → relevant t1, t3 at 1, 2: AP 1.
        // t3 (50°): d 2, t2 40, t1 50, … → relevant t2 (t4 is not in the gallery) at 2: AP 1/2.
        Assert.Equal(["t1", "t2", "t3"], report.Retrieval.Queries.Select(q => q.QueryId));
        Assert.Equal([[1], [1, 2], [2]], report.Retrieval.Queries.Select(q => q.RetrievedRanks));
        Assert.Equal(2.5 / 3, report.Retrieval.MeanAveragePrecision, 12);
        Assert.Equal((1 + 0.5 + 0) / 3, report.Retrieval.RecallAtK[0].Recall, 12);
        Assert.Equal(2.0 / 3, report.Retrieval.PrecisionAtK[0].Precision, 12);
        Assert.Equal(1.5, report.Retrieval.MeanRank, 12);
        Assert.Equal(3, report.SeedCompatible.QueryCount);

        // Component t1–t4: cluster 0 holds t1 and t2 (t2x's label) and d → precision (2 − 1)/(3 − 1), recall 2/4.
        var component = Assert.Single(report.Clusters!.Components);
        Assert.Equal(4, component.ComponentSize);
        Assert.Equal(0.5, component.Precision);
        Assert.Equal(0.5, component.Recall);

        // Triplets t1→t2 (10°) and t2→t3 (40°); every possible negative (d, v1, v2) is farther from its anchor.
        Assert.Equal(2, report.Verification!.TripletCount);
        Assert.Equal(1.0, report.Verification.TripletAccuracy);
        Assert.Equal(1.0, report.Verification.RocAuc);
        // Calibrated on validation's one triplet v1→v2 (10°) against a negative ≥ 90° away.
        Assert.Equal(SplitPart.Validation, report.CalibrationPart);
        Assert.InRange(report.Threshold!.Threshold, 1 - Math.Cos(10 * Math.PI / 180), 1 - Math.Cos(90 * Math.PI / 180));
        Assert.Equal(1.0, report.Threshold.CalibrationAccuracy);
    }

    [Fact]
    public void The_validation_part_calibrates_on_training_and_the_draw_is_seeded()
    {
        var duplicates = MorphographDuplicates.Of(Source);
        var report = MorphographEvaluation.Evaluate(duplicates, Split, SplitPart.Validation, Signatures(), Ids);

        Assert.Equal(2, report.QueryImages);
        Assert.Null(report.Clusters);
        // No training triplet: calibrated on the evaluated ones, and said so.
        Assert.Null(report.CalibrationPart);
        Assert.Equal(1, report.Verification!.TripletCount);

        var again = MorphographEvaluation.Evaluate(duplicates, Split, SplitPart.Test, Signatures(), Ids, seed: 7);
        Assert.Equal(again.Verification, MorphographEvaluation.Evaluate(duplicates, Split, SplitPart.Test, Signatures(), Ids, seed: 7).Verification);
        // Every part at once: all five signed artworks with a part.
        Assert.Equal(5, MorphographEvaluation.Evaluate(duplicates, Split, null, Signatures(), Ids).QueryImages);
    }
}
