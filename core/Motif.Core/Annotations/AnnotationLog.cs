namespace Motif.Core.Annotations;

/// <summary>
/// The effect of an append-only history of annotations: an undo withdraws the annotation it names, and is itself
/// kept, so the history says who withdrew what and when.
/// </summary>
public static class AnnotationLog
{
    /// <summary>
    /// The annotations that are in effect: every one that is not an undo and that no undo names. Stores refuse a
    /// second undo of one annotation and an undo of an undo, but two undos written at once by two hosts may both be
    /// stored; the earliest (in id order) is then the one that counts, and a later one withdraws nothing more, so the
    /// result does not depend on which of them a reader saw first. Undos of unknown ids withdraw nothing.
    /// </summary>
    /// <returns>The effective annotations in id (time) order.</returns>
    public static IReadOnlyList<Annotation> Effective(IEnumerable<Annotation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var all = history.OrderBy(a => a.Id, StringComparer.Ordinal).ToArray();
        var undone = all.Where(a => a.Label == AnnotationLabel.Undo && a.Undoes is not null)
            .Select(a => a.Undoes!).ToHashSet(StringComparer.Ordinal);
        return [.. all.Where(a => a.Label != AnnotationLabel.Undo && !undone.Contains(a.Id))];
    }
}
