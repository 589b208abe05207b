using Motif.Core.Evaluation;

namespace Motif.Core.Training;

/// <summary>How many synthetic pairs and negatives <see cref="SyntheticTriplets"/> makes.</summary>
/// <param name="CopiesPerImage">Synthetic copies of each image per epoch, each its own positive pair. One: every epoch
/// draws new copies anyway (the derivation seed changes with the epoch), so more per epoch mostly multiplies cost.</param>
/// <param name="NegativesPerPair">Negatives per pair, synthetic or curated (the research's 10).</param>
/// <param name="NearestCandidates">Hard negatives are drawn from the anchor's this many nearest eligible images (the
/// research's 10).</param>
/// <param name="IdenticalDistance">Images closer to the anchor than this cosine distance are the same picture stored
/// twice (another file of the same bytes, a re-encode), never negatives: separating an image from itself would teach
/// the model the opposite of the task. 1e-4 is far below any two different photographs (issue 12 measured a median
/// nearest-image distance of 0.024 among 40 test photographs) and above re-encoding noise.</param>
public sealed record SyntheticTripletOptions(int CopiesPerImage = 1, int NegativesPerPair = 10, int NearestCandidates = 10, double IdenticalDistance = 1e-4)
{
    /// <exception cref="ArgumentOutOfRangeException">A count below 1, or a distance outside [0, 2].</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(CopiesPerImage, 1, nameof(CopiesPerImage));
        ArgumentOutOfRangeException.ThrowIfLessThan(NegativesPerPair, 1, nameof(NegativesPerPair));
        ArgumentOutOfRangeException.ThrowIfLessThan(NearestCandidates, 1, nameof(NearestCandidates));
        if (!(IdenticalDistance is >= 0 and <= 2))
        {
            throw new ArgumentOutOfRangeException(nameof(IdenticalDistance), IdenticalDistance, "A cosine distance is in [0, 2].");
        }
    }
}

/// <summary>
/// Training triplets for a collection with few or no labels: each image with a synthetic copy of itself as its
/// positive (issue 11's "learning with no labels"), against hard negatives from the same collection, plus every curated
/// triplet <see cref="TripletMining"/> mines from the morphograph when there is one. The training loop calls
/// <see cref="Epoch"/> once per epoch with that epoch's signatures and seed.
/// </summary>
/// <remarks>
/// <para><b>Anchors.</b> Every artwork of <see cref="ArtworkSignatures"/> (a DUPLICATE group counts once, under its
/// canonical id) except those in the frozen split's validation or test part: held-out images must not shape the
/// model, as anchors no more than as negatives. For each, <see cref="SyntheticTripletOptions.CopiesPerImage"/> pairs
/// (anchor, copy k of the anchor), the copy named by <see cref="DerivationKey"/>(epoch seed, k).</para>
/// <para><b>Negatives.</b> The anchor's <see cref="SyntheticTripletOptions.NearestCandidates"/> nearest artworks under
/// the current signatures that <see cref="TripletMining.IsExcluded"/> allows (not of the anchor's component, not
/// SIMILAR or PROPOSAL to it, not held out) and that are not the same picture
/// (<see cref="SyntheticTripletOptions.IdenticalDistance"/>), sampled without replacement by the seeded generator and
/// kept nearest first, as <see cref="TripletMining"/> samples. Without labels an unconnected near neighbour may in fact
/// share the pattern (the collection's own copies are what Motif is to find); sampling from the ten nearest rather
/// than taking the very nearest keeps such a mistake to a share of the negatives. An anchor with fewer eligible
/// artworks gets fewer negatives, and one with none makes no triplet.</para>
/// <para><b>Order and determinism.</b> The curated triplets first (mined with the same seed), then the synthetic ones
/// in artwork order; one <see cref="Random"/> from the seed for the synthetic part. Same morphograph, split,
/// signatures and seed → the same triplets.</para>
/// </remarks>
public sealed class SyntheticTriplets
{
    private readonly TripletMining _curated;
    private readonly MorphographDuplicates _duplicates;
    private readonly MorphographSplit _split;
    private readonly SyntheticTripletOptions _options;

    /// <param name="duplicates">The morphograph with its DUPLICATE groups merged (<see cref="WithoutLabels"/> for none).</param>
    /// <param name="split">The frozen split.</param>
    /// <param name="options">Counts; default one copy per image and the research's 10 and 10.</param>
    public SyntheticTriplets(MorphographDuplicates duplicates, MorphographSplit split, SyntheticTripletOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        ArgumentNullException.ThrowIfNull(split);
        options ??= new SyntheticTripletOptions();
        options.Validate();
        (_duplicates, _split, _options) = (duplicates, split, options);
        _curated = new TripletMining(duplicates, split, new TripletMiningOptions(options.NegativesPerPair, options.NearestCandidates));
    }

    /// <summary>For a collection with no morphograph: only synthetic pairs.</summary>
    public static SyntheticTriplets WithoutLabels(SyntheticTripletOptions? options = null) =>
        new(MorphographDuplicates.Of(Morphograph.FromEdges([])), MorphographSplit.Empty(), options);

    /// <summary>One epoch's triplets under the current signatures (see the remarks).</summary>
    /// <param name="signatures">Row-major current signatures, one row per id.</param>
    /// <param name="ids">Image ids of the rows, distinct.</param>
    /// <param name="seed">The epoch's seed: every random choice, and the derivation seed of the synthetic copies.</param>
    public IReadOnlyList<MinedTriplet> Epoch(ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids, int seed)
    {
        var triplets = new List<MinedTriplet>(_curated.Mine(signatures, ids, seed));
        var artworks = new ArtworkSignatures(_duplicates, signatures, ids);
        var random = new Random(unchecked(seed * 16777619 ^ 0x5e1f));
        foreach (var anchor in artworks.Signed)
        {
            if (_split.PartOf(anchor) is SplitPart.Validation or SplitPart.Test)
            {
                continue;
            }
            var nearest = artworks.Nearest(anchor)
                .Where(n => !_curated.IsExcluded(anchor, n) && artworks.Distance(anchor, n) > _options.IdenticalDistance)
                .Take(_options.NearestCandidates).ToArray();
            for (var k = 0; k < _options.CopiesPerImage; k++)
            {
                var key = new DerivationKey(seed, k);
                triplets.AddRange(TripletMining.Sample(nearest, _options.NegativesPerPair, random)
                    .Select(n => new MinedTriplet(anchor, anchor, n, NegativeSource.Hard) { Derivation = key }));
            }
        }
        return triplets;
    }
}
