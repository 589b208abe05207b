using Motif.Core.Evaluation;
using Motif.Core.Tests.Evaluation;
using Motif.Core.Training;

namespace Motif.Core.Tests.Training;

public sealed class TripletMiningTests
{
    // Training components A = a1–a2–a3 (a3 photographed twice; only "a3x" is signed) and B = b1–b2; a test component
    // h1–h2. Around a1, nearest first, sit every kind of image that must not be a negative: s1 (SIMILAR to a1), p1
    // (PROPOSAL with a2), h1 and h2 (test), then A's own members; f1, f2 are unconnected images farther away, and n1,
    // the far side of the circle, is a curator's NEGATIVE for a1. a1 also has NEGATIVE edges to a3 (inside its own
    // component) and a2 to h1 (held out): neither may be used.
    private static readonly Morphograph Source = Morphograph.FromEdges(
    [
        new("a1", "a2", MorphographEdgeType.Positive), new("a2", "a3", MorphographEdgeType.Positive),
        new("a3", "a3x", MorphographEdgeType.Duplicate), new("b1", "b2", MorphographEdgeType.Positive),
        new("h1", "h2", MorphographEdgeType.Positive),
        new("a1", "n1", MorphographEdgeType.Negative), new("a1", "a3", MorphographEdgeType.Negative), new("a2", "h1", MorphographEdgeType.Negative),
        new("a1", "s1", MorphographEdgeType.Similar), new("a2", "p1", MorphographEdgeType.Proposal),
    ]);

    private static readonly MorphographSplit Split = HandMade.Split(train: ["a1", "a2", "a3", "a3x", "b1", "b2"], validation: [], test: ["h1", "h2"]);

    private static readonly (string Id, double Degrees)[] Angles =
    [
        ("a1", 0), ("a2", 5), ("a3x", 8), ("s1", 1), ("p1", 2), ("h1", 3), ("h2", 4),
        ("n1", 170), ("f1", 20), ("f2", 32), ("b1", 25), ("b2", 60),
    ];

    private static readonly TripletMiningOptions TwoOfTwo = new(NegativesPerPair: 2, NearestCandidates: 2);

    private static IReadOnlyList<MinedTriplet> Mine(TripletMiningOptions options, int seed = 0, (string Id, double Degrees)[]? rows = null)
    {
        var (x, ids) = HandMade.OnTheCircle(rows ?? Angles);
        return new TripletMining(MorphographDuplicates.Of(Source), Split, options).Mine(x, ids, seed);
    }

    private static string[] NegativesOf(IReadOnlyList<MinedTriplet> triplets, string anchor, string positive) =>
        [.. triplets.Where(t => t.Anchor == anchor && t.Positive == positive).Select(t => t.Negative)];

    [Fact]
    public void Pairs_come_from_positive_edges_of_the_training_part_only()
    {
        var mining = new TripletMining(MorphographDuplicates.Of(Source), Split, TwoOfTwo);
        // a2–a3 after merging (a3x is a3); h1–h2 is in test; NEGATIVE, SIMILAR and PROPOSAL edges make no pair.
        Assert.Equal([("a1", "a2"), ("a2", "a3"), ("b1", "b2")], mining.PositivePairs);
    }

    [Fact]
    public void Annotated_negatives_come_first_then_hard_ones_from_the_nearest_eligible()
    {
        var triplets = Mine(TwoOfTwo);

        // (a1, a2): NEGATIVE partners n1, a3 (own component) and h1 (a2's, held out) → n1; then one of a1's two nearest
        // eligible artworks: past s1, p1, h1, h2, a2, a3 come f1 (20°) and b1 (25°).
        var first = triplets.Where(t => t.Anchor == "a1").ToArray();
        Assert.Equal(("n1", NegativeSource.Annotated), (first[0].Negative, first[0].Source));
        Assert.Equal(NegativeSource.Hard, first[1].Source);
        Assert.Contains(first[1].Negative, new[] { "f1", "b1" });
        Assert.Equal(2, first.Length);
        // (a2, a3): no usable NEGATIVE edge; both of a2's two nearest eligible, nearest first.
        Assert.Equal(["f1", "b1"], NegativesOf(triplets, "a2", "a3"));
        Assert.All(triplets.Where(t => t.Anchor == "a2"), t => Assert.Equal(NegativeSource.Hard, t.Source));
        // (b1, b2): A's members are other patterns, eligible, but f1 (5° away) and f2 (7°) are nearer.
        Assert.Equal(["f1", "f2"], NegativesOf(triplets, "b1", "b2"));
    }

    [Fact]
    public void Component_members_similar_and_proposed_images_and_held_out_images_are_never_negatives()
    {
        // Draw from far: every eligible artwork is a candidate, so only the exclusions keep an image out.
        var triplets = Mine(new TripletMiningOptions(NegativesPerPair: 20, NearestCandidates: 20));

        var forA = triplets.Where(t => t.Anchor is "a1" or "a2").Select(t => t.Negative).ToHashSet();
        Assert.Equal(["b1", "b2", "f1", "f2", "n1"], forA.Order());
        // B's pair may use A's members and the images SIMILAR or PROPOSED to A, but never the test component.
        Assert.Equal(["a1", "a2", "a3", "f1", "f2", "n1", "p1", "s1"], NegativesOf(triplets, "b1", "b2").Order());

        var mining = new TripletMining(MorphographDuplicates.Of(Source), Split);
        Assert.True(mining.IsExcluded("a1", "a3"));   // own component (also a NEGATIVE edge: the positive path wins)
        Assert.True(mining.IsExcluded("a2", "s1"));   // SIMILAR to a member of the anchor's component
        Assert.True(mining.IsExcluded("a1", "p1"));   // PROPOSAL with a member
        Assert.True(mining.IsExcluded("b1", "h1"));   // test
        Assert.False(mining.IsExcluded("b1", "s1"));
        Assert.False(mining.IsExcluded("a1", "b2"));
    }

    [Fact]
    public void Annotated_negatives_beyond_the_quota_leave_no_room_for_hard_ones()
    {
        var triplets = Mine(new TripletMiningOptions(NegativesPerPair: 1, NearestCandidates: 5));
        Assert.Equal(new MinedTriplet("a1", "a2", "n1", NegativeSource.Annotated), Assert.Single(triplets, t => t.Anchor == "a1"));
    }

    [Fact]
    public void Mining_is_deterministic_for_a_seed_and_follows_fresh_signatures()
    {
        Assert.Equal(Mine(TwoOfTwo, seed: 3), Mine(TwoOfTwo, seed: 3));
        // The seed decides which of f1 and b1 the first pair gets.
        var drawn = Enumerable.Range(0, 30).Select(seed => NegativesOf(Mine(TwoOfTwo, seed), "a1", "a2")[1]).ToHashSet();
        Assert.Equal(["b1", "f1"], drawn.Order());

        // An epoch later f2 has moved next to a2: it becomes a2's nearest eligible artwork.
        var moved = Angles.Select(r => r.Id == "f2" ? (r.Id, 6.5) : r).ToArray();
        Assert.Equal(["f2", "f1"], NegativesOf(Mine(TwoOfTwo, rows: moved), "a2", "a3"));
    }

    [Fact]
    public void A_pair_with_an_unsigned_end_is_skipped()
    {
        var triplets = Mine(TwoOfTwo, rows: [.. Angles.Where(r => r.Id != "a3x")]);
        Assert.DoesNotContain(triplets, t => t.Positive == "a3");
        Assert.Contains(triplets, t => t.Anchor == "a1");
    }
}
