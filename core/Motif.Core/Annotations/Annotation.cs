namespace Motif.Core.Annotations;

/// <summary>
/// What a curator said about a cluster. The first four are the buttons of the research's annotation tool (SEEDS.md,
/// Replica "human in the loop": confirm pattern, confirm pattern and wrong, similar, wrong cluster); <see cref="Undo"/>
/// is Motif's, which the research lacked ("no users, locking or undo existed").
/// </summary>
public enum AnnotationLabel
{
    /// <summary>The selected images share a visual pattern (POSITIVE between every pair of them).</summary>
    Confirm,
    /// <summary>The selected images do not belong with the rest of the cluster (NEGATIVE, selected × rest).</summary>
    WrongMember,
    /// <summary>The selected images were grouped wrongly: no two of them share the pattern (NEGATIVE, every pair).</summary>
    WrongCluster,
    /// <summary>The selected images look alike but are not the same pattern (SIMILAR, every pair).</summary>
    Similar,
    /// <summary>Withdraws an earlier annotation, named by <see cref="Annotation.Undoes"/>.</summary>
    Undo,
}

/// <summary>An annotation as a curator asks for it, before the store gives it an id and a time.</summary>
/// <param name="Annotator">Who annotates: an App Service principal name, or the OS user for the CLI.</param>
/// <param name="Label">What is said.</param>
/// <param name="Images">The selected images (ticked cards); empty for <see cref="AnnotationLabel.Undo"/>.</param>
public sealed record AnnotationDraft(string Annotator, AnnotationLabel Label, IReadOnlyList<string> Images)
{
    /// <summary>The manifest run the curator was looking at; null for an undo.</summary>
    public string? RunId { get; init; }

    /// <summary>The model version of that manifest's signatures; null for an undo.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The cluster annotated (an id of that manifest); null for an undo.</summary>
    public string? ClusterId { get; init; }

    /// <summary>For <see cref="AnnotationLabel.WrongMember"/>: the cluster's other members when it was annotated, which
    /// the selected images are said not to belong with (a snapshot: the next manifest may regroup them). Empty otherwise.</summary>
    public IReadOnlyList<string> Others { get; init; } = [];

    /// <summary>For <see cref="AnnotationLabel.Undo"/>: the id of the annotation withdrawn.</summary>
    public string? Undoes { get; init; }

    /// <summary>An optional free-text note.</summary>
    public string? Note { get; init; }
}

/// <summary>A stored annotation: immutable once written.</summary>
/// <param name="Id">Given by the store; ids sort in the order annotations were made (see <see cref="AnnotationIds"/>).</param>
/// <param name="CreatedAt">When the store accepted it (UTC).</param>
/// <param name="Draft">What the curator asked for.</param>
public sealed record Annotation(string Id, DateTimeOffset CreatedAt, AnnotationDraft Draft)
{
    public string Annotator => Draft.Annotator;

    public AnnotationLabel Label => Draft.Label;

    public IReadOnlyList<string> Images => Draft.Images;

    public string? ClusterId => Draft.ClusterId;

    public string? Undoes => Draft.Undoes;
}
