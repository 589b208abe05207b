using Motif.Core.Annotations;

namespace Motif.Pipeline.Annotations;

/// <summary>
/// The append-only history of curators' annotations of a collection. Nothing in it is ever changed or deleted: a
/// mistake is withdrawn by appending an undo (<see cref="AnnotationLabel.Undo"/>), so the history always says who said
/// what, when, about which manifest run, model version and cluster. What is in effect is computed from it
/// (<see cref="AnnotationLog.Effective"/>), and turned into morphograph edges by <see cref="AnnotationEdges"/>.
/// </summary>
/// <remarks>
/// <para><b>Guarantees.</b></para>
/// <list type="bullet">
/// <item>An appended annotation is durable when <see cref="AppendAsync"/> returns, and is then listed by every later
/// <see cref="ListAsync"/> and found by <see cref="GetAsync"/> on any host.</item>
/// <item>It is immutable: its id, time and content never change. Ids are unique and sort by the time the store accepted
/// the annotation (<see cref="AnnotationIds"/>); <see cref="ListAsync"/> returns the history in that order.</item>
/// <item>Nothing is stored that <see cref="AnnotationRules.Validate"/> refuses; every selected or named image is known to
/// the catalog as an accepted image when the annotation is appended (an image removed later keeps its annotations:
/// the history is not rewritten).</item>
/// <item>An undo names a stored annotation that is not itself an undo and not already undone. The check and the
/// append are not one transaction: two undos of one annotation appended at the same instant on two hosts may both be
/// stored, and then the earlier counts and the later withdraws nothing more (<see cref="AnnotationLog.Effective"/>).
/// An undo carries the cluster, run and model of the annotation it withdraws, so it lists with it.</item>
/// </list>
/// <para><b>Errors.</b> A refused annotation is an <see cref="AnnotationRefusedException"/> whose
/// <see cref="AnnotationRefusal"/> says why: <see cref="AnnotationRefusal.Invalid"/> and
/// <see cref="AnnotationRefusal.TooLarge"/> (the rules), <see cref="AnnotationRefusal.UnknownImage"/>,
/// <see cref="AnnotationRefusal.UnknownAnnotation"/> and <see cref="AnnotationRefusal.AlreadyUndone"/> (undo). Storage
/// failures surface as the blob store's own exceptions. A stored record that does not read back as an annotation
/// (changed by hand) is an <see cref="InvalidDataException"/> naming it: the history is never silently shortened.</para>
/// </remarks>
public interface IAnnotationStore
{
    /// <summary>Checks <paramref name="draft"/> and appends it, giving it an id and the store's current time.</summary>
    /// <exception cref="AnnotationRefusedException">The annotation is refused (see the remarks).</exception>
    Task<Annotation> AppendAsync(AnnotationDraft draft, CancellationToken cancellationToken = default);

    /// <summary>The annotation with this id, or null when there is none (also for text that is not an id).</summary>
    Task<Annotation?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The whole history in id (time) order, undos included; with <paramref name="clusterId"/>, only the
    /// annotations of that cluster and the undos of them.</summary>
    Task<IReadOnlyList<Annotation>> ListAsync(string? clusterId = null, CancellationToken cancellationToken = default);
}
