using Motif.Imaging.Libvips;
using NetVips;
using VipsImage = NetVips.Image;

namespace Motif.Imaging;

/// <summary>
/// A rectangle given as fractions of an image's width and height, so that it means the same thing at any
/// resolution: (0, 0, 1, 1) is the whole image. Converted to pixels by rounding, at least one pixel each way.
/// </summary>
/// <param name="Left">Left edge, 0 ≤ Left &lt; 1.</param>
/// <param name="Top">Top edge, 0 ≤ Top &lt; 1.</param>
/// <param name="Width">0 &lt; Width, Left + Width ≤ 1.</param>
/// <param name="Height">0 &lt; Height, Top + Height ≤ 1.</param>
public readonly record struct RelativeArea(double Left, double Top, double Width, double Height)
{
    /// <summary>The whole image.</summary>
    public static RelativeArea Whole => new(0, 0, 1, 1);

    /// <summary>Share of the image's area that the rectangle covers.</summary>
    public double AreaFraction => Width * Height;

    internal void Check(string parameterName)
    {
        const double slack = 1e-9;
        if (!double.IsFinite(Left) || !double.IsFinite(Top) || !double.IsFinite(Width) || !double.IsFinite(Height)
            || Left < 0 || Top < 0 || Width <= 0 || Height <= 0 || Left + Width > 1 + slack || Top + Height > 1 + slack)
        {
            throw new ArgumentException(
                $"{this} is not a rectangle inside the image: fractions need 0 ≤ left, 0 ≤ top, 0 < width, 0 < height, left + width ≤ 1, top + height ≤ 1.",
                parameterName);
        }
    }

    /// <summary>The pixel rectangle inside a <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image.</summary>
    internal (int Left, int Top, int Width, int Height) ToPixels(int imageWidth, int imageHeight)
    {
        var left = Math.Clamp((int)Math.Round(Left * imageWidth), 0, imageWidth - 1);
        var top = Math.Clamp((int)Math.Round(Top * imageHeight), 0, imageHeight - 1);
        var width = Math.Clamp((int)Math.Round(Width * imageWidth), 1, imageWidth - left);
        var height = Math.Clamp((int)Math.Round(Height * imageHeight), 1, imageHeight - top);
        return (left, top, width, height);
    }
}

/// <summary>
/// Derived images, the way artworks get copied: crops, mirror images, rotations, colour casts, engravings after
/// a painting, damaged or covered copies, and a motif pasted into another scene. Used to build sample collections
/// with a known ground truth (<c>motif sample</c>), and to test that signatures survive such changes.
/// </summary>
/// <remarks>
/// Every method takes an encoded image (any format libvips reads and does not block: JPEG, PNG, WebP, TIFF…),
/// decodes it strictly (<c>fail_on=warning</c>, pixel count checked on the header against
/// <see cref="ValidationLimits.Default"/>, EXIF orientation applied, converted to 8-bit sRGB with transparency
/// flattened on white) and returns a new baseline JPEG, metadata stripped. Colour variants are 3-band sRGB;
/// <see cref="Engraving"/> is 1-band greyscale. An input that cannot be used, or an argument out of range,
/// raises <see cref="ArgumentException"/> naming the parameter. The same input and arguments always give the
/// same bytes. Thread-safe.
/// </remarks>
public static partial class ImageVariants
{
    /// <summary>JPEG quality of the results unless a call says otherwise.</summary>
    public const int DefaultQuality = 90;

    /// <summary>The part of the image inside <paramref name="area"/>.</summary>
    public static byte[] Crop(ReadOnlySpan<byte> image, RelativeArea area, int quality = DefaultQuality)
    {
        area.Check(nameof(area));
        return Transform(image, nameof(image), quality, source =>
        {
            var (left, top, width, height) = area.ToPixels(source.Width, source.Height);
            return source.ExtractArea(left, top, width, height);
        });
    }

    /// <summary>The mirror image (left and right swapped).</summary>
    public static byte[] Mirror(ReadOnlySpan<byte> image, int quality = DefaultQuality) =>
        Transform(image, nameof(image), quality, source => source.Flip(Enums.Direction.Horizontal));

