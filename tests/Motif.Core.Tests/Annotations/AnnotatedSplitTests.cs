using Motif.Core.Annotations;
using Motif.Core.Evaluation;
using Motif.Core.Tests.Evaluation;

namespace Motif.Core.Tests.Annotations;

/// <summary>The frozen split under annotations: the merged morphograph extends the stored split by its rules, so an
/// annotation never moves a held-out image towards training, and a component made by annotations alone gets the
/// part its smallest id hashes to.</summary>
public sealed class AnnotatedSplitTests
{
    private static int _clock;

    private static Annotation Made(AnnotationLabel label, params string[] images) =>
        new(AnnotationIds.New(DateTimeOffset.UnixEpoch.AddSeconds(++_clock)), DateTimeOffset.UnixEpoch,
            new AnnotationDraft("ada", label, images) { ClusterId = "c1" });

    private static readonly Morphograph Imported = Morphograph.FromEdges(
    [
        new MorphographEdge("t1", "t2", MorphographEdgeType.Positive),
        new MorphographEdge("r1", "r2", MorphographEdgeType.Positive),
    ]);

    private static readonly MorphographSplit Frozen = HandMade.Split(train: ["r1", "r2"], validation: [], test: ["t1", "t2"]);

    private static SplitExtension Extend(MorphographSplit split, params Annotation[] history) =>
        split.Extend(MorphographDuplicates.Of(AnnotationEdges.WithAnnotations(Imported, history)));

    [Fact]
    public void Confirming_a_training_image_with_a_test_image_moves_the_training_component_to_test_never_the_reverse()
    {
        var extension = Extend(Frozen, Made(AnnotationLabel.Confirm, "r2", "t1"));

        Assert.All(new[] { "t1", "t2", "r1", "r2" }, image => Assert.Equal(SplitPart.Test, extension.Split.PartOf(image)));
        Assert.Equal(["r1", "r2"], extension.Moves.Select(m => m.Image).Order(StringComparer.Ordinal));
        Assert.All(extension.Moves, m => Assert.Equal((SplitPart.Train, SplitPart.Test), (m.From, m.To)));
    }

    [Fact]
    public void A_new_image_confirmed_into_a_test_component_is_test()
    {
        var extension = Extend(Frozen, Made(AnnotationLabel.Confirm, "t2", "new"));

        Assert.Equal(SplitPart.Test, extension.Split.PartOf("new"));
        Assert.Empty(extension.Moves);
    }

    [Fact]
    public void A_component_made_by_annotations_alone_gets_the_hashed_part_of_its_smallest_id_whatever_the_order()
    {
        var forward = Extend(Frozen, Made(AnnotationLabel.Confirm, "n1", "n2", "n3"));
        var backward = Extend(Frozen, Made(AnnotationLabel.Confirm, "n3", "n2", "n1"));

        var expected = MorphographSplit.HashedPart("n1", Frozen.Ratios);
        Assert.Equal(1, forward.NewComponents);
        Assert.All(new[] { "n1", "n2", "n3" }, image => Assert.Equal(expected, forward.Split.PartOf(image)));
        Assert.Equal(forward.Split.ToJson(), backward.Split.ToJson());
    }

    [Fact]
    public void Undoing_an_annotation_removes_its_edges_but_its_images_keep_the_part_they_were_frozen_in()
    {
        var confirm = Made(AnnotationLabel.Confirm, "r2", "t1");
        var frozen = Extend(Frozen, confirm).Split;
        var undo = new Annotation(AnnotationIds.New(DateTimeOffset.UnixEpoch.AddSeconds(++_clock)), DateTimeOffset.UnixEpoch,
            new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = confirm.Id });

        var after = Extend(frozen, confirm, undo);

        Assert.Equal(SplitPart.Test, after.Split.PartOf("r1"));
        Assert.Equal(SplitPart.Test, after.Split.PartOf("r2"));
        Assert.Empty(after.Moves);
        Assert.Equal(2, after.Components);
    }

    [Fact]
    public void Negative_and_similar_annotations_put_no_image_in_the_split()
    {
        var extension = Extend(Frozen, Made(AnnotationLabel.WrongCluster, "x1", "x2"), Made(AnnotationLabel.Similar, "y1", "t1"));

        Assert.Null(extension.Split.PartOf("x1"));
        Assert.Null(extension.Split.PartOf("y1"));
        Assert.Equal(Frozen.Parts, extension.Split.Parts);
    }
}
