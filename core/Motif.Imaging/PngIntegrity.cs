using System.Buffers.Binary;
using System.IO.Compression;

namespace Motif.Imaging;

/// <summary>
/// The one PNG check libvips does not make: the Adler-32 checksum at the end of the zlib stream that the IDAT
/// chunks carry. Debian's libvips 8.14 decodes a PNG whose Adler-32 is wrong without an error or a warning, even
/// with fail_on=warning (chunk CRCs it does check: "IDAT: CRC error"), so damage that keeps the chunk CRCs
/// consistent, as a re-packer that recomputes them would, goes unnoticed. This inflates the stream once more
/// with .NET's zlib, which verifies the checksum.
/// </summary>
internal static class PngIntegrity
{
    private const int SignatureLength = 8;

    /// <summary>Why the PNG's compressed data is damaged, or null when its zlib stream inflates and its checksum matches.</summary>
    /// <remarks>Call it after libvips has decoded the file: chunk layout and CRCs are libpng's to judge; a layout
    /// this walk cannot follow is left to that verdict.</remarks>
    internal static string? CompressedDataFailure(byte[] png)
    {
        using var idat = new MemoryStream();
        var position = SignatureLength;
        while (position + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(position));
            var type = png.AsSpan(position + 4, 4);
            if (length > (uint)(png.Length - position - 12))
            {
                return null;
            }
            if (type.SequenceEqual("IDAT"u8))
            {
                idat.Write(png, position + 8, (int)length);
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }
            position += 12 + (int)length;
        }
        if (idat.Length == 0)
        {
            return null;
        }
        idat.Position = 0;
        try
        {
            using var inflater = new ZLibStream(idat, CompressionMode.Decompress);
            inflater.CopyTo(Stream.Null);
            return null;
        }
        catch (InvalidDataException)
        {
            // .NET words every zlib data error as "unsupported compression method"; zlib's own would be
            // "incorrect data check" for a checksum, "invalid ..." for a broken stream.
            return "IDAT: the zlib stream is damaged (inflate failed or its Adler-32 checksum does not match)";
        }
    }
}
