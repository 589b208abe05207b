namespace Motif.Imaging.LocalFeatures;

/// <summary>An image's luminance, 8 bits a pixel, row after row (<see cref="ImageCodec.Grey"/>): what local features are found in.</summary>
/// <param name="Width">Pixels a row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">Width × Height values.</param>
public sealed record GreyImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>The image, checked: positive sides and exactly Width × Height pixels.</summary>
    public static GreyImage Of(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.LongLength != (long)width * height)
        {
            throw new ArgumentException($"A {width}×{height} image has {(long)width * height} pixels, not {pixels.LongLength}.", nameof(pixels));
        }
        return new(width, height, pixels);
    }
}
