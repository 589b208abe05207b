using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>Every figure of one model's signatures against a morphograph (see <see cref="MorphographEvaluation"/>).</summary>
/// <param name="Part">The split part whose images are the queries, or null for every image with a part.</param>
/// <param name="QueryImages">Artworks of that part (canonical ids) with a signature.</param>
/// <param name="ImagesWithoutSignature">Artworks of that part with no signed photograph: not evaluated.</param>
/// <param name="GallerySize">Artworks ranked against each query: the collection, duplicates folded.</param>
/// <param name="Retrieval">Standard mAP, recall@k, precision@k, mean and median rank.</param>
/// <param name="SeedCompatible">The same, as the research's code computed them.</param>
/// <param name="Clusters">Per-component cluster precision and recall, or null when no labelling was given.</param>
/// <param name="Verification">Triplet accuracy, ROC AUC and pair figures at <see cref="Threshold"/>, or null when the
/// part has no positive pair with a possible negative.</param>
/// <param name="Threshold">The same/different threshold applied to <see cref="Verification"/>.</param>
/// <param name="CalibrationPart">The part the threshold was calibrated on; null when it had no triplet and the
/// threshold was calibrated on the evaluated triplets themselves (an optimistic, in-sample figure).</param>
public sealed record MorphographEvaluationReport(
    SplitPart? Part,
    int QueryImages,
    int ImagesWithoutSignature,
    int GallerySize,
    RetrievalReport Retrieval,
    SeedCompatibleRetrievalReport SeedCompatible,
    ClusterReport? Clusters,
    TripletVerificationReport? Verification,
    SameDifferentThreshold? Threshold,
    SplitPart? CalibrationPart);

/// <summary>
/// A model's signatures scored against the merged morphograph on one part of its frozen split: the figures
/// <c>motif evaluate</c> prints and the training loop will record per epoch.
/// </summary>
/// <remarks>
/// <para><b>Artworks, not photographs.</b> Evaluation works on <see cref="MorphographDuplicates.Merged"/>: each
/// DUPLICATE group is one artwork under its canonical id. An artwork's signature is that of the ordinally first member
/// of its group that has one, so an artwork photographed twice of which only one photograph is signed is still
/// evaluated, with that photograph. Every ranking is folded with <see cref="MorphographDuplicates.CanonicalRanking"/>:
/// a second photograph of a retrieved artwork is not a second hit, and the query's own other photographs are not hits
/// at all (finding the same object again is not finding a pattern).</para>
/// <para><b>Queries and gallery.</b> The queries are the artworks of the chosen part (the frozen split's test part by
/// default); the gallery is the whole signed collection, duplicates folded, as the research ranked each query against
/// all its images (SEEDS.md). Relevant items are the query's direct POSITIVE neighbours in the merged morphograph.</para>
/// <para><b>Clusters.</b> The components of the merged morphograph in the part, scored by
/// <see cref="ClusterMetrics"/>; an artwork takes its representative photograph's label.</para>
/// <para><b>Verification.</b> One triplet per POSITIVE edge inside the part, (anchor, positive, negative), with a
/// negative drawn uniformly, by a seeded generator, from the signed artworks outside the anchor's component, as
/// Painter-by-Numbers drew its negatives at random. The same/different threshold is calibrated on the validation
/// part's triplets (the training part's when the validation part is evaluated) and then applied unchanged
/// (<see cref="TripletVerification"/>).</para>
/// </remarks>
public static class MorphographEvaluation
{
    /// <summary>Scores <paramref name="signatures"/> against <paramref name="duplicates"/>' merged morphograph.</summary>
    /// <param name="duplicates">The morphograph with its DUPLICATE groups merged.</param>
    /// <param name="split">The frozen split.</param>
    /// <param name="part">The part whose artworks are the queries; null for every image with a part.</param>
    /// <param name="signatures">Row-major signatures, one row per id.</param>
    /// <param name="ids">Image ids of the rows, distinct.</param>
    /// <param name="labels">Image id → cluster label (negative = noise), or null to skip cluster metrics.</param>
    /// <param name="seed">Seed of the verification negatives.</param>
    /// <param name="degreeOfParallelism">Threads for the ranking.</param>
    /// <param name="parts">Signatures per row: the whole, then its details (<see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>).</param>
    /// <param name="cancellationToken">Cancels the ranking.</param>
    /// <exception cref="ArgumentException">The signatures are not one non-zero row per distinct id.</exception>
    public static MorphographEvaluationReport Evaluate(MorphographDuplicates duplicates, MorphographSplit split, SplitPart? part,
        ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids, IReadOnlyDictionary<string, int>? labels = null, int seed = 0,
        int degreeOfParallelism = 1, int parts = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(ids);
        var merged = duplicates.Merged;
        var artworks = new ArtworkSignatures(duplicates, signatures, ids, parts);
        bool InPart(string image) => split.PartOf(image) is { } p && (part is null || p == part);

        var partImages = merged.Images.Where(i => merged.PositiveNeighbours(i).Count > 0 && InPart(i)).ToArray();
        var queries = partImages.Where(artworks.IsSigned).ToArray();
        var gallery = ids.Select(duplicates.Canonical).Distinct(StringComparer.Ordinal).ToArray();

        var ranked = queries.Length == 0
            ? new Dictionary<string, IReadOnlyList<string>>()
            : CosineRanking.Rank(signatures, ids, queries.Select(artworks.Representative), degreeOfParallelism: degreeOfParallelism,
                parts: parts, cancellationToken: cancellationToken);
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            rankings[query] = [.. duplicates.CanonicalRanking(ranked[artworks.Representative(query)])
                .Where(id => !string.Equals(id, query, StringComparison.Ordinal))];
        }
        var retrieval = RetrievalMetrics.Evaluate(rankings, merged, gallery);
        // The research's definitions at the same cut-offs, so the two can be read side by side.
        var seedCompatible = RetrievalMetrics.EvaluateSeedCompatible(rankings, merged, gallery, RetrievalMetrics.StandardCutOffs);

