using System.Runtime.InteropServices;
using Motif.Imaging.Interop;

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
/// decodes it strictly (<c>fail_on=error</c>, pixel count checked on the header against
/// <see cref="ValidationLimits.Default"/>, EXIF orientation applied, converted to 8-bit sRGB with transparency
/// flattened on white) and returns a new baseline JPEG, metadata stripped. Colour variants are 3-band sRGB;
/// <see cref="Engraving"/> is 1-band greyscale. An input that cannot be used, or an argument out of range,
/// raises <see cref="ArgumentException"/> naming the parameter. The same input and arguments always give the
/// same bytes. Thread-safe.
/// </remarks>
public static unsafe class ImageVariants
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
            return source.Call((nint i, out nint o) => LibVips.vips_extract_area(i, out o, left, top, width, height, 0));
        });
    }

    /// <summary>The mirror image (left and right swapped).</summary>
    public static byte[] Mirror(ReadOnlySpan<byte> image, int quality = DefaultQuality) =>
        Transform(image, nameof(image), quality, source =>
            source.Call((nint i, out nint o) => LibVips.vips_flip(i, out o, VipsDirection.Horizontal, 0)));

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
                var angle = (VipsAngle)(int)(turn / 90);
                return source.Call((nint i, out nint o) => LibVips.vips_rot(i, out o, angle, 0));
            }
            using var rotated = source.Call((nint i, out nint o) => LibVips.vips_rotate(i, out o, turn, 0));
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
            return rotated.Call((nint i, out nint o) => LibVips.vips_extract_area(i, out o, left, top,
                Math.Min(width, rotated.Width - left), Math.Min(height, rotated.Height - top), 0));
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
        return Transform(image, nameof(image), quality, source => source.Call((nint i, out nint o) =>
        {
            fixed (double* pa = a, pb = b)
            {
                return LibVips.vips_linear(i, out o, pa, pb, 3, "uchar", 1, 0);
            }
        }));
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
            using var grey = source.Call((nint i, out nint o) => LibVips.vips_colourspace(i, out o, VipsInterpretation.BW, 0));
            using var equalised = grey.Call((nint i, out nint o) => LibVips.vips_hist_equal(i, out o, 0));
            // Half equalised, half as it was: dark or flat pictures open up without turning into noise.
            using var half = grey.Linear(contrast / 2, 128 * (1 - contrast));
            using var otherHalf = equalised.Linear(contrast / 2, 0);
            using var tone = half.Call((nint i, out nint o) => LibVips.vips_add(i, otherHalf.Pointer, out o, 0));
            using var soft = equalised.Call((nint i, out nint o) => LibVips.vips_gaussblur(i, out o, 1.0, 0));
            using var edges = soft.Call((nint i, out nint o) => LibVips.vips_sobel(i, out o, 0));
            using var ink = edges.Linear(-edgeWeight, 0);
            using var sum = tone.Call((nint i, out nint o) => LibVips.vips_add(i, ink.Pointer, out o, 0));
            using var clipped = sum.Call((nint i, out nint o) => LibVips.vips_cast(i, out o, VipsBandFormat.UChar, 0));
            return clipped.Call((nint i, out nint o) => LibVips.vips_colourspace(i, out o, VipsInterpretation.BW, 0));
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
            // vips_draw_rect paints in place: paint a private copy, never the caller's image.
            var copy = source.Detach();
            try
            {
                var (left, top, width, height) = area.ToPixels(copy.Width, copy.Height);
                fixed (double* p = ink)
                {
                    if (LibVips.vips_draw_rect(copy.Pointer, p, ink.Length, left, top, width, height, "fill", 1, 0) != 0)
                    {
                        throw VipsFailure.Instance;
                    }
                }
                return copy;
            }
            catch
            {
                copy.Dispose();
                throw;
            }
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
            using var resized = motif.Call((nint i, out nint o) => LibVips.vips_resize(i, out o, scale, 0));
            var left = (int)Math.Round(x * Math.Max(0, background.Width - resized.Width));
            var top = (int)Math.Round(y * Math.Max(0, background.Height - resized.Height));
            return background.Call((nint i, out nint o) => LibVips.vips_insert(i, resized.Pointer, out o, left, top, 0));
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
    private static byte[] Transform(ReadOnlySpan<byte> image, string parameterName, int quality, Func<Owned, Owned> operation)
    {
        CheckQuality(quality);
        using var source = Load(image, parameterName);
        var suffix = $".jpg[Q={quality},strip,optimize_coding]";
        try
        {
            return VipsRuntime.Run(() =>
            {
                using var result = operation(source);
                return result.Encode(suffix);
            });
        }
        catch (VipsException e)
        {
            // The input decoded completely in Load, so a failure here is libvips refusing the operation itself.
            throw new InvalidOperationException("libvips could not derive the image: " + e.Message, e);
        }
    }

    /// <summary>
    /// Decodes a whole image into memory as 3-band 8-bit sRGB, upright. The result owns its pixels (it does not
    /// point into <paramref name="image"/>, which is pinned only during this call).
    /// </summary>
    private static Owned Load(ReadOnlySpan<byte> image, string parameterName)
    {
        if (image.IsEmpty)
        {
            throw new ArgumentException("The image is empty (zero bytes).", parameterName);
        }
        fixed (byte* pinned = image)
        {
            var (address, length) = ((nint)pinned, (nuint)image.Length);
            try
            {
                return VipsRuntime.Run(() =>
                {
                    var data = (byte*)address;
                    using (var header = Owned.Wrap(LibVips.vips_image_new_from_buffer(data, length, string.Empty, 0)))
                    {
                        var pixels = (long)header.Width * header.Height;
                        if (pixels > ValidationLimits.Default.MaxPixels)
                        {
                            throw new ArgumentException(
                                $"The header declares {header.Width}×{header.Height} = {pixels:N0} pixels; the limit is {ValidationLimits.Default.MaxPixels:N0}.",
                                parameterName);
                        }
                    }
                    using var decoded = Owned.Wrap(LibVips.vips_image_new_from_buffer(data, length, "fail_on=error", 0));
                    using var rgb = ToSrgb8(decoded.Call((nint i, out nint o) => LibVips.vips_autorot(i, out o, 0)));
                    // Decodes every pixel now (so a damaged file fails here, as this parameter's fault) into a
                    // memory image; vips_image_write breaks the links to a non-partial output, so the result
                    // no longer refers to the pinned buffer.
                    return Owned.Wrap(LibVips.vips_image_copy_memory(rgb.Pointer));
                });
            }
            catch (VipsException e)
            {
                throw new ArgumentException($"The image cannot be decoded: {e.Message}", parameterName, e);
            }
        }
    }

    /// <summary>Any decoded image as 3-band 8-bit sRGB (colour space converted, alpha flattened on white, extra bands dropped).
    /// Takes ownership of <paramref name="image"/>.</summary>
    private static Owned ToSrgb8(Owned image)
    {
        var current = image;
        try
        {
            if (current.Interpretation != VipsInterpretation.Srgb || current.Format != VipsBandFormat.UChar)
            {
                current = Replace(current, current.Call((nint i, out nint o) => LibVips.vips_colourspace(i, out o, VipsInterpretation.Srgb, 0)));
            }
            if (current.HasAlpha)
            {
                double[] white = [255, 255, 255];
                current = Replace(current, current.Call((nint i, out nint o) =>
                {
                    fixed (double* p = white)
                    {
                        var array = LibVips.vips_array_double_new(p, white.Length);
                        try
                        {
                            return LibVips.vips_flatten(i, out o, "background", array, 0);
                        }
                        finally
                        {
                            LibVips.vips_area_unref(array);
                        }
                    }
                }));
            }
            if (current.Bands > 3)
            {
                current = Replace(current, current.Call((nint i, out nint o) => LibVips.vips_extract_band(i, out o, 0, "n", 3, 0)));
            }
            if (current.Format != VipsBandFormat.UChar)
            {
                current = Replace(current, current.Call((nint i, out nint o) => LibVips.vips_cast(i, out o, VipsBandFormat.UChar, 0)));
            }
            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }

        static Owned Replace(Owned previous, Owned next)
        {
            previous.Dispose();
            return next;
        }
    }

    private delegate int Operation(nint input, out nint output);

    /// <summary>
    /// An owned VipsImage reference for this class's operations (<see cref="VipsImage"/> has no way to adopt a
    /// handle from an operation it does not wrap). Failures throw <see cref="VipsFailure"/>: use only inside
    /// <see cref="VipsRuntime.Run{T}"/>.
    /// </summary>
    private sealed class Owned : SafeHandle
    {
        private Owned(nint image) : base(0, ownsHandle: true) => SetHandle(image);

        public override bool IsInvalid => handle == 0;

        public nint Pointer => handle;

        public int Width => LibVips.vips_image_get_width(handle);

        public int Height => LibVips.vips_image_get_height(handle);

        public int Bands => LibVips.vips_image_get_bands(handle);

        public VipsBandFormat Format => LibVips.vips_image_get_format(handle);

        public VipsInterpretation Interpretation => LibVips.vips_image_get_interpretation(handle);

        public bool HasAlpha => LibVips.vips_image_hasalpha(handle) != 0;

        protected override bool ReleaseHandle()
        {
            LibVips.g_object_unref(handle);
            return true;
        }

        public static Owned Wrap(nint image) => image != 0 ? new Owned(image) : throw VipsFailure.Instance;

        /// <summary>Runs a one-input operation on this image; the result is a new reference.</summary>
        public Owned Call(Operation operation) =>
            operation(handle, out var output) == 0 ? Wrap(output) : throw VipsFailure.Instance;

        /// <summary>out = a × this + b on every band, as float.</summary>
        public Owned Linear(double a, double b) => Call((nint i, out nint o) =>
        {
            double scale = a, offset = b;
            return LibVips.vips_linear(i, out o, &scale, &offset, 1, 0);
        });

        /// <summary>Renders every pixel into a new memory image that depends on nothing else (no source buffer, no pipeline).</summary>
        public Owned Detach()
        {
            var memory = LibVips.vips_image_write_to_memory(handle, out var size);
            if (memory == 0)
            {
                throw VipsFailure.Instance;
            }
            try
            {
                return Wrap(LibVips.vips_image_new_from_memory_copy((byte*)memory, size, Width, Height, Bands, Format));
            }
            finally
            {
                LibVips.g_free(memory);
            }
        }

        public byte[] Encode(string suffix)
        {
            if (LibVips.vips_image_write_to_buffer(handle, suffix, out var buffer, out var size, 0) != 0)
            {
                throw VipsFailure.Instance;
            }
            try
            {
                return new ReadOnlySpan<byte>((void*)buffer, checked((int)size)).ToArray();
            }
            finally
            {
                LibVips.g_free(buffer);
            }
        }
    }
}
