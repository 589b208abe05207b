using Motif.Core.Layout;

namespace Motif.Core.Tests.Layout;

public sealed class TrustworthinessTests
{
    // Six unit vectors at 0°, 10°, 25°, 45°, 70° and 100° (cosine distance grows with the angle between them), laid out
    // on a line at their angles except that the first and last swap places. Worked by hand, with k = 1:
    // p0 (at 100) lands next to p4, its 4th nearest: 4 − 1 = 3; p1 (at 10) next to p5, its 5th: 4; p5 (at 0) next to
    // p1, its 4th: 3; the others' embedded neighbours are their nearest. T = 1 − 10 · 2 / (6·1·(12 − 3 − 1)) = 7/12.
    // With k = 2 the penalties are 3 (p0: ranks 4, 3), 3 (p1: 5, 2), 3 (p4: 1, 5), 3 (p5: 4, 3): T = 1 − 12 · 2 / 60.
    // scikit-learn 1.2's trustworthiness(X, E, n_neighbors=k, metric="cosine") prints 0.5833333333333334 and 0.6.
    [Theory]
    [InlineData(1, 7.0 / 12)]
    [InlineData(2, 0.6)]
    public void Matches_the_hand_worked_example(int k, double expected)
    {
        double[] angles = [0, 10, 25, 45, 70, 100];
        var signatures = angles.SelectMany(a => new[] { (float)Math.Cos(a * Math.PI / 180), (float)Math.Sin(a * Math.PI / 180) }).ToArray();
        double[] placed = [100, 10, 25, 45, 70, 0];
        var embedding = placed.Select(x => new MapPoint(x, 0)).ToArray();

        Assert.Equal(expected, Trustworthiness.Compute(signatures, 2, embedding, k), 12);
    }

    [Fact]
    public void Is_one_when_the_embedding_keeps_every_neighbourhood()
    {
        double[] angles = [0, 10, 25, 45, 70, 100];
        var signatures = angles.SelectMany(a => new[] { (float)Math.Cos(a * Math.PI / 180), (float)Math.Sin(a * Math.PI / 180) }).ToArray();
        var embedding = angles.Select(a => new MapPoint(a, 0)).ToArray();

        Assert.Equal(1.0, Trustworthiness.Compute(signatures, 2, embedding, 2), 12);
    }

    [Fact]
    public void Refuses_k_of_half_the_points_or_more()
    {
        var signatures = new float[] { 1, 0, 0, 1, 1, 1, -1, 0 };
        var embedding = new MapPoint[] { new(0, 0), new(1, 0), new(2, 0), new(3, 0) };

        Assert.Throws<ArgumentException>(() => Trustworthiness.Compute(signatures, 2, embedding, 2));
    }
}
