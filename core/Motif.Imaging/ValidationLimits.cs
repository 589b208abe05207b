using System.Collections.Frozen;

namespace Motif.Imaging;

/// <summary>What intake accepts. The defaults suit photographs and scans of artworks.</summary>
public sealed record ValidationLimits
{
    /// <summary>Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (1024³ / 4 / 3): its decompression-bomb threshold,
    /// a level every Python imaging pipeline already lives with.</summary>
    public const long PillowMaxPixels = 89_478_485;

    /// <summary>The default limits.</summary>
    public static ValidationLimits Default { get; } = new();

    /// <summary>Largest file read, in bytes. Museum TIFF masters can be hundreds of megabytes; the default is 512 MiB.</summary>
    public long MaxBytes { get; init; } = 512L << 20;

    /// <summary>Most pixels (width × height from the header) an image may declare; checked before any decoding.</summary>
    public long MaxPixels { get; init; } = PillowMaxPixels;

    /// <summary>Smallest allowed shorter side: below it a signature has nothing to look at.</summary>
    public int MinSide { get; init; } = 64;

    /// <summary>Formats accepted. GIF (palette, animation), SVG and PDF are recognised but refused by default.</summary>
    public IReadOnlySet<ImageFormat> AcceptedFormats { get; init; } = new[]
    {
        ImageFormat.Jpeg, ImageFormat.Png, ImageFormat.WebP, ImageFormat.Tiff, ImageFormat.Jp2k, ImageFormat.Heif,
    }.ToFrozenSet();
}
