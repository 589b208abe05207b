namespace Motif.Imaging.Derivations;

/// <summary>
/// Makes the synthetic copy that a <see cref="Derivation"/> describes, with <see cref="ImageVariants"/>' operations:
/// as an encoded image, or directly as the model's input. The same image, derivation and host give the same bytes
/// (libvips' operations and JPEG encoding are deterministic). Thread-safe.
/// </summary>
/// <remarks>
/// The input is whatever the caller has at hand; the pipeline passes its working derivative (long side ≤ 1,024 px),
/// which keeps one copy to tens of milliseconds: the model sees 224 px anyway. An input or derivation that cannot be
/// used raises <see cref="ArgumentException"/> naming the parameter, as <see cref="ImageVariants"/> does.
/// </remarks>
public static class DerivationRenderer
{
    /// <summary>The synthetic copy as a JPEG (<paramref name="quality"/>), metadata stripped.</summary>
    /// <param name="image">The encoded image to copy.</param>
    /// <param name="derivation">What to do to it.</param>
    /// <param name="host">For a <see cref="PastedMotif"/>: the encoded host image it names; ignored otherwise.</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Render(ReadOnlySpan<byte> image, Derivation derivation, ReadOnlySpan<byte> host = default, int quality = ImageVariants.DefaultQuality)
    {
        ArgumentNullException.ThrowIfNull(derivation);
        return derivation switch
        {
            Detail d => ImageVariants.Crop(image, d.Area, quality),
            MirrorCopy => ImageVariants.Mirror(image, quality),
            GreyscaleCopy => ImageVariants.Greyscale(image, quality),
            MonochromeCopy m => ImageVariants.Monochrome(image, m.Dark, m.Light, quality),
            PhotographicCopy p => ImageVariants.Photograph(image, p.Gamma, p.Contrast, p.Gains.ToArray(), p.Offsets.ToArray(), quality),
            Tilt t => ImageVariants.Rotate(image, t.Degrees, quality),
            PerspectiveCopy p => ImageVariants.Perspective(image, p.Insets.ToArray(), quality),
            DamagedCopy d => ImageVariants.Damage(image, d.Blotches, d.Stain, d.Opacity, d.Tear, d.TearWidth, quality),
            NoisePatchCopy n => ImageVariants.NoisePatch(image, n.Area, n.NoiseSeed, quality),
            EngravedCopy e => ImageVariants.Engraving(image, e.Contrast, e.EdgeWeight, quality),
            ReproducedDetail r => Reproduce(image, r, quality),
            PastedMotif p => Paste(image, p, host, quality),
            _ => throw new ArgumentException($"Unknown derivation {derivation.GetType().Name}.", nameof(derivation)),
        };
    }

    /// <summary>The synthetic copy as the model's input: <paramref name="spec"/>.ValuesPerImage floats, CHW, exactly as
    /// <see cref="ImageCodec.Preprocess"/> makes them from the copy's JPEG (so a copy is seen as a stored image is).</summary>
    /// <exception cref="ImageRejectedException">The copy cannot be preprocessed (it was rendered, so this means a limit).</exception>
    public static void RenderModelInput(ReadOnlySpan<byte> image, Derivation derivation, PreprocessSpec spec, Span<float> destination, ReadOnlySpan<byte> host = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var copy = Render(image, derivation, host);
        ImageCodec.Preprocess(copy, spec, destination);
    }

    private static byte[] Reproduce(ReadOnlySpan<byte> image, ReproducedDetail reproduction, int quality)
    {
        if (reproduction.Then is not (PhotographicCopy or MonochromeCopy or EngravedCopy or Tilt))
        {
            throw new ArgumentException($"A reproduced detail is then photographed, printed in one tone, engraved or tilted, not '{reproduction.Then.Kind}'.", nameof(reproduction));
        }
        // Two encodes, as for a pasted motif: the detail at quality 95, so only the final JPEG's loss is the copy's.
        var part = ImageVariants.Crop(image, reproduction.Area, 95);
        return Render(part, reproduction.Then, default, quality);
    }

    private static byte[] Paste(ReadOnlySpan<byte> image, PastedMotif pasted, ReadOnlySpan<byte> host, int quality)
    {
        if (host.IsEmpty)
        {
            throw new ArgumentException($"A pasted motif needs its host image ('{pasted.Host}') to paste into.", nameof(host));
        }
        // Two encodes: the detail is written at quality 95 so its own artefacts stay well under the final JPEG's.
        var part = ImageVariants.Crop(image, pasted.Area, 95);
        return ImageVariants.PasteInto(part, host, pasted.RelativeSize, pasted.X, pasted.Y, quality);
    }
}
