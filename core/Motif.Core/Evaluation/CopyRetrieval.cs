using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>Retrieval of originals from their synthetic copies: mean average precision, recall at 1 and 10, and the
/// mean margin by which the original beats the nearest wrong answer.</summary>
/// <param name="MeanAveragePrecision">Mean over the queries of 1 / (rank of the original).</param>
/// <param name="RecallAt1">Share of queries whose original ranks first.</param>
/// <param name="RecallAt10">Share of queries whose original ranks in the first ten.</param>
/// <param name="Queries">Copies ranked.</param>
/// <param name="MeanMargin">Mean over the queries of (distance to the nearest wrong answer − distance to the original):
/// positive when the original ranks first, and larger the clearer it wins. It still orders models whose mAP is the
/// same, e.g. 1.000 for both.</param>
public sealed record CopyRetrievalReport(double MeanAveragePrecision, double RecallAt1, double RecallAt10, int Queries, double MeanMargin);

/// <summary>
/// How well a model finds an image from a synthetic copy of it, in a collection that has no labels: the validation
/// measure of training without labels (issue 11, item 3). Each query is a copy of one image of the collection; the
/// collection and the copies of the other originals are ranked by cosine distance to the copy, and the one relevant
/// answer is the image it was made from.
/// </summary>
/// <remarks>
/// <para>With one relevant item, average precision is 1 / rank (Manning, Raghavan &amp; Schütze, <i>Introduction to
/// Information Retrieval</i>, 2008, §8.4), so mAP is the mean reciprocal rank of the originals. The rank is 1 + the
/// number of wrong answers strictly nearer to the copy than its original (ties go to the original, as a stable sort
/// by distance that lists the original first would).</para>
/// <para><b>Wrong answers</b> are the other images of the collection and every copy made from another original. The
/// copies are distractors because on a small collection (a few dozen images) one copy among the originals is found
/// first by any pretrained backbone: mAP 1.000 before training, which cannot choose an epoch. Copies of other images
/// are the hardest distractors there are without labels — two copies under the same derivation (two monochrome
/// prints, two details) look alike for reasons that are not the pattern, which is exactly what fine-tuning must
/// unlearn. Other copies of the query's own original are left out: they are neither right (the original is the answer)
/// nor wrong.</para>
/// <para>Other copies of the same pattern that the collection holds (unknown without labels) rank where they rank and
/// count against the original: the measure under-states retrieval in a collection of families, by the same amount
/// for every epoch, so it still orders epochs. The distances are <see cref="CosineRanking"/>'s, the one arithmetic
/// search and evaluation share.</para>
/// </remarks>
public static class CopyRetrieval
{
    /// <summary>Scores <paramref name="copies"/> against <paramref name="collection"/> and each other (see the remarks).</summary>
    /// <param name="collection">Row-major signatures of the collection, <paramref name="dimension"/> values a row.</param>
    /// <param name="copies">Row-major signatures of the copies, one row per entry of <paramref name="originals"/>.</param>
    /// <param name="originals">For each copy, the row of <paramref name="collection"/> it was made from.</param>
    /// <param name="dimension">Values per signature.</param>
    /// <exception cref="ArgumentException">The matrices do not hold whole rows, or an original's row is out of range.</exception>
    public static CopyRetrievalReport Evaluate(ReadOnlySpan<float> collection, ReadOnlySpan<float> copies, IReadOnlyList<int> originals, int dimension)
    {
        ArgumentNullException.ThrowIfNull(originals);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (collection.Length % dimension != 0 || copies.Length != originals.Count * dimension)
        {
            throw new ArgumentException($"Signatures of {dimension} values: {collection.Length} collection values and {copies.Length} for {originals.Count} copies.");
        }
        var n = collection.Length / dimension;
        if (originals.Count == 0)
        {
            return new CopyRetrievalReport(double.NaN, double.NaN, double.NaN, 0, double.NaN);
        }
        for (var q = 0; q < originals.Count; q++)
        {
            if (originals[q] < 0 || originals[q] >= n)
            {
                throw new ArgumentException($"Copy {q} names row {originals[q]} of a collection of {n}.", nameof(originals));
            }
        }
        var norms = new double[n];
        for (var r = 0; r < n; r++)
        {
            var row = collection.Slice(r * dimension, dimension);
            norms[r] = CosineRanking.Dot(row, row);
        }
        var copyNorms = new double[originals.Count];
        for (var c = 0; c < originals.Count; c++)
        {
            var row = copies.Slice(c * dimension, dimension);
            copyNorms[c] = CosineRanking.Dot(row, row);
        }
        var (sum, at1, at10, margins) = (0.0, 0, 0, 0.0);
        for (var q = 0; q < originals.Count; q++)
        {
            var original = originals[q];
            var copy = copies.Slice(q * dimension, dimension);
            var target = CosineRanking.Distance(copy, collection.Slice(original * dimension, dimension), copyNorms[q], norms[original]);
            var (rank, nearestWrong) = (1, double.PositiveInfinity);
            for (var r = 0; r < n; r++)
            {
                if (r != original)
                {
                    Count(CosineRanking.Distance(copy, collection.Slice(r * dimension, dimension), copyNorms[q], norms[r]));
                }
            }
            for (var c = 0; c < originals.Count; c++)
            {
                if (originals[c] != original)
                {
                    Count(CosineRanking.Distance(copy, copies.Slice(c * dimension, dimension), copyNorms[q], copyNorms[c]));
                }
            }
            sum += 1.0 / rank;
            at1 += rank == 1 ? 1 : 0;
            at10 += rank <= 10 ? 1 : 0;
            // A collection of one image with one copy has no wrong answer: no margin to win by, none to lose.
            margins += double.IsPositiveInfinity(nearestWrong) ? 0 : nearestWrong - target;

            void Count(double distance)
            {
                rank += distance < target ? 1 : 0;
                nearestWrong = Math.Min(nearestWrong, distance);
            }
        }
        var count = (double)originals.Count;
        return new CopyRetrievalReport(sum / count, at1 / count, at10 / count, originals.Count, margins / count);
    }
}
