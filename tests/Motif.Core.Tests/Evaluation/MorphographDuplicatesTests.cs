using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class MorphographDuplicatesTests
{
    private static MorphographEdge Edge(string a, string b, MorphographEdgeType type = MorphographEdgeType.Positive) => new(a, b, type);

    private const MorphographEdgeType Duplicate = MorphographEdgeType.Duplicate;

    [Fact]
    public void Groups_duplicates_transitively_under_their_ordinally_smallest_id()
    {
        // d–c and c–b are duplicates, so b, c, d are one artwork; "B" < "b" ordinally (upper case first).
        var merged = MorphographDuplicates.Of(Morphograph.FromEdges(
            [Edge("d", "c", Duplicate), Edge("x", "y"), Edge("c", "b", Duplicate), Edge("y", "B", Duplicate)]));

        Assert.Equal([["B", "y"], ["b", "c", "d"]], merged.Groups);
        Assert.Equal("b", merged.Canonical("d"));
        Assert.Equal("b", merged.Canonical("c"));
        Assert.Equal("b", merged.Canonical("b"));
        Assert.Equal("B", merged.Canonical("y"));
        Assert.Equal("x", merged.Canonical("x"));
        Assert.Equal("elsewhere", merged.Canonical("elsewhere"));
        Assert.Equal(["b", "c", "d"], merged.Members("b"));
        Assert.Equal(["x"], merged.Members("x"));
        Assert.Equal(6, merged.CanonicalOf.Count);
    }

    [Fact]
    public void The_canonical_id_does_not_depend_on_edge_order_or_direction()
    {
        MorphographEdge[] edges = [Edge("m", "k", Duplicate), Edge("k", "z", Duplicate), Edge("z", "a", Duplicate), Edge("a", "q")];
        var forward = MorphographDuplicates.Of(Morphograph.FromEdges(edges));
        var backward = MorphographDuplicates.Of(Morphograph.FromEdges(Enumerable.Reverse(edges).Select(e => e with { Image1 = e.Image2, Image2 = e.Image1 })));

        Assert.Equal(forward.CanonicalOf.OrderBy(p => p.Key, StringComparer.Ordinal), backward.CanonicalOf.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.All(new[] { "m", "k", "z", "a" }, id => Assert.Equal("a", forward.Canonical(id)));
    }

    [Fact]
    public void Rewrites_edges_to_canonical_ids_dropping_self_edges_and_repeats()
    {
        var source = Morphograph.FromEdges(
        [
            Edge("a2", "a1", Duplicate) with { Uid = "dup" },
            Edge("p", "a2") with { Uid = "first" },                           // → a1–p
            Edge("a1", "p") with { Uid = "repeat" },                          // the same pair again: dropped
            Edge("p", "a1", MorphographEdgeType.Negative) with { Uid = "neg" }, // another type: kept
            Edge("a1", "a2", MorphographEdgeType.NonDuplicate),               // inside the group: a self-edge, dropped
            Edge("q", "q"),                                                   // a self-edge already: dropped
            Edge("q", "p"),
        ]);

        var merged = MorphographDuplicates.Of(source).Merged;

        Assert.Equal(
            [Edge("p", "a1") with { Uid = "first" }, Edge("p", "a1", MorphographEdgeType.Negative) with { Uid = "neg" }, Edge("q", "p")],
            merged.Edges);
        Assert.DoesNotContain(merged.Edges, e => e.Type == Duplicate);
        Assert.Equal(["a1", "p", "q"], merged.Images);
        Assert.Equal([["a1", "p", "q"]], merged.Components());
        Assert.Equal(["p"], merged.PositiveNeighbours("a1"));
        Assert.Same(source, MorphographDuplicates.Of(source).Source);
    }

    [Fact]
    public void A_group_connected_to_nothing_else_is_grouped_but_not_in_the_merged_graph()
    {
        var duplicates = MorphographDuplicates.Of(Morphograph.FromEdges([Edge("a", "b", Duplicate), Edge("c", "d")]));

        Assert.Equal([["a", "b"]], duplicates.Groups);
        Assert.Equal(["c", "d"], duplicates.Merged.Images);
    }

    [Fact]
    public void A_ranking_is_brought_to_canonical_ids_keeping_each_artwork_once_at_its_best_position()
    {
        var duplicates = MorphographDuplicates.Of(Morphograph.FromEdges([Edge("b", "c", Duplicate), Edge("c", "x")]));

        Assert.Equal(["x", "b", "unknown"], duplicates.CanonicalRanking(["x", "c", "unknown", "b"]));
    }
}
