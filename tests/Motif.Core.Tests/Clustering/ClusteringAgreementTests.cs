using Motif.Core.Clustering;

namespace Motif.Core.Tests.Clustering;

public sealed class ClusteringAgreementTests
{
    // Values from scikit-learn 1.2's adjusted_rand_score documentation and direct calls.
    [Theory]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 0, 1, 1 }, 1.0)]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 1, 1, 0, 0 }, 1.0)]
    [InlineData(new[] { 0, 0, 1, 2 }, new[] { 0, 0, 1, 1 }, 0.5714285714285714)]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 0, 1, 2 }, 0.5714285714285714)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 0, 1, 2, 3 }, 0.0)]
    [InlineData(new[] { 0, 0, 1, 1 }, new[] { 0, 1, 0, 1 }, -0.5)]
    [InlineData(new[] { -1, -1, 0, 0, 1 }, new[] { 5, 5, 7, 7, 9 }, 1.0)]
    public void Matches_scikit_learn(int[] a, int[] b, double expected) =>
        Assert.Equal(expected, ClusteringAgreement.AdjustedRandIndex(a, b), 12);
}
