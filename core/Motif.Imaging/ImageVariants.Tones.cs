using NetVips;

namespace Motif.Imaging;

/// <summary>Reproductions that change tone and colour, not shape: greyscale and monochrome prints, and the contrast and
/// colour cast of a photograph of the work.</summary>
public static partial class ImageVariants
{
    /// <summary>A greyscale reproduction (a black-and-white photograph or halftone plate): the luminance, written as
    /// 3-band sRGB with equal channels, so that it goes through the same colour pipeline as every other image.</summary>
    public static byte[] Greyscale(ReadOnlySpan<byte> image, int quality = DefaultQuality) =>
        Transform(image, nameof(image), quality, source =>
        {
            using var grey = source.Colourspace(Enums.Interpretation.Bw);
            return grey.Bandjoin(grey, grey).Copy(interpretation: Enums.Interpretation.Srgb);
        });

    /// <summary>
    /// A monochrome reproduction in the colours of a print process (a sepia-toned albumen print, a cyanotype, a
    /// sanguine): the luminance L in 0…255 mapped to <paramref name="dark"/> + (<paramref name="light"/> −
    /// <paramref name="dark"/>) × L / 255, per channel.
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="dark">The colour of black (red, green, blue).</param>
    /// <param name="light">The colour of white (red, green, blue).</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Monochrome(ReadOnlySpan<byte> image, (byte R, byte G, byte B) dark, (byte R, byte G, byte B) light, int quality = DefaultQuality)
    {
        double[] slope = [(light.R - dark.R) / 255.0, (light.G - dark.G) / 255.0, (light.B - dark.B) / 255.0];
        double[] offset = [dark.R, dark.G, dark.B];
        return Transform(image, nameof(image), quality, source =>
        {
            using var grey = source.Colourspace(Enums.Interpretation.Bw);
            using var three = grey.Bandjoin(grey, grey);
            using var tinted = three.Linear(slope, offset, uchar: true);
            return tinted.Copy(interpretation: Enums.Interpretation.Srgb);
        });
    }

    /// <summary>
    /// A photograph of the work under other light and film: each channel v in 0…255 becomes
    /// gain × (contrast × (255 × (v / 255)^gamma − 128) + 128) + offset, rounded and clipped to 0…255. Gamma above 1
    /// darkens the middle tones (an under-exposed plate), contrast above 1 spreads them, and the per-channel gains and
    /// offsets are the colour cast (tungsten light, faded dyes, another white balance).
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="gamma">Exponent in [0.25, 4].</param>
    /// <param name="contrast">Contrast gain around mid-grey in [0.25, 4].</param>
    /// <param name="gains">Three multipliers (red, green, blue), each in (0, 4].</param>
    /// <param name="offsets">Three offsets (red, green, blue), each in [−255, 255].</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Photograph(ReadOnlySpan<byte> image, double gamma, double contrast, ReadOnlySpan<double> gains, ReadOnlySpan<double> offsets, int quality = DefaultQuality)
    {
        if (!double.IsFinite(gamma) || gamma < 0.25 || gamma > 4)
        {
            throw new ArgumentException($"The gamma must be in [0.25, 4], not {gamma}.", nameof(gamma));
        }
        if (!double.IsFinite(contrast) || contrast < 0.25 || contrast > 4)
        {
            throw new ArgumentException($"The contrast must be in [0.25, 4], not {contrast}.", nameof(contrast));
        }
        if (gains.Length != 3 || !AllIn(gains, double.Epsilon, 4))
        {
            throw new ArgumentException($"Give three gains (red, green, blue) in (0, 4]; got [{string.Join(", ", gains.ToArray())}].", nameof(gains));
        }
        if (offsets.Length != 3 || !AllIn(offsets, -255, 255))
        {
            throw new ArgumentException($"Give three offsets (red, green, blue) in [-255, 255]; got [{string.Join(", ", offsets.ToArray())}].", nameof(offsets));
        }
        // Expanded: p = (v/255)^gamma, out = p × 255·contrast·gain + gain·128·(1 − contrast) + offset.
        var (g, o) = (gains.ToArray(), offsets.ToArray());
        double[] slope = [.. g.Select(x => 255 * contrast * x)];
        double[] shift = [.. g.Select((x, c) => x * 128 * (1 - contrast) + o[c])];
        return Transform(image, nameof(image), quality, source =>
        {
            using var unit = source.Linear([1 / 255.0], [0.0]);
            using var curved = unit.Math2Const(Enums.OperationMath2.Pow, [gamma]);
            using var result = curved.Linear(slope, shift, uchar: true);
            return result.Copy(interpretation: Enums.Interpretation.Srgb);
        });
    }
}
