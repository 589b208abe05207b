using Motif.Core.Annotations;
using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Annotations;

public sealed class AnnotationEdgesTests
{
    private static int _clock;

    private static Annotation Made(AnnotationLabel label, string[] images, string[]? others = null, string? undoes = null) =>
        new(AnnotationIds.New(DateTimeOffset.UnixEpoch.AddSeconds(++_clock)), DateTimeOffset.UnixEpoch,
            new AnnotationDraft("ada", label, images) { ClusterId = label == AnnotationLabel.Undo ? null : "c1", Others = others ?? [], Undoes = undoes });

    private static string[] Render(IEnumerable<MorphographEdge> edges) =>
        [.. edges.Select(e => $"{e.Type}:{e.Image1}-{e.Image2}")];

    [Fact]
    public void Confirm_similar_and_wrong_cluster_connect_every_pair_of_the_selection()
    {
        var confirm = Made(AnnotationLabel.Confirm, ["a", "b", "c"]);
        var similar = Made(AnnotationLabel.Similar, ["d", "e"]);
        var wrong = Made(AnnotationLabel.WrongCluster, ["f", "g", "h"]);

        var edges = AnnotationEdges.Of([wrong, similar, confirm]);

        Assert.Equal(
            ["Positive:a-b", "Positive:a-c", "Positive:b-c", "Similar:d-e", "Negative:f-g", "Negative:f-h", "Negative:g-h"],
            Render(edges));
        Assert.Equal([confirm.Id, confirm.Id, confirm.Id, similar.Id, wrong.Id, wrong.Id, wrong.Id], edges.Select(e => e.Uid));
    }

    [Fact]
    public void A_wrong_member_is_negative_to_each_other_member_and_nothing_is_said_among_the_others()
    {
        var edges = AnnotationEdges.Of([Made(AnnotationLabel.WrongMember, ["x", "y"], others: ["a", "b"])]);

        Assert.Equal(["Negative:x-a", "Negative:x-b", "Negative:y-a", "Negative:y-b"], Render(edges));
    }

    [Fact]
    public void An_undone_annotation_has_no_edge_and_a_second_undo_withdraws_nothing_more()
    {
        var kept = Made(AnnotationLabel.Confirm, ["a", "b"]);
        var withdrawn = Made(AnnotationLabel.Confirm, ["c", "d"]);
        var undo = Made(AnnotationLabel.Undo, [], undoes: withdrawn.Id);
        var racingUndo = Made(AnnotationLabel.Undo, [], undoes: withdrawn.Id);
        var undoOfUndo = Made(AnnotationLabel.Undo, [], undoes: undo.Id);

        Assert.Equal([kept.Id], AnnotationLog.Effective([kept, withdrawn, undo, racingUndo]).Select(a => a.Id));
        Assert.Equal(["Positive:a-b"], Render(AnnotationEdges.Of([racingUndo, undo, withdrawn, kept])));
        // An undo is not an annotation with edges, so withdrawing one (which stores refuse) brings nothing back.
        Assert.Equal(["Positive:a-b"], Render(AnnotationEdges.Of([kept, withdrawn, undo, undoOfUndo])));
    }

    [Fact]
    public void The_imported_morphograph_gains_the_annotation_edges_and_positive_wins_a_conflict()
    {
        var imported = Morphograph.FromEdges([new MorphographEdge("a", "b", MorphographEdgeType.Positive), new MorphographEdge("c", "d", MorphographEdgeType.Positive)]);
        var history = new[]
        {
            Made(AnnotationLabel.Confirm, ["b", "c"]),
            Made(AnnotationLabel.WrongCluster, ["a", "b", "z"]),
        };

        var merged = AnnotationEdges.WithAnnotations(imported, history);

        Assert.Equal(2 + 1 + 3, merged.Edges.Count);
        Assert.Equal(["a", "b", "c", "d"], Assert.Single(merged.Components()));
        Assert.Equal(["b"], merged.PositiveNeighbours("a"));
        Assert.Equal(["a", "b"], merged.Neighbours("z", MorphographEdgeType.Negative));
        Assert.Equal(["Positive:b-c"], Render(AnnotationEdges.WithAnnotations(null, history.Take(1)).Edges));
    }
}