    /// <summary>
    /// Rotated clockwise by <paramref name="degrees"/>. Multiples of 90° are exact (width and height swap for odd
    /// multiples). Any other angle is interpolated (bilinear) and then cropped to the largest centred rectangle
    /// with the original proportions that lies wholly inside the rotated picture, so no empty corner shows:
    /// at 12° a 4:3 image keeps about 80 % of each side.
    /// </summary>
    public static byte[] Rotate(ReadOnlySpan<byte> image, double degrees, int quality = DefaultQuality)
    {
        if (!double.IsFinite(degrees))
        {
            throw new ArgumentException($"The angle must be a finite number of degrees, not {degrees}.", nameof(degrees));
        }
        var turn = degrees % 360;
        if (turn < 0)
        {
            turn += 360;
        }
        return Transform(image, nameof(image), quality, source =>
        {
            if (turn % 90 == 0)
            {
                var angle = (Enums.Angle)(int)(turn / 90);
                return source.Rot(angle);
            }
            using var rotated = source.Rotate(turn);
            // A centred a × b rectangle (half sizes) fits inside a W × H rectangle (half sizes) turned by θ when
            // a|cos θ| + b|sin θ| ≤ W and a|sin θ| + b|cos θ| ≤ H; with a = sW, b = sH take the largest s.
            var radians = turn * Math.PI / 180;
            var (cos, sin) = (Math.Abs(Math.Cos(radians)), Math.Abs(Math.Sin(radians)));
            double w = source.Width, h = source.Height;
            var scale = Math.Min(w / (w * cos + h * sin), h / (w * sin + h * cos));
            // Two pixels less each way: the interpolated border blends in the black background.
            var width = Math.Max(1, (int)Math.Floor(scale * w) - 4);
            var height = Math.Max(1, (int)Math.Floor(scale * h) - 4);
            var left = Math.Max(0, (rotated.Width - width) / 2);
            var top = Math.Max(0, (rotated.Height - height) / 2);
            return rotated.ExtractArea(left, top, Math.Min(width, rotated.Width - left), Math.Min(height, rotated.Height - top));
        });
    }

    /// <summary>
    /// A colour cast: each of red, green and blue becomes gain × value + offset, rounded and clipped to 0…255
    /// (aged varnish, a faded print, another photographer's white balance).
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="gains">Three multipliers (red, green, blue), each in (0, 4].</param>
    /// <param name="offsets">Three offsets (red, green, blue), each in [−255, 255].</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] ColourShift(ReadOnlySpan<byte> image, ReadOnlySpan<double> gains, ReadOnlySpan<double> offsets, int quality = DefaultQuality)
    {
        if (gains.Length != 3 || !AllIn(gains, double.Epsilon, 4))
        {
            throw new ArgumentException($"Give three gains (red, green, blue) in (0, 4]; got [{string.Join(", ", gains.ToArray())}].", nameof(gains));
        }
        if (offsets.Length != 3 || !AllIn(offsets, -255, 255))
        {
            throw new ArgumentException($"Give three offsets (red, green, blue) in [-255, 255]; got [{string.Join(", ", offsets.ToArray())}].", nameof(offsets));
        }
        var (a, b) = (gains.ToArray(), offsets.ToArray());
        return Transform(image, nameof(image), quality, source => source.Linear(a, b, uchar: true));
    }

    /// <summary>
    /// A greyscale rendering in the manner of an engraving after a painting: the luminance, half of it
    /// histogram-equalised, its contrast raised around mid-grey (clipping towards black and white), and the outlines (Sobel edges
    /// of a lightly blurred copy) drawn in dark ink. The result is a 1-band greyscale JPEG.
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="contrast">Contrast gain around mid-grey, in [1, 4]; 1.6 gives a print-like look.</param>
    /// <param name="edgeWeight">How dark the outlines are drawn, in [0, 4]; 0 draws none.</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Engraving(ReadOnlySpan<byte> image, double contrast = 1.6, double edgeWeight = 1.0, int quality = DefaultQuality)
    {
        if (!double.IsFinite(contrast) || contrast < 1 || contrast > 4)
        {
            throw new ArgumentException($"The contrast must be in [1, 4], not {contrast}.", nameof(contrast));
        }
        if (!double.IsFinite(edgeWeight) || edgeWeight < 0 || edgeWeight > 4)
        {
            throw new ArgumentException($"The edge weight must be in [0, 4], not {edgeWeight}.", nameof(edgeWeight));
        }
        return Transform(image, nameof(image), quality, source =>
        {
            using var grey = source.Colourspace(Enums.Interpretation.Bw);
            using var equalised = grey.HistEqual();
            // Half equalised, half as it was: dark or flat pictures open up without turning into noise.
            using var half = grey.Linear([contrast / 2], [128 * (1 - contrast)]);
            using var otherHalf = equalised.Linear([contrast / 2], [0.0]);
            using var tone = half.Add(otherHalf);
            using var soft = equalised.Gaussblur(1.0);
            using var edges = soft.Sobel();
            using var ink = edges.Linear([-edgeWeight], [0.0]);
            using var sum = tone.Add(ink);
            using var clipped = sum.Cast(Enums.BandFormat.Uchar);
            return clipped.Colourspace(Enums.Interpretation.Bw);
        });
    }

