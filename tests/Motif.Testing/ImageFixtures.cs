using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Motif.Imaging.Libvips;
using NetVips;

namespace Motif.Testing;

/// <summary>
/// Test images, made through libvips itself from deterministic pixel scenes, so no binary fixture is committed
/// and every format's encoder round-trips through the same library the product decodes with.
/// </summary>
public static class ImageFixtures
{
    /// <summary>A deterministic RGB scene: horizontal red ramp, vertical green ramp, 8-pixel blue checker.</summary>
    public static byte[] Scene(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = 3 * (y * width + x);
                pixels[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                pixels[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                pixels[i + 2] = (byte)((x / 8 + y / 8) % 2 == 0 ? 40 : 215);
            }
        }
        return pixels;
    }

    /// <summary>A PNG of a 4×4 grid of colours drawn by a generator seeded with <paramref name="seed"/>: pictures that a
    /// network tells apart by their colours, and their <see cref="Variant"/>s keep.</summary>
    public static byte[] ColourGrid(int seed, int side = 128)
    {
        var random = new Random(seed);
        var colours = Enumerable.Range(0, 16).Select(_ => new[] { (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256) }).ToArray();
        var pixels = new byte[side * side * 3];
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                colours[y * 4 / side * 4 + x * 4 / side].CopyTo(pixels, 3 * (y * side + x));
            }
        }
        return Encode(pixels, side, side, 3, ".png");
    }

    /// <summary>A solid colour.</summary>
    public static byte[] Solid(int width, int height, params byte[] colour)
    {
        var pixels = new byte[width * height * colour.Length];
        for (var i = 0; i < pixels.Length; i += colour.Length)
        {
            colour.CopyTo(pixels, i);
        }
        return pixels;
    }

    /// <summary>Encodes interleaved 8-bit pixels with the libvips saver that <paramref name="suffix"/> selects.</summary>
    public static byte[] Encode(byte[] pixels, int width, int height, int bands, string suffix, int? orientation = null) =>
        Encode(pixels, width, height, bands, suffix, transform: null, orientation);

    private static byte[] Encode(byte[] pixels, int width, int height, int bands, string suffix,
        Func<Image, Image>? transform, int? orientation = null) =>
        LibvipsGate.Run(() =>
        {
            using var image = Image.NewFromMemoryCopy<byte>(pixels, width, height, bands, Enums.BandFormat.Uchar);
            using var converted = transform?.Invoke(image) ?? image;
            using var tagged = orientation is { } o ? converted.Mutate(m => m.Set(GValue.GIntType, "orientation", o)) : converted;
            return tagged.WriteToBuffer(suffix);
        });

    public static byte[] Jpeg(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".jpg[Q=90]");

    public static byte[] Png(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".png");

    public static byte[] WebP(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".webp[Q=90]");

    public static byte[] Tiff(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".tif[compression=lzw]");

    public static byte[] Tiff16(int width = 96, int height = 64) =>
        Encode(Scene(width, height), width, height, 3, ".tif", transform: i => i.Colourspace(Enums.Interpretation.Rgb16));

    public static byte[] GreyPng(int width = 96, int height = 64) =>
        Encode(Scene(width, height), width, height, 3, ".png", transform: i => i.Colourspace(Enums.Interpretation.Bw));

    public static byte[] CmykJpeg(int width = 96, int height = 64, byte[]? pixels = null) =>
        Encode(pixels ?? Scene(width, height), width, height, 3, ".jpg[Q=95]", transform: i => i.Colourspace(Enums.Interpretation.Cmyk));

    public static byte[] Gif(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".gif");

    /// <summary>JPEG 2000 (JP2 container) from libvips' jp2ksave, through Debian's openjpeg.</summary>
    public static byte[] Jp2k(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".jp2");

    /// <summary>Radiance HDR from libvips' radsave: a format whose loader libvips marks untrusted.</summary>
    public static byte[] Radiance(int width = 96, int height = 64) => Encode(Scene(width, height), width, height, 3, ".hdr");

    /// <summary>RGBA PNG: the left half opaque red, the right half fully transparent (black under the alpha).</summary>
    public static byte[] RgbaPng(int width = 96, int height = 64)
    {
        var pixels = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = 4 * (y * width + x);
                pixels[i] = (byte)(x < width / 2 ? 255 : 0);
                pixels[i + 3] = (byte)(x < width / 2 ? 255 : 0);
            }
        }
        return Encode(pixels, width, height, 4, ".png");
    }

    /// <summary>
    /// A JPEG stored sideways with EXIF orientation 6 ("rotate 90° clockwise to display"). Displayed upright it
    /// is <paramref name="uprightWidth"/> × <paramref name="uprightHeight"/> with a red top third and blue elsewhere.
    /// </summary>
    public static byte[] SidewaysJpeg(int uprightWidth = 60, int uprightHeight = 120)
    {
        // Stored pixels are the upright image rotated 90° counter-clockwise; the viewer's clockwise turn undoes it.
        var (storedWidth, storedHeight) = (uprightHeight, uprightWidth);
        var pixels = new byte[storedWidth * storedHeight * 3];
        for (var sy = 0; sy < storedHeight; sy++)
        {
            for (var sx = 0; sx < storedWidth; sx++)
            {
                // A 90° clockwise turn maps stored (sx, sy) to upright (storedHeight − 1 − sy, sx): upright row = sx.
                var uprightRow = sx;
                var red = uprightRow < uprightHeight / 3;
                var i = 3 * (sy * storedWidth + sx);
                pixels[i] = (byte)(red ? 230 : 20);
                pixels[i + 2] = (byte)(red ? 20 : 230);
            }
        }
        return Encode(pixels, storedWidth, storedHeight, 3, ".jpg[Q=95]", orientation: 6);
    }

    /// <summary>
    /// A derived copy of an 8-bit sRGB image: the central <paramref name="keep"/> fraction of each side, each channel
    /// multiplied by its gain (a colour shift), re-encoded as JPEG quality 80. A mild copy, as a museum's
    /// variant or re-photographed print would be.
    /// </summary>
    public static byte[] Variant(byte[] image, double keep, (double R, double G, double B) gains)
    {
        var (pixels, width, height) = LibvipsGate.Run(() =>
        {
            using var source = Image.NewFromBuffer(image);
            var (w, h) = ((int)(source.Width * keep), (int)(source.Height * keep));
            using var crop = source.ExtractArea((source.Width - w) / 2, (source.Height - h) / 2, w, h);
            using var rgb = crop.Bands == 3 ? crop : crop.ExtractBand(0, 3);
            return (rgb.WriteToMemory<byte>(), w, h);
        });
        for (var i = 0; i < pixels.Length; i++)
        {
            var gain = (i % 3) switch { 0 => gains.R, 1 => gains.G, _ => gains.B };
            pixels[i] = (byte)Math.Clamp(pixels[i] * gain, 0, 255);
        }
        return Encode(pixels, width, height, 3, ".jpg[Q=80]");
    }

    /// <summary>The first <paramref name="fraction"/> of a real JPEG's bytes.</summary>
    public static byte[] Truncated(byte[] image, double fraction = 0.6) => image[..(int)(image.Length * fraction)];

    public static byte[] TextNamedJpeg() =>
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("This is a catalogue note, not a photograph.\n", 20)));

    /// <summary>
    /// A well-formed PNG whose header declares <paramref name="width"/> × <paramref name="height"/> RGB but whose
    /// compressed data holds a few bytes: decoding it would fail, but the pixel limit must refuse it first.
    /// </summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        WriteChunk(png, "IHDR", header);
        using (var idat = new MemoryStream())
        {
            using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
            {
                z.Write(new byte[64]);
            }
            WriteChunk(png, "IDAT", idat.ToArray());
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>Flips bits in the middle of the image data (after the first quarter of the file).</summary>
    public static byte[] Damaged(byte[] image)
    {
        var copy = (byte[])image.Clone();
        for (var i = copy.Length / 4; i < copy.Length / 2; i += 7)
        {
            copy[i] ^= 0x5A;
        }
        return copy;
    }

    /// <summary>
    /// A real JPEG whose start-of-frame header is rewritten to claim <paramref name="width"/> × <paramref name="height"/>:
    /// the entropy-coded data then ends long before the rows do, and libjpeg fills the rest in, warning
    /// "Corrupt JPEG data: premature end of data segment".
    /// </summary>
    public static byte[] JpegClaiming(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        // SOF0..SOF2 (baseline, extended, progressive): FF Cn, length (2), precision (1), height (2), width (2).
        for (var i = 2; i + 9 < copy.Length; i++)
        {
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC1 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 5), checked((ushort)height));
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 7), checked((ushort)width));
                return copy;
            }
        }
        throw new ArgumentException("No start-of-frame marker in this JPEG.", nameof(jpeg));
    }

    /// <summary>XORs every <paramref name="step"/>-th byte of the middle half with 0x5A (a sparser <see cref="Damaged"/>).</summary>
    public static byte[] FlippedBytes(byte[] image, int step)
    {
        var copy = (byte[])image.Clone();
        for (var i = copy.Length / 4; i < copy.Length / 2; i += step)
        {
            copy[i] ^= 0x5A;
        }
        return copy;
    }

    /// <summary>A PNG with the stored CRC of its first <paramref name="chunkType"/> chunk inverted (data left intact).</summary>
    public static byte[] WithBadChunkCrc(byte[] png, string chunkType)
    {
        var copy = (byte[])png.Clone();
        var (start, length, _) = Chunks(copy).First(c => c.Type == chunkType);
        copy[start + 8 + length + 3] ^= 0xFF;
        return copy;
    }

    /// <summary>
    /// A PNG whose zlib stream has a wrong Adler-32 checksum (the last byte of the last IDAT inverted) while every
    /// chunk CRC is recomputed to match: damage only an inflater that checks the checksum can see.
    /// </summary>
    public static byte[] WithBadAdler32(byte[] png)
    {
        var copy = (byte[])png.Clone();
        var (start, length, _) = Chunks(copy).Last(c => c.Type == "IDAT");
        copy[start + 8 + length - 1] ^= 0xFF;
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(start + 8 + length), Crc32(copy.AsSpan(start + 4, 4 + length)));
        return copy;
    }

    private static IEnumerable<(int Start, int Length, string Type)> Chunks(byte[] png)
    {
        for (var position = 8; position + 12 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(position));
            yield return (position, length, Encoding.ASCII.GetString(png, position + 4, 4));
            position += 12 + length;
        }
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        png.Write(word);
    }

    // PNG's CRC-32 (ISO 3309, polynomial 0xEDB88320), PNG spec annex D.
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
