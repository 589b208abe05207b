namespace Motif.Imaging.Derivations;

/// <summary>
/// One way an artwork gets copied, with its parameters: what <see cref="DerivationRenderer"/> applies to an image to
/// make a synthetic copy that shows the same pattern. Drawn by <see cref="DerivationSampler"/>; a value, so two equal
/// derivations of the same image give the same bytes. <see cref="Kind"/> names it in reports and file names.
/// </summary>
public abstract record Derivation
{
    private protected Derivation()
    {
    }

    /// <summary>Short lowercase name of the kind: detail, mirror, greyscale, monochrome, photograph, tilt, perspective,
    /// damage, noise-patch, reproduction, pasted; engraving, only as a reproduction's second step.</summary>
    public abstract string Kind { get; }
}

/// <summary>A detail: the part of the image inside <paramref name="Area"/>.</summary>
public sealed record Detail(RelativeArea Area) : Derivation
{
    public override string Kind => "detail";
}

/// <summary>A mirror-image copy (a print reverses the drawing it was engraved from).</summary>
public sealed record MirrorCopy : Derivation
{
    public override string Kind => "mirror";
}

/// <summary>A greyscale reproduction (black-and-white photograph, halftone plate).</summary>
public sealed record GreyscaleCopy : Derivation
{
    public override string Kind => "greyscale";
}

/// <summary>A monochrome reproduction in a print process's colours, from <paramref name="Dark"/> to <paramref name="Light"/>.</summary>
public sealed record MonochromeCopy((byte R, byte G, byte B) Dark, (byte R, byte G, byte B) Light) : Derivation
{
    public override string Kind => "monochrome";
}

/// <summary>A photograph under other light and film (see <see cref="ImageVariants.Photograph"/>).</summary>
public sealed record PhotographicCopy(double Gamma, double Contrast, ColourTriple Gains, ColourTriple Offsets) : Derivation
{
    public override string Kind => "photograph";
}

/// <summary>A slightly rotated copy, cropped so that no empty corner shows.</summary>
public sealed record Tilt(double Degrees) : Derivation
{
    public override string Kind => "tilt";
}

/// <summary>A photograph taken at a slant (see <see cref="ImageVariants.Perspective"/>): eight corner insets.</summary>
public sealed record PerspectiveCopy(IReadOnlyList<double> Insets) : Derivation
{
    public override string Kind => "perspective";

    public bool Equals(PerspectiveCopy? other) => other is not null && Insets.SequenceEqual(other.Insets);

    public override int GetHashCode() => Insets.Aggregate(17, (h, v) => h * 31 + v.GetHashCode());
}

/// <summary>A damaged copy: stains and a tear (see <see cref="ImageVariants.Damage"/>).</summary>
public sealed record DamagedCopy(IReadOnlyList<Blotch> Blotches, (byte R, byte G, byte B) Stain, double Opacity, IReadOnlyList<TearPoint> Tear, double TearWidth) : Derivation
{
    public override string Kind => "damage";

    public bool Equals(DamagedCopy? other) =>
        other is not null && Blotches.SequenceEqual(other.Blotches) && Stain == other.Stain && Opacity.Equals(other.Opacity)
        && Tear.SequenceEqual(other.Tear) && TearWidth.Equals(other.TearWidth);

    public override int GetHashCode() => HashCode.Combine(Blotches.Count, Stain, Opacity, Tear.Count, TearWidth);
}

/// <summary>A copy with a lost fragment: <paramref name="Area"/> filled with noise drawn from <paramref name="NoiseSeed"/>.</summary>
public sealed record NoisePatchCopy(RelativeArea Area, int NoiseSeed) : Derivation
{
    public override string Kind => "noise-patch";
}

/// <summary>An engraving after the image (see <see cref="ImageVariants.Engraving"/>): greyscale, contrast raised, outlines
/// inked. Drawn only as the second step of a <see cref="ReproducedDetail"/>.</summary>
public sealed record EngravedCopy(double Contrast, double EdgeWeight) : Derivation
{
    public override string Kind => "engraving";
}

/// <summary>
/// A reproduction of a detail, the chain a book's or a print's copy goes through: the part inside <paramref name="Area"/>,
/// then <paramref name="Then"/> (a <see cref="PhotographicCopy"/>, <see cref="MonochromeCopy"/>, <see cref="EngravedCopy"/>
/// or <see cref="Tilt"/>) applied to that part. Each step alone is another kind; together they are what the benchmark's
/// reproductions and a museum's are, and what a model trained on single steps did not learn to match (issue 11).
/// </summary>
public sealed record ReproducedDetail(RelativeArea Area, Derivation Then) : Derivation
{
    public override string Kind => "reproduction";
}

/// <summary>
/// A motif pasted into another composition: the part <paramref name="Area"/> of the image, scaled to
/// <paramref name="RelativeSize"/> of the host image <paramref name="Host"/> (an image id of the same collection) and
/// placed at (<paramref name="X"/>, <paramref name="Y"/>) (see <see cref="ImageVariants.PasteInto"/>).
/// </summary>
public sealed record PastedMotif(RelativeArea Area, string Host, double RelativeSize, double X, double Y) : Derivation
{
    public override string Kind => "pasted";
}

/// <summary>Three values, red, green and blue (a value type, so a derivation holding it compares by value).</summary>
public readonly record struct ColourTriple(double R, double G, double B)
{
    internal double[] ToArray() => [R, G, B];
}
