using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>Retrieval of originals from their synthetic copies: mean average precision and recall at 1 and 10.</summary>
/// <param name="MeanAveragePrecision">Mean over the queries of 1 / (rank of the original).</param>
/// <param name="RecallAt1">Share of queries whose original ranks first.</param>
/// <param name="RecallAt10">Share of queries whose original ranks in the first ten.</param>
/// <param name="Queries">Copies ranked.</param>
public sealed record CopyRetrievalReport(double MeanAveragePrecision, double RecallAt1, double RecallAt10, int Queries);

/// <summary>
/// How well a model finds an image from a synthetic copy of it, in a collection that has no labels: the validation
/// measure of training without labels (issue 11, item 3). Each query is a copy of one image of the collection; the
/// collection is ranked by cosine distance to the copy and the one relevant answer is the image it was made from.
/// </summary>
/// <remarks>
/// <para>With one relevant item, average precision is 1 / rank (Manning, Raghavan &amp; Schütze, <i>Introduction to
/// Information Retrieval</i>, 2008, §8.4), so mAP is the mean reciprocal rank of the originals. The rank is 1 + the
/// number of other images strictly nearer to the copy than its original (ties go to the original, as a stable sort
/// by distance that lists the original first would).</para>
/// <para>Other copies of the same pattern that the collection holds (unknown without labels) rank where they rank and
/// count against the original: the measure under-states retrieval in a collection of families, by the same amount
/// for every epoch, so it still orders epochs. The distances are <see cref="CosineRanking"/>'s, the one arithmetic
/// search and evaluation share.</para>
/// </remarks>
public static class CopyRetrieval
{
    /// <summary>Scores <paramref name="copies"/> against <paramref name="collection"/> (see the remarks).</summary>
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
            return new CopyRetrievalReport(double.NaN, double.NaN, double.NaN, 0);
        }
        var norms = new double[n];
        for (var r = 0; r < n; r++)
        {
            var row = collection.Slice(r * dimension, dimension);
            norms[r] = CosineRanking.Dot(row, row);
        }
        var (sum, at1, at10) = (0.0, 0, 0);
        for (var q = 0; q < originals.Count; q++)
        {
            var original = originals[q];
            if (original < 0 || original >= n)
            {
                throw new ArgumentException($"Copy {q} names row {original} of a collection of {n}.", nameof(originals));
            }
            var copy = copies.Slice(q * dimension, dimension);
            var copyNorm = CosineRanking.Dot(copy, copy);
            var target = CosineRanking.Distance(copy, collection.Slice(original * dimension, dimension), copyNorm, norms[original]);
            var rank = 1;
            for (var r = 0; r < n; r++)
            {
                if (r != original && CosineRanking.Distance(copy, collection.Slice(r * dimension, dimension), copyNorm, norms[r]) < target)
                {
                    rank++;
                }
            }
            sum += 1.0 / rank;
            at1 += rank == 1 ? 1 : 0;
            at10 += rank <= 10 ? 1 : 0;
        }
        var count = (double)originals.Count;
        return new CopyRetrievalReport(sum / count, at1 / count, at10 / count, originals.Count);
    }
}
