using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class CopyRetrievalTests
{
    [Fact]
    public void Each_copy_scores_one_over_the_rank_of_its_original_among_the_collection_and_the_other_originals_copies()
    {
        // Four images on the unit circle at 0°, 30°, 90° and 180°.
        float[] collection = [1, 0, Cos(30), Sin(30), 0, 1, -1, 0];
        // Copy of image 0 at 10°: its original is nearest (image 1 is 20° away): rank 1.
        // Copy of image 2 at 55° (35° from it): image 1 at 25° is nearer, the copies at 10° and 100° are 45° away: rank 2.
        // Copy of image 3 at 100° (80° from it): image 2 (10°), image 1 (70°) and the copy at 55° (45°) are nearer: rank 4,
        // where it would be 3 among the images alone.
        float[] copies = [Cos(10), Sin(10), Cos(55), Sin(55), Cos(100), Sin(100)];

        var report = CopyRetrieval.Evaluate(collection, copies, [0, 2, 3], 2);

        Assert.Equal(3, report.Queries);
        Assert.Equal((1 + 0.5 + 0.25) / 3, report.MeanAveragePrecision, 12);
        Assert.Equal(1.0 / 3, report.RecallAt1, 12);
        Assert.Equal(1.0, report.RecallAt10, 12);
        // Nearest wrong answer minus the original's distance, cosine distance 1 − cos: +(20° − 10°), −(35° − 25°), −(80° − 10°).
        Assert.Equal(((D(20) - D(10)) + (D(25) - D(35)) + (D(10) - D(80))) / 3, report.MeanMargin, 6);
    }

    [Fact]
    public void Other_copies_of_the_same_original_are_not_wrong_answers()
    {
        float[] collection = [1, 0, 0, 1];
        // Two copies of image 0, at 40° and 5°: the one at 40° is 35° from the other copy but 40° from its original,
        // which still ranks first because image 1 is 50° away and its sibling copy does not count.
        var report = CopyRetrieval.Evaluate(collection, [Cos(40), Sin(40), Cos(5), Sin(5)], [0, 0], 2);

        Assert.Equal(1.0, report.MeanAveragePrecision, 12);
        Assert.Equal(((D(50) - D(40)) + (D(85) - D(5))) / 2, report.MeanMargin, 6);
    }

    [Fact]
    public void A_model_that_separates_the_original_more_clearly_has_the_larger_margin_at_the_same_map()
    {
        float[] collection = [1, 0, 0, 1];
        var close = CopyRetrieval.Evaluate(collection, [Cos(30), Sin(30)], [0], 2);
        var clear = CopyRetrieval.Evaluate(collection, [Cos(10), Sin(10)], [0], 2);

        Assert.Equal(close.MeanAveragePrecision, clear.MeanAveragePrecision);
        Assert.True(clear.MeanMargin > close.MeanMargin);
    }

    [Fact]
    public void A_tie_with_another_image_goes_to_the_original_and_bad_shapes_are_refused()
    {
        float[] collection = [1, 0, 1, 0];
        Assert.Equal(1.0, CopyRetrieval.Evaluate(collection, [1, 0], [1], 2).MeanAveragePrecision);
        Assert.Equal(0, CopyRetrieval.Evaluate(collection, [], [], 2).Queries);
        Assert.Throws<ArgumentException>(() => CopyRetrieval.Evaluate(collection, [1, 0], [2], 2));
        Assert.Throws<ArgumentException>(() => CopyRetrieval.Evaluate(collection, [1, 0, 0], [0], 2));
    }

    private static float Cos(double degrees) => (float)Math.Cos(degrees * Math.PI / 180);

    private static float Sin(double degrees) => (float)Math.Sin(degrees * Math.PI / 180);

    private static double D(double degrees) => 1 - Math.Cos(degrees * Math.PI / 180);
}
