namespace Motif.Imaging;

/// <summary>
/// Container formats that libvips can recognise. Which of them Motif accepts is set by
/// <see cref="ValidationLimits.AcceptedFormats"/>; JPEG XL, SVG, PDF and the <see cref="Other"/> formats (ImageMagick,
/// Radiance, ...) have loaders that libvips marks untrusted and Motif keeps blocked, so they never decode.
/// </summary>
public enum ImageFormat { Jpeg, Png, WebP, Tiff, Gif, Jp2k, Heif, Jxl, Svg, Pdf, Other }

/// <summary>Colour space as the header declares it (libvips' interpretation).</summary>
public enum ColourSpace { Srgb, Rgb16, ScRgb, Greyscale, Grey16, Cmyk, Lab, Multiband, Other }

/// <summary>How each sample is stored.</summary>
public enum SampleFormat { UInt8, Int8, UInt16, Int16, UInt32, Int32, Float32, Float64, Complex }

/// <summary>What an image's header says, read without decoding its pixels.</summary>
/// <param name="Format">The container format.</param>
/// <param name="Width">Stored width in pixels (before EXIF orientation).</param>
/// <param name="Height">Stored height in pixels (before EXIF orientation).</param>
/// <param name="Bands">Samples per pixel, alpha included.</param>
/// <param name="ColourSpace">The declared colour space.</param>
/// <param name="SampleFormat">The storage type of each sample (16-bit TIFF: <see cref="SampleFormat.UInt16"/>).</param>
/// <param name="Orientation">EXIF orientation 1..8; 1 when absent.</param>
/// <param name="HasAlpha">Whether the last band is alpha.</param>
/// <param name="Pages">Pages or frames in the file (only the first is used).</param>
public sealed record ImageInfo(
    ImageFormat Format, int Width, int Height, int Bands, ColourSpace ColourSpace, SampleFormat SampleFormat,
    int Orientation, bool HasAlpha, int Pages)
{
    public long Pixels => (long)Width * Height;

    /// <summary>Orientations 5–8 transpose the image: it is displayed with width and height swapped.</summary>
    public int DisplayWidth => Orientation is >= 5 and <= 8 ? Height : Width;

    public int DisplayHeight => Orientation is >= 5 and <= 8 ? Width : Height;
}

/// <summary>Lowercase names used in reports and catalog records.</summary>
public static class ImageFormats
{
    public static string Code(this ImageFormat format) => format.ToString().ToLowerInvariant();

    /// <summary>"jp2k, jpeg, png": the codes in a fixed order, as rejection reasons list them.</summary>
    public static string List(IEnumerable<ImageFormat> formats) => string.Join(", ", formats.Select(Code).Order(StringComparer.Ordinal));
}
