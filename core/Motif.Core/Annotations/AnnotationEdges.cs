using Motif.Core.Evaluation;

namespace Motif.Core.Annotations;

/// <summary>
/// Curators' annotations as morphograph edges, so that what they confirm or reject joins the imported ground truth
/// that evaluation and triplet mining read (<see cref="WithAnnotations"/>).
/// </summary>
/// <remarks>
/// <para>The research's annotation tool appended its verdicts as morphograph rows (SEEDS.md, Replica "human in the
/// loop": "confirm pattern" is POSITIVE for the checked pairs, "confirm pattern and wrong" adds NEGATIVE for checked ×
/// unchecked, "similar" is SIMILAR). Motif's labels map the same way:</para>
/// <list type="bullet">
/// <item><b>confirm</b>: POSITIVE between every pair of the selected images (not a chain or a star: the research's
/// relevance is a direct morphograph neighbour, and each selected image was seen beside every other);</item>
/// <item><b>wrong member</b>: NEGATIVE between each selected image and each of the cluster's other members when it
/// was annotated (the research's checked × unchecked). Nothing is said about the others among themselves;</item>
/// <item><b>similar</b>: SIMILAR between every pair: triplet mining then never uses one as a hard negative of the other
/// (a look-alike is not a mistake to push away), and they do not count as relevant to each other;</item>
/// <item><b>wrong cluster</b>: NEGATIVE between every pair of the selected images. The research recorded "wrong
/// cluster" without turning it into rows; a curator who rejects a whole grouping says that no two of its images share
/// the pattern, and NEGATIVE edges are what mining puts first. A pair later confirmed is positive all the same
/// (<see cref="Morphograph"/>: positive wins a conflict), so a later, finer confirmation is never overruled.</item>
/// </list>
/// <para>Only effective annotations count (<see cref="AnnotationLog.Effective"/>): an undone annotation has no edge.
/// Every edge carries its annotation's id as <see cref="MorphographEdge.Uid"/>, so any edge can be traced to who
/// made it, when, on which manifest and model.</para>
/// </remarks>
public static class AnnotationEdges
{
    /// <summary>The edges the history's effective annotations make, in annotation order.</summary>
    public static IReadOnlyList<MorphographEdge> Of(IEnumerable<Annotation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var edges = new List<MorphographEdge>();
        foreach (var annotation in AnnotationLog.Effective(history))
        {
            var images = annotation.Images;
            switch (annotation.Label)
            {
                case AnnotationLabel.Confirm:
                    Pairs(edges, annotation, MorphographEdgeType.Positive);
                    break;
                case AnnotationLabel.Similar:
                    Pairs(edges, annotation, MorphographEdgeType.Similar);
                    break;
                case AnnotationLabel.WrongCluster:
                    Pairs(edges, annotation, MorphographEdgeType.Negative);
                    break;
                case AnnotationLabel.WrongMember:
                    foreach (var wrong in images)
                    {
                        foreach (var other in annotation.Draft.Others)
                        {
                            edges.Add(new MorphographEdge(wrong, other, MorphographEdgeType.Negative) { Uid = annotation.Id });
                        }
                    }
                    break;
            }
        }
        return edges;
    }

    /// <summary>The imported morphograph with the history's edges added after its own.</summary>
    public static Morphograph WithAnnotations(Morphograph? imported, IEnumerable<Annotation> history)
    {
        var edges = Of(history);
        return Morphograph.FromEdges(imported is null ? edges : imported.Edges.Concat(edges));
    }

    private static void Pairs(List<MorphographEdge> edges, Annotation annotation, MorphographEdgeType type)
    {
        var images = annotation.Images;
        for (var i = 0; i < images.Count; i++)
        {
            for (var j = i + 1; j < images.Count; j++)
            {
                edges.Add(new MorphographEdge(images[i], images[j], type) { Uid = annotation.Id });
            }
        }
    }
}
