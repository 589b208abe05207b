namespace Motif.Core.Annotations;

/// <summary>Why an annotation was refused. Hosts map them to exit codes and HTTP statuses (see each member).</summary>
public enum AnnotationRefusal
{
    /// <summary>Malformed: a missing or hostile field, an empty selection, an image twice (HTTP 400).</summary>
    Invalid,
    /// <summary>More images, or longer text, than <see cref="AnnotationRules"/> allows (HTTP 413).</summary>
    TooLarge,
    /// <summary>An image id the catalog does not know as an accepted image (HTTP 422).</summary>
    UnknownImage,
    /// <summary>The cluster is not in the manifest being annotated, or no manifest has been published (HTTP 404).</summary>
    UnknownCluster,
    /// <summary>A selected image is not a member of the annotated cluster (HTTP 422).</summary>
    NotInCluster,
    /// <summary>An undo names no stored annotation (HTTP 404).</summary>
    UnknownAnnotation,
    /// <summary>An undo names an annotation that is already undone, or is itself an undo (HTTP 409).</summary>
    AlreadyUndone,
    /// <summary>The request names the run the curator was looking at, and a later run has been published since: the
    /// cluster ids may mean other groups now (HTTP 409).</summary>
    StaleRun,
}

/// <summary>An annotation refused for a reason the curator can act on. The message is one line and never echoes
/// control characters.</summary>
public sealed class AnnotationRefusedException(AnnotationRefusal refusal, string message) : Exception(message)
{
    public AnnotationRefusal Refusal { get; } = refusal;
}

/// <summary>The names of <see cref="AnnotationRefusal"/>s in messages, exit lines and the HTTP API's problem <c>code</c>.</summary>
public static class AnnotationRefusals
{
    /// <summary>invalid, too-large, unknown-image, unknown-cluster, not-in-cluster, unknown-annotation, already-undone.</summary>
    public static string Code(AnnotationRefusal refusal) => refusal switch
    {
        AnnotationRefusal.Invalid => "invalid",
        AnnotationRefusal.TooLarge => "too-large",
        AnnotationRefusal.UnknownImage => "unknown-image",
        AnnotationRefusal.UnknownCluster => "unknown-cluster",
        AnnotationRefusal.NotInCluster => "not-in-cluster",
        AnnotationRefusal.UnknownAnnotation => "unknown-annotation",
        AnnotationRefusal.AlreadyUndone => "already-undone",
        AnnotationRefusal.StaleRun => "stale-run",
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal, null),
    };
}
