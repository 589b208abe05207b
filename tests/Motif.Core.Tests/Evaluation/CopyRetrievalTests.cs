using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class CopyRetrievalTests
{
    [Fact]
    public void Each_copy_scores_one_over_the_rank_of_its_original()
    {
        // Four images on the unit circle at 0°, 30°, 90° and 180°.
        float[] collection = [1, 0, 0.8660254f, 0.5f, 0, 1, -1, 0];
        // Copy of image 0 at 10° (its original ranks first); copy of image 2 at 50° (image 1 at 30° is nearer: rank 2);
        // copy of image 3 at 100° (80° from it; image 2 is 10° away and image 1 70°, image 0 100°: rank 3).
        float[] copies = [Cos(10), Sin(10), Cos(50), Sin(50), Cos(100), Sin(100)];

        var report = CopyRetrieval.Evaluate(collection, copies, [0, 2, 3], 2);

        Assert.Equal(3, report.Queries);
        Assert.Equal((1 + 0.5 + 1.0 / 3) / 3, report.MeanAveragePrecision, 12);
        Assert.Equal(1.0 / 3, report.RecallAt1, 12);
        Assert.Equal(1.0, report.RecallAt10, 12);
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
}
