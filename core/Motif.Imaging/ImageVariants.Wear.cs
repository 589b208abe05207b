using NetVips;
using VipsImage = NetVips.Image;

namespace Motif.Imaging;

/// <summary>A round stain on a damaged copy, placed in fractions of the image.</summary>
/// <param name="X">Centre, fraction of the width, in [0, 1].</param>
/// <param name="Y">Centre, fraction of the height, in [0, 1].</param>
/// <param name="Radius">Radius, fraction of the shorter side, in (0, 0.5].</param>
public readonly record struct Blotch(double X, double Y, double Radius);

/// <summary>A point of a tear's path, in fractions of the width and height, each in [0, 1].</summary>
public readonly record struct TearPoint(double X, double Y);

/// <summary>Copies that time and handling have damaged: stains, tears, and a patch of noise where something was lost.</summary>
public static partial class ImageVariants
{
    /// <summary>
    /// A damaged copy: soft-edged <paramref name="blotches"/> of <paramref name="stain"/> (foxing, water stains) blended
    /// in at <paramref name="opacity"/>, then a tear along <paramref name="tear"/> (a polyline, drawn
    /// <paramref name="tearWidth"/> of the shorter side wide) showing bare paper. Either may be empty.
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="blotches">At most 32 stains.</param>
    /// <param name="stain">Colour of the stains (red, green, blue).</param>
    /// <param name="opacity">How much the stain covers at its centre, in [0, 1].</param>
    /// <param name="tear">No point, or 2 to 32 points.</param>
    /// <param name="tearWidth">Width of the tear, fraction of the shorter side, in [0, 0.1].</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Damage(ReadOnlySpan<byte> image, IReadOnlyList<Blotch> blotches, (byte R, byte G, byte B) stain, double opacity,
        IReadOnlyList<TearPoint> tear, double tearWidth, int quality = DefaultQuality)
    {
        ArgumentNullException.ThrowIfNull(blotches);
        ArgumentNullException.ThrowIfNull(tear);
        if (blotches.Count > 32 || blotches.Any(b => !(b.X is >= 0 and <= 1) || !(b.Y is >= 0 and <= 1) || !(b.Radius is > 0 and <= 0.5)))
        {
            throw new ArgumentException("Give at most 32 blotches, centres in [0, 1] and radii in (0, 0.5].", nameof(blotches));
        }
        if (!(opacity is >= 0 and <= 1))
        {
            throw new ArgumentException($"The opacity must be in [0, 1], not {opacity}.", nameof(opacity));
        }
        if (tear.Count is 1 or > 32 || tear.Any(p => !(p.X is >= 0 and <= 1) || !(p.Y is >= 0 and <= 1)))
        {
            throw new ArgumentException("Give a tear of no point or 2 to 32 points, each in [0, 1].", nameof(tear));
        }
        if (!(tearWidth is >= 0 and <= 0.1))
        {
            throw new ArgumentException($"The tear's width must be in [0, 0.1], not {tearWidth}.", nameof(tearWidth));
        }
        double[] stainColour = [stain.R, stain.G, stain.B];
        return Transform(image, nameof(image), quality, source =>
        {
            var side = Math.Min(source.Width, source.Height);
            var stained = source;
            if (blotches.Count > 0 && opacity > 0)
            {
                using var black = VipsImage.Black(source.Width, source.Height);
                using var shapes = black.Mutate(mask =>
                {
                    foreach (var b in blotches)
                    {
                        var radius = Math.Max(1, (int)Math.Round(b.Radius * side));
                        mask.DrawCircle([255.0], (int)Math.Round(b.X * (source.Width - 1)), (int)Math.Round(b.Y * (source.Height - 1)), radius, fill: true);
                    }
                });
                // Soft edges, as a stain spreads in the paper: a blur of a fifth of the mean radius.
                var sigma = Math.Max(0.5, 0.2 * blotches.Average(b => b.Radius) * side);
                using var soft = shapes.Cast(Enums.BandFormat.Float).Gaussblur(sigma);
                using var alpha = soft.Linear([opacity / 255], [0.0]);
                using var keep = alpha.Linear([-1.0], [1.0]);
                using var kept = source.Multiply(keep);
                using var ink = alpha.Linear(stainColour, [0.0, 0.0, 0.0]);
                using var sum = kept.Add(ink);
                stained = sum.Cast(Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);
            }
            if (tear.Count < 2 || tearWidth <= 0)
            {
                return stained == source ? source.Copy() : stained;
            }
            var radiusPixels = Math.Max(1, (int)Math.Round(tearWidth * side / 2));
            double[] paper = [246, 241, 230];
            var torn = stained.Mutate(canvas =>
            {
                // A thick line as discs along each segment, one pixel apart.
                for (var i = 1; i < tear.Count; i++)
                {
                    double x0 = tear[i - 1].X * (source.Width - 1), y0 = tear[i - 1].Y * (source.Height - 1);
                    double x1 = tear[i].X * (source.Width - 1), y1 = tear[i].Y * (source.Height - 1);
                    var steps = Math.Max(1, (int)Math.Ceiling(Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0))));
                    for (var s = 0; s <= steps; s++)
                    {
                        var t = (double)s / steps;
                        canvas.DrawCircle(paper, (int)Math.Round(x0 + t * (x1 - x0)), (int)Math.Round(y0 + t * (y1 - y0)), radiusPixels, fill: true);
                    }
                }
            });
            if (stained != source)
            {
                stained.Dispose();
            }
            return torn;
        });
    }

    /// <summary>
    /// A copy with <paramref name="area"/> replaced by uniform random noise (a lost fragment filled with an unrelated
    /// texture): the noise is drawn from <paramref name="noiseSeed"/>, so the same seed gives the same pixels.
    /// </summary>
    public static byte[] NoisePatch(ReadOnlySpan<byte> image, RelativeArea area, int noiseSeed, int quality = DefaultQuality)
    {
        area.Check(nameof(area));
        return Transform(image, nameof(image), quality, source =>
        {
            var (left, top, width, height) = area.ToPixels(source.Width, source.Height);
            var noise = new byte[width * height * 3];
            new Random(noiseSeed).NextBytes(noise);
            using var patch = VipsImage.NewFromMemory(noise, width, height, 3, Enums.BandFormat.Uchar);
            using var covered = source.Insert(patch, left, top);
            // Into memory now: the patch refers to the managed array, which must not outlive this call.
            return covered.CopyMemory();
        });
    }
}
