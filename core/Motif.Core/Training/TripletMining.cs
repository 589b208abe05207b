using Motif.Core.Evaluation;

namespace Motif.Core.Training;

/// <summary>Where a mined negative came from.</summary>
public enum NegativeSource
{
    /// <summary>A curator's NEGATIVE edge to the anchor or the positive ("confirm pattern and wrong").</summary>
    Annotated,
    /// <summary>One of the anchor's nearest eligible artworks under the current signatures.</summary>
    Hard,
}

/// <summary>One training triplet: anchor and positive share a pattern (a POSITIVE edge, or a synthetic copy), the
/// negative does not.</summary>
public sealed record MinedTriplet(string Anchor, string Positive, string Negative, NegativeSource Source)
{
    /// <summary>Null for a curated pair. Otherwise the positive is no stored image but a synthetic copy of
    /// <see cref="Positive"/> (then equal to <see cref="Anchor"/>): the one this key names (<see cref="SyntheticTriplets"/>).</summary>
    public DerivationKey? Derivation { get; init; }
}

/// <summary>
/// Names a synthetic copy of an image: Motif.Imaging's <c>DerivationSampler.Sample(Seed, image id, Index, hosts)</c> is
/// the derivation, and <c>DerivationRenderer</c> makes it. A key, not the recipe, because Core does no imaging: the
/// training loop that holds the pixels turns it into a copy, and the same key always gives the same copy.
/// </summary>
public readonly record struct DerivationKey(int Seed, int Index);

/// <summary>How many negatives <see cref="TripletMining"/> draws, and from how far.</summary>
/// <param name="NegativesPerPair">Negatives per positive pair (the research's 10).</param>
/// <param name="NearestCandidates">Hard negatives are drawn from the anchor's this many nearest eligible artworks (the
/// research's 10).</param>
public sealed record TripletMiningOptions(int NegativesPerPair = 10, int NearestCandidates = 10)
{
    /// <exception cref="ArgumentOutOfRangeException">A count below 1.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(NegativesPerPair, 1, nameof(NegativesPerPair));
        ArgumentOutOfRangeException.ThrowIfLessThan(NearestCandidates, 1, nameof(NearestCandidates));
    }
}

/// <summary>
/// Training triplets from the merged morphograph's training part, with hard negatives mined under the current
/// signatures, as the EPFL DHLAB Replica research trained its compound hinge loss (SEEDS.md: "for each positive pair,
/// one of the 10 nearest neighbours (current embeddings) that is not a morphograph neighbour; … 10 negatives per
/// positive pair"), with the exclusions the research lacked.
/// </summary>
/// <remarks>
/// <para><b>Positive pairs.</b> Every POSITIVE edge of <see cref="MorphographDuplicates.Merged"/> (so between artworks,
/// two photographs of one artwork never make a pair) whose two ends are in the frozen split's training part, once,
/// anchor = the edge's first image, in edge order. Pairs touching validation or test never train.</para>
/// <para><b>Who may be a negative</b> (<see cref="IsExcluded"/>). Not an artwork of the anchor's component (the
/// positive graph is transitive for patterns: a component member shares the pattern, annotated or not); not an artwork
/// a curator joined by a SIMILAR edge, nor by an unconfirmed PROPOSAL, to any member of that component (the research
/// mined such incompletely labelled images as negatives, SEEDS.md "Incomplete labels mined as negatives"); not an
/// image of the validation or test part (training on them, even as negatives, would leak held-out images into the
/// model); and only an artwork with a signature (<see cref="ArtworkSignatures"/>). A NEGATIVE edge inside the component
/// loses to the POSITIVE path, as in <see cref="Morphograph"/>.</para>
/// <para><b>Order of choice.</b> First the annotated negatives: the artworks joined by a NEGATIVE edge to the anchor or
/// the positive that are not excluded, in ordinal order (a seeded sample of them when there are more than
/// <see cref="TripletMiningOptions.NegativesPerPair"/>). Then hard negatives for the rest: the anchor's
/// <see cref="TripletMiningOptions.NearestCandidates"/> nearest artworks under the current signatures that are neither
/// excluded nor already chosen, sampled without replacement by the seeded generator and kept nearest first. The
/// research re-mined when validation improved; <see cref="Mine"/> takes the signatures as an argument, so a training
/// loop re-mines from each epoch's fresh signatures.</para>
/// <para><b>Determinism.</b> One <see cref="Random"/> from the seed, consumed pair by pair in pair order: the same
/// morphograph, split, signatures and seed give the same triplets.</para>
/// </remarks>
public sealed class TripletMining
{
    private readonly Dictionary<string, HashSet<string>> _excludedFor = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _annotated = new(StringComparer.Ordinal);
    private readonly MorphographDuplicates _duplicates;
    private readonly MorphographSplit _split;
    private readonly TripletMiningOptions _options;