        ClusterReport? clusters = null;
        if (labels is not null)
        {
            var components = merged.Components().Where(c => InPart(c[0])).ToArray();
            // Every labelled artwork, inside the morphograph or not: unannotated images in a cluster count in its size.
            var canonicalLabels = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var artwork in artworks.Signed)
            {
                if (labels.TryGetValue(artworks.Representative(artwork), out var label))
                {
                    canonicalLabels[artwork] = label;
                }
            }
            clusters = ClusterMetrics.Evaluate(components, canonicalLabels);
        }

        var calibrationPart = part == SplitPart.Validation ? SplitPart.Train : SplitPart.Validation;
        var evaluated = Triplets(merged, artworks, InPart, seed);
        var calibration = Triplets(merged, artworks, i => split.PartOf(i) == calibrationPart, seed);
        TripletVerificationReport? verification = null;
        SameDifferentThreshold? threshold = null;
        SplitPart? calibratedOn = null;
        if (evaluated.Count > 0)
        {
            calibratedOn = calibration.Count > 0 ? calibrationPart : null;
            threshold = TripletVerification.Calibrate(calibration.Count > 0 ? calibration : evaluated);
            verification = TripletVerification.Evaluate(evaluated, threshold.Threshold);
        }
        return new MorphographEvaluationReport(part, queries.Length, partImages.Length - queries.Length, gallery.Length, retrieval, seedCompatible,
            clusters, verification, threshold, calibratedOn);
    }

    /// <summary>One triplet per POSITIVE edge whose ends are both signed and <paramref name="include"/>d, its negative
    /// drawn uniformly from the signed artworks outside the anchor's component (see remarks on <see cref="MorphographEvaluation"/>).</summary>
    private static List<TripletDistances> Triplets(Morphograph merged, ArtworkSignatures artworks, Func<string, bool> include, int seed)
    {
        var componentOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (component, index) in merged.Components().Select((c, i) => (c, i)))
        {
            foreach (var image in component)
            {
                componentOf[image] = index;
            }
        }
        var candidates = artworks.Signed;
        var random = new Random(seed);
        var triplets = new List<TripletDistances>();
        foreach (var edge in merged.Edges)
        {
            var (anchor, positive) = (edge.Image1, edge.Image2);
            if (edge.Type != MorphographEdgeType.Positive || string.Equals(anchor, positive, StringComparison.Ordinal) ||
                !include(anchor) || !include(positive) || !artworks.IsSigned(anchor) || !artworks.IsSigned(positive))
            {
                continue;
            }
            var component = componentOf[anchor];
            bool Outside(string c) => !componentOf.TryGetValue(c, out var other) || other != component;
            // Rejection sampling: components are small beside the collection, so a few draws find an outsider; a
            // collection that is mostly this component falls back to drawing from the list of outsiders.
            string? negative = null;
            for (var attempt = 0; attempt < 32 && negative is null; attempt++)
            {
                var drawn = candidates[random.Next(candidates.Count)];
                negative = Outside(drawn) ? drawn : null;
            }
            if (negative is null)
            {
                var outside = candidates.Where(Outside).ToArray();
                if (outside.Length == 0)
                {
                    continue;
                }
                negative = outside[random.Next(outside.Length)];
            }
            triplets.Add(new TripletDistances(artworks.Distance(anchor, positive), artworks.Distance(anchor, negative)));
        }
        return triplets;
    }
}
