using Motif.Core.Evaluation;
using Motif.Core.Tests.Evaluation;
using Motif.Core.Training;

namespace Motif.Core.Tests.Training;

public sealed class SyntheticTripletsTests
{
    // On the unit circle: a at 0°, "a-copy" the same picture stored twice (also 0°), b 3° away, c 10°, d 25°, far 120°.
    private static readonly (float[] Signatures, string[] Ids) Circle = HandMade.OnTheCircle(
        [("a", 0), ("a-copy", 0), ("b", 3), ("c", 10), ("d", 25), ("far", 120)]);

    private static readonly SyntheticTripletOptions TwoOfThree = new(NegativesPerPair: 2, NearestCandidates: 3);

    [Fact]
    public void Without_labels_each_image_is_paired_with_its_own_copy_against_its_nearest_other_images()
    {
        var triplets = SyntheticTriplets.WithoutLabels(TwoOfThree).Epoch(Circle.Signatures, Circle.Ids, seed: 5);

        Assert.All(triplets, t =>
        {
            Assert.Equal(t.Anchor, t.Positive);
            Assert.Equal(new DerivationKey(5, 0), t.Derivation);
            Assert.Equal(NegativeSource.Hard, t.Source);
        });
        Assert.Equal(Circle.Ids.Order(StringComparer.Ordinal), triplets.Select(t => t.Anchor).Distinct());
        Assert.Equal(2 * Circle.Ids.Length, triplets.Count);
        // a's candidates are b, c, d (its copy is the same picture, never a negative; "far" is not among the 3 nearest).
        var forA = triplets.Where(t => t.Anchor == "a").Select(t => t.Negative).ToArray();
        Assert.Equal(2, forA.Length);
        Assert.All(forA, n => Assert.Contains(n, new[] { "b", "c", "d" }));
        Assert.DoesNotContain(triplets, t => t.Anchor is "a" or "a-copy" && t.Negative is "a" or "a-copy");
    }

    [Fact]
    public void The_same_seed_gives_the_same_triplets_and_another_seed_other_copies()
    {
        var source = SyntheticTriplets.WithoutLabels(TwoOfThree);

        Assert.Equal(source.Epoch(Circle.Signatures, Circle.Ids, 5), source.Epoch(Circle.Signatures, Circle.Ids, 5));
        Assert.All(source.Epoch(Circle.Signatures, Circle.Ids, 6), t => Assert.Equal(new DerivationKey(6, 0), t.Derivation));
    }

    [Fact]
    public void Several_copies_per_image_are_numbered()
    {
        var triplets = SyntheticTriplets.WithoutLabels(TwoOfThree with { CopiesPerImage = 3 }).Epoch(Circle.Signatures, Circle.Ids, 1);

        Assert.Equal([0, 1, 2], triplets.Where(t => t.Anchor == "b").Select(t => t.Derivation!.Value.Index).Distinct().Order());
    }

    [Fact]
    public void Curated_triplets_come_first_and_held_out_images_neither_anchor_nor_serve_as_negatives()
    {
        // a–b a training pair; c–d a test component.
        var morphograph = Morphograph.FromEdges([new("a", "b", MorphographEdgeType.Positive), new("c", "d", MorphographEdgeType.Positive)]);
        var split = HandMade.Split(train: ["a", "b"], validation: [], test: ["c", "d"]);
        var source = new SyntheticTriplets(MorphographDuplicates.Of(morphograph), split, TwoOfThree);

        var triplets = source.Epoch(Circle.Signatures, Circle.Ids, 9);

        var curated = triplets.TakeWhile(t => t.Derivation is null).ToArray();
        Assert.Equal(new TripletMining(MorphographDuplicates.Of(morphograph), split, new TripletMiningOptions(2, 3)).Mine(Circle.Signatures, Circle.Ids, 9), curated);
        Assert.NotEmpty(curated);
        var synthetic = triplets.Skip(curated.Length).ToArray();
        Assert.All(synthetic, t => Assert.NotNull(t.Derivation));
        Assert.DoesNotContain(synthetic, t => t.Anchor is "c" or "d" || t.Negative is "c" or "d");
        // b is in a's component: never a's negative, synthetic pair or not.
        Assert.DoesNotContain(triplets, t => t.Anchor == "a" && t.Negative == "b");
    }

    [Fact]
    public void Bad_counts_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticTriplets.WithoutLabels(new SyntheticTripletOptions(CopiesPerImage: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticTriplets.WithoutLabels(new SyntheticTripletOptions(IdenticalDistance: -1)));
    }
}
