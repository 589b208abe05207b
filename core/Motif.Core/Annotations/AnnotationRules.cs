using System.Text;

namespace Motif.Core.Annotations;

/// <summary>
/// What an annotation may hold. Everything in it comes from a curator's browser or command line and ends up in
/// terminals, logs, CSV exports and other curators' screens, so text is refused, never repaired, when it could
/// mislead a reader: control characters (terminal escapes, line breaks in a name), Unicode format characters (bidi
/// overrides that reverse what is displayed, zero-width joiners that make two names look alike), line and paragraph
/// separators, unpaired surrogates (not representable in UTF-8), and surrounding spaces in a name.
/// </summary>
/// <remarks>Sizes are bounded so that one request cannot make an unbounded blob or an unbounded number of edges:
/// a confirmation of <see cref="MaxImages"/> images makes at most 19,900 POSITIVE edges.</remarks>
public static class AnnotationRules
{
    /// <summary>The most images one annotation selects.</summary>
    public const int MaxImages = 200;

    /// <summary>The most "other members" a wrong-member annotation records (the cluster's size minus the selection).</summary>
    public const int MaxOthers = 10_000;

    /// <summary>The longest annotator name.</summary>
    public const int MaxAnnotatorLength = 128;

    /// <summary>The longest note.</summary>
    public const int MaxNoteLength = 2_000;

    /// <summary>The longest cluster id, run id or model version.</summary>
    public const int MaxNameLength = 256;

    /// <summary>The longest image id (a blob name's limit).</summary>
    public const int MaxImageIdLength = 1024;

    /// <summary>Throws unless <paramref name="draft"/> is well formed by the rules above and the label's own:
    /// confirm, similar and wrong cluster select at least two distinct images; wrong member selects at least one and
    /// names the others, disjoint from it; an undo selects nothing and names the annotation it withdraws.</summary>
    /// <exception cref="AnnotationRefusedException"><see cref="AnnotationRefusal.Invalid"/> or <see cref="AnnotationRefusal.TooLarge"/>.</exception>
    public static void Validate(AnnotationDraft draft)
    {
        if (draft is null)
        {
            throw Invalid("the annotation is missing");
        }
        Text("annotator", draft.Annotator, MaxAnnotatorLength, required: true, multiline: false);
        if (draft.Annotator.Trim().Length != draft.Annotator.Length)
        {
            throw Invalid("the annotator has surrounding spaces");
        }
        if (!Enum.IsDefined(draft.Label))
        {
            throw Invalid("unknown label");
        }
        Text("note", draft.Note, MaxNoteLength, required: false, multiline: true);
        var images = draft.Images ?? throw Invalid("images are missing");
        var others = draft.Others ?? throw Invalid("others are missing");
        if (draft.Label == AnnotationLabel.Undo)
        {
            if (images.Count > 0 || others.Count > 0)
            {
                throw Invalid("an undo selects no images: it names the annotation it withdraws");
            }
            if (!AnnotationIds.IsValid(draft.Undoes))
            {
                throw Invalid("an undo needs the id of the annotation it withdraws");
            }
            return;
        }
        if (draft.Undoes is not null)
        {
            throw Invalid("only an undo names another annotation");
        }
        Text("cluster", draft.ClusterId, MaxNameLength, required: true, multiline: false);
        Text("run id", draft.RunId, MaxNameLength, required: false, multiline: false);
        Text("model version", draft.ModelVersion, MaxNameLength, required: false, multiline: false);
        if (images.Count > MaxImages)
        {
            throw new AnnotationRefusedException(AnnotationRefusal.TooLarge, $"{images.Count} images selected; at most {MaxImages} per annotation");
        }
        if (others.Count > MaxOthers)
        {
            throw new AnnotationRefusedException(AnnotationRefusal.TooLarge, $"{others.Count} other members; at most {MaxOthers} per annotation");
        }
        var minimum = draft.Label == AnnotationLabel.WrongMember ? 1 : 2;
        if (images.Count < minimum)
        {
            throw Invalid(images.Count == 0 ? "no image selected" : $"'{Label(draft.Label)}' needs at least two images");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            ImageId(image);
            if (!seen.Add(image))
            {
                throw Invalid($"the image '{Printable(image)}' is selected twice");
            }
        }
        if (draft.Label == AnnotationLabel.WrongMember)
        {
            if (others.Count == 0)
            {
                throw Invalid("a wrong member needs the cluster's other members (every member is wrong: use wrong-cluster)");
            }
            foreach (var image in others)
            {
                ImageId(image);
                if (!seen.Add(image))
                {
                    throw Invalid($"the image '{Printable(image)}' is both selected and among the others, or named twice");
                }
            }
        }
        else if (others.Count > 0)
        {
            throw Invalid("only a wrong-member annotation names other members");
        }
    }

    /// <summary>The label's name in the CLI, the HTTP API and the stored JSON: confirm, wrong-member, wrong-cluster,
    /// similar, undo.</summary>
    public static string Label(AnnotationLabel label) => label switch
    {
        AnnotationLabel.Confirm => "confirm",
        AnnotationLabel.WrongMember => "wrong-member",
        AnnotationLabel.WrongCluster => "wrong-cluster",
        AnnotationLabel.Similar => "similar",
        AnnotationLabel.Undo => "undo",
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, null),
    };

    /// <summary>The label named <paramref name="name"/> (exactly as <see cref="Label"/> writes it), or null.</summary>
    public static AnnotationLabel? ParseLabel(string? name) =>
        Enum.GetValues<AnnotationLabel>().Select(l => (AnnotationLabel?)l).FirstOrDefault(l => string.Equals(Label(l!.Value), name, StringComparison.Ordinal));

    /// <summary>Throws unless <paramref name="imageId"/> is a plausible image id (1 to <see cref="MaxImageIdLength"/>
    /// characters, no control, format or separator character, no unpaired surrogate). Whether the catalog knows it is
    /// the store's check.</summary>
    public static void ImageId(string? imageId) => Text("image id", imageId, MaxImageIdLength, required: true, multiline: false);

    /// <summary><paramref name="text"/> with control and format characters escaped and cut at 80 characters: safe to
    /// put in a one-line message.</summary>
    public static string Printable(string? text)
    {
        if (text is null)
        {
            return "";
        }
        var shown = text.Length > 80 ? text[..80] + "…" : text;
        var sb = new StringBuilder(shown.Length);
        foreach (var c in shown)
        {
            sb.Append(HostileText.IsUnsafe(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }
        return sb.ToString();
    }

    private static void Text(string field, string? value, int maxLength, bool required, bool multiline)
    {
        if (value is null || value.Length == 0 || string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                throw Invalid($"the {field} is empty");
            }
            if (value is null || value.Length == 0)
            {
                return;
            }
        }
        if (value.Length > maxLength)
        {
            throw new AnnotationRefusedException(AnnotationRefusal.TooLarge, $"the {field} is longer than {maxLength} characters");
        }
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
            {
                throw Invalid($"the {field} has an unpaired surrogate at {i}");
            }
            if (multiline && c == '\n')
            {
                continue;
            }
            if (HostileText.IsUnsafe(c))
            {
                throw Invalid($"the {field} has the character U+{(int)c:X4} at {i} (control, format or line separator characters are refused)");
            }
        }
    }


    private static AnnotationRefusedException Invalid(string message) => new(AnnotationRefusal.Invalid, message);
}