    /// <summary>A copy with <paramref name="area"/> covered by a solid rectangle of the given colour (a label,
    /// a lost fragment, a patch of overpaint).</summary>
    public static byte[] Occlude(ReadOnlySpan<byte> image, RelativeArea area, byte red, byte green, byte blue, int quality = DefaultQuality)
    {
        area.Check(nameof(area));
        double[] ink = [red, green, blue];
        return Transform(image, nameof(image), quality, source =>
        {
            // vips_draw_rect paints in place: NetVips' Mutate paints a private memory copy, never the caller's image.
            var (left, top, width, height) = area.ToPixels(source.Width, source.Height);
            return source.Mutate(canvas => canvas.DrawRect(ink, left, top, width, height, fill: true));
        });
    }

    /// <summary>
    /// <paramref name="pattern"/> pasted into <paramref name="scene"/>: scaled (lanczos3, aspect ratio kept) to
    /// fit <paramref name="relativeSize"/> of the scene's width and height, and placed at
    /// (<paramref name="x"/>, <paramref name="y"/>), fractions of the room left around it (0 = left/top edge,
    /// 1 = right/bottom edge). The result has the scene's size.
    /// </summary>
    public static byte[] PasteInto(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> scene, double relativeSize, double x = 0.5, double y = 0.5, int quality = DefaultQuality)
    {
        if (!double.IsFinite(relativeSize) || relativeSize <= 0 || relativeSize > 1)
        {
            throw new ArgumentException($"The relative size must be in (0, 1], not {relativeSize}.", nameof(relativeSize));
        }
        if (!double.IsFinite(x) || !double.IsFinite(y) || x < 0 || x > 1 || y < 0 || y > 1)
        {
            throw new ArgumentException($"The position ({x}, {y}) must be fractions in [0, 1].", x is >= 0 and <= 1 ? nameof(y) : nameof(x));
        }
        CheckQuality(quality);
        using var background = Load(scene, nameof(scene));
        return Transform(pattern, nameof(pattern), quality, motif =>
        {
            var scale = relativeSize * Math.Min((double)background.Width / motif.Width, (double)background.Height / motif.Height);
            using var resized = motif.Resize(scale);
            var left = (int)Math.Round(x * Math.Max(0, background.Width - resized.Width));
            var top = (int)Math.Round(y * Math.Max(0, background.Height - resized.Height));
            return background.Insert(resized, left, top);
        });
    }

    private static bool AllIn(ReadOnlySpan<double> values, double min, double max)
    {
        foreach (var v in values)
        {
            if (!double.IsFinite(v) || v < min || v > max)
            {
                return false;
            }
        }
        return true;
    }

    private static void CheckQuality(int quality)
    {
        if (quality is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "The JPEG quality must be in 1…100.");
        }
    }

    /// <summary>Decodes <paramref name="image"/>, applies <paramref name="operation"/> and encodes the result as JPEG.</summary>
    private static byte[] Transform(ReadOnlySpan<byte> image, string parameterName, int quality, Func<VipsImage, VipsImage> operation)
    {
        CheckQuality(quality);
        using var source = Load(image, parameterName);
        var suffix = $".jpg[Q={quality},strip,optimize_coding]";
        try
        {
            return LibvipsGate.Run(() =>
            {
                using var result = operation(source);
                return result.WriteToBuffer(suffix);
            });
        }
        catch (LibvipsException e)
        {
            // The input decoded completely in Load, so a failure here is libvips refusing the operation itself.
            throw new InvalidOperationException("libvips could not derive the image: " + e.Message, e);
        }
    }

    /// <summary>
    /// Decodes a whole image into memory as 3-band 8-bit sRGB, upright. The result owns its pixels (it does not
    /// refer to <paramref name="image"/> or to a pipeline that reads it).
    /// </summary>
    private static VipsImage Load(ReadOnlySpan<byte> image, string parameterName)
    {
        if (image.IsEmpty)
        {
            throw new ArgumentException("The image is empty (zero bytes).", parameterName);
        }
        var data = image.ToArray();
        try
        {
            return LibvipsGate.Run(() =>
            {
                using (var header = VipsImage.NewFromBuffer(data))
                {
                    var pixels = (long)header.Width * header.Height;
                    if (pixels > ValidationLimits.Default.MaxPixels)
                    {
                        throw new ArgumentException(
                            $"The header declares {header.Width}×{header.Height} = {pixels:N0} pixels; the limit is {ValidationLimits.Default.MaxPixels:N0}.",
                            parameterName);
                    }
                }
                using var decoded = VipsImage.NewFromBuffer(data, failOn: ImageCodec.Strict);
                using var rgb = ImageCodec.ToSrgb8(decoded.Autorot());
                // Decodes every pixel now (so a damaged file fails here, as this parameter's fault) into a
                // memory image; vips_image_write breaks the links to a non-partial output, so the result
                // no longer refers to the loader or its copy of the bytes.
                return rgb.CopyMemory();
            });
        }
        catch (LibvipsException e)
        {
            throw new ArgumentException($"The image cannot be decoded: {e.Message}", parameterName, e);
        }
    }
}