    /// <param name="duplicates">The morphograph with its DUPLICATE groups merged.</param>
    /// <param name="split">The frozen split; only its training part makes pairs.</param>
    /// <param name="options">Counts; default the research's 10 and 10.</param>
    public TripletMining(MorphographDuplicates duplicates, MorphographSplit split, TripletMiningOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        ArgumentNullException.ThrowIfNull(split);
        options ??= new TripletMiningOptions();
        options.Validate();
        (_duplicates, _split, _options) = (duplicates, split, options);
        var merged = duplicates.Merged;

        // Each component's excluded set: its members and their SIMILAR and PROPOSAL partners.
        foreach (var component in merged.Components())
        {
            var excluded = new HashSet<string>(component, StringComparer.Ordinal);
            foreach (var member in component)
            {
                excluded.UnionWith(merged.Neighbours(member, MorphographEdgeType.Similar, MorphographEdgeType.Proposal));
            }
            foreach (var member in component)
            {
                _excludedFor[member] = excluded;
            }
        }
        var pairs = new List<(string, string)>();
        var seen = new HashSet<(string, string)>();
        foreach (var edge in merged.Edges)
        {
            var (a, b) = (edge.Image1, edge.Image2);
            if (string.Equals(a, b, StringComparison.Ordinal))
            {
                continue;
            }
            if (edge.Type == MorphographEdgeType.Negative)
            {
                Annotate(a, b);
                Annotate(b, a);
            }
            else if (edge.Type == MorphographEdgeType.Positive && split.PartOf(a) == SplitPart.Train && split.PartOf(b) == SplitPart.Train &&
                     seen.Add(string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a)))
            {
                pairs.Add((a, b));
            }
        }
        PositivePairs = pairs;
    }

    /// <summary>The training part's positive pairs (anchor, positive), in edge order.</summary>
    public IReadOnlyList<(string Anchor, string Positive)> PositivePairs { get; }

    /// <summary>Whether <paramref name="candidate"/> (an artwork id) may not be a negative for a pair whose anchor is
    /// <paramref name="anchor"/> (see the remarks: component, SIMILAR/PROPOSAL, held-out).</summary>
    public bool IsExcluded(string anchor, string candidate)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        ArgumentNullException.ThrowIfNull(candidate);
        return string.Equals(anchor, candidate, StringComparison.Ordinal)
            || _excludedFor.TryGetValue(anchor, out var excluded) && excluded.Contains(candidate)
            || _split.PartOf(candidate) is SplitPart.Validation or SplitPart.Test;
    }

    /// <summary>The triplets under the current signatures (see the remarks). Pairs with an unsigned end are skipped;
    /// a pair gets fewer negatives when fewer artworks are eligible.</summary>
    /// <param name="signatures">Row-major current signatures, one row per id.</param>
    /// <param name="ids">Image ids of the rows, distinct.</param>
    /// <param name="seed">Seed of every random choice.</param>
    public IReadOnlyList<MinedTriplet> Mine(ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids, int seed)
    {
        var artworks = new ArtworkSignatures(_duplicates, signatures, ids);
        var random = new Random(seed);
        var triplets = new List<MinedTriplet>();
        foreach (var (anchor, positive) in PositivePairs)
        {
            if (!artworks.IsSigned(anchor) || !artworks.IsSigned(positive))
            {
                continue;
            }
            var annotated = Annotated(anchor).Union(Annotated(positive), StringComparer.Ordinal)
                .Where(n => !IsExcluded(anchor, n) && artworks.IsSigned(n)).Order(StringComparer.Ordinal).ToArray();
            var chosen = Sample(annotated, _options.NegativesPerPair, random);
            triplets.AddRange(chosen.Select(n => new MinedTriplet(anchor, positive, n, NegativeSource.Annotated)));

            var taken = chosen.ToHashSet(StringComparer.Ordinal);
            var nearest = artworks.Nearest(anchor)
                .Where(n => !IsExcluded(anchor, n) && !taken.Contains(n) && !string.Equals(n, positive, StringComparison.Ordinal))
                .Take(_options.NearestCandidates).ToArray();
            var hard = Sample(nearest, _options.NegativesPerPair - chosen.Length, random);
            triplets.AddRange(hard.Select(n => new MinedTriplet(anchor, positive, n, NegativeSource.Hard)));
        }
        return triplets;
    }

    private IEnumerable<string> Annotated(string image) => _annotated.TryGetValue(image, out var partners) ? partners : [];

    private void Annotate(string image, string partner)
    {
        if (!_annotated.TryGetValue(image, out var partners))
        {
            _annotated[image] = partners = new SortedSet<string>(StringComparer.Ordinal);
        }
        partners.Add(partner);
    }

    /// <summary><paramref name="count"/> of <paramref name="items"/> without replacement (all when there are no more),
    /// kept in their input order: a partial Fisher–Yates shuffle of the indices (Knuth, TAOCP vol. 2, Algorithm P).</summary>
    internal static string[] Sample(string[] items, int count, Random random)
    {
        if (count <= 0)
        {
            return [];
        }
        if (items.Length <= count)
        {
            return items;
        }
        var indices = Enumerable.Range(0, items.Length).ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = random.Next(i, indices.Length);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        return [.. indices.Take(count).Order().Select(i => items[i])];
    }
}
