using Motif.Core.Annotations;
using Motif.Core.Evaluation;
using Motif.Core.Tests.Evaluation;
using Motif.Core.Training;

namespace Motif.Core.Tests.Annotations;

/// <summary>Triplet mining on the merged morphograph: a curator's wrong-member verdict is an annotated negative, a
/// similar verdict keeps a look-alike from being a hard negative, and an undo takes both back.</summary>
public sealed class AnnotatedMiningTests
{
    private static readonly Morphograph Imported = Morphograph.FromEdges([new MorphographEdge("a1", "a2", MorphographEdgeType.Positive)]);

    private static readonly MorphographSplit Split = HandMade.Split(train: ["a1", "a2"], validation: [], test: []);

    // s1 is a1's nearest, x1 the farthest; f1 is an unconnected image in between.
    private static readonly (string Id, double Degrees)[] Angles = [("a1", 0), ("a2", 5), ("s1", 1), ("f1", 20), ("x1", 170)];

    private static int _clock;

    private static Annotation Made(AnnotationLabel label, string[] images, string[]? others = null, string? undoes = null) =>
        new(AnnotationIds.New(DateTimeOffset.UnixEpoch.AddSeconds(++_clock)), DateTimeOffset.UnixEpoch,
            new AnnotationDraft("ada", label, images) { ClusterId = "c1", Others = others ?? [], Undoes = undoes });

    private static IReadOnlyList<MinedTriplet> Mine(params Annotation[] history)
    {
        var (x, ids) = HandMade.OnTheCircle(Angles);
        var merged = MorphographDuplicates.Of(AnnotationEdges.WithAnnotations(Imported, history));
        return new TripletMining(merged, Split.Extend(merged).Split, new TripletMiningOptions(NegativesPerPair: 2, NearestCandidates: 1)).Mine(x, ids, seed: 0);
    }

    [Fact]
    public void Wrong_member_is_mined_first_and_a_similar_image_is_never_a_hard_negative_until_undone()
    {
        var wrong = Made(AnnotationLabel.WrongMember, ["x1"], others: ["a1", "a2"]);
        var similar = Made(AnnotationLabel.Similar, ["a1", "s1"]);

        var mined = Mine(wrong, similar);

        Assert.Equal([("x1", NegativeSource.Annotated), ("f1", NegativeSource.Hard)], mined.Select(t => (t.Negative, t.Source)));

        var undone = Mine(wrong, similar, Made(AnnotationLabel.Undo, [], undoes: wrong.Id), Made(AnnotationLabel.Undo, [], undoes: similar.Id));

        Assert.All(undone, t => Assert.Equal(NegativeSource.Hard, t.Source));
        Assert.Equal("s1", undone[0].Negative);
    }
}
