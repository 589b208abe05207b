using System.Buffers.Binary;

namespace Motif.Imaging.LocalFeatures;

/// <summary>
/// One image's local features, and those of its mirror image: each a position in pixels and a 128-byte SIFT descriptor
/// (Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 2004: 4 × 4 cells of 8-bin gradient
/// histograms, each value 0–255). SIFT is invariant to rotation and scale but not to reflection, and a print reverses
/// its model, so a mirror-image copy is matched against the mirror image's features. Stored per image content
/// (<see cref="Encode"/>), so a pair can be verified long after either was signed.
/// </summary>
public sealed class LocalFeatureSet
{
    /// <summary>Bytes a descriptor.</summary>
    public const int DescriptorLength = 128;

    /// <summary>Most features a side (the image, its mirror) holds (<see cref="Decode"/> refuses more): adapters cap their detectors far below.</summary>
    public const int MaxCount = 65536;

    // "MLF1": Motif local features, layout 1.
    private static ReadOnlySpan<byte> Magic => "MLF1"u8;

    private readonly Side _image;
    private readonly Side _mirror;

    private LocalFeatureSet(Side image, Side mirror) => (_image, _mirror) = (image, mirror);

    /// <summary>No features (a flat or tiny image).</summary>
    public static LocalFeatureSet Empty { get; } = new(new([], []), new([], []));

    /// <summary>The image's features.</summary>
    public int Count => _image.Count;

    /// <summary>x₀, y₀, x₁, y₁…: each of the image's features' position in pixels.</summary>
    public ReadOnlySpan<float> Points => _image.Points;

    /// <summary>Count × <see cref="DescriptorLength"/> bytes, a feature's descriptor after another.</summary>
    public ReadOnlySpan<byte> Descriptors => _image.Descriptors;

    /// <summary>The mirror image's features (left and right swapped), positions in the mirror image's pixels.</summary>
    public int MirrorCount => _mirror.Count;

    /// <summary>Positions of the mirror image's features.</summary>
    public ReadOnlySpan<float> MirrorPoints => _mirror.Points;

    /// <summary>Descriptors of the mirror image's features.</summary>
    public ReadOnlySpan<byte> MirrorDescriptors => _mirror.Descriptors;

    /// <summary>A set from the image's and its mirror image's positions and descriptors (copied).</summary>
    /// <exception cref="ArgumentException">The lengths disagree, a side has more than <see cref="MaxCount"/> features, or a position is not finite.</exception>
    public static LocalFeatureSet Create(ReadOnlySpan<float> points, ReadOnlySpan<byte> descriptors, ReadOnlySpan<float> mirrorPoints,
        ReadOnlySpan<byte> mirrorDescriptors) =>
        new(Side.Create(points, descriptors), Side.Create(mirrorPoints, mirrorDescriptors));

    /// <summary>"MLF1", the image's and the mirror image's counts (int32, little-endian), then for each in turn its
    /// positions (float32, little-endian) and its descriptors.</summary>
    public byte[] Encode()
    {
        var bytes = new byte[12 + _image.Bytes + _mirror.Bytes];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), _image.Count);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), _mirror.Count);
        _image.WriteTo(bytes.AsSpan(12));
        _mirror.WriteTo(bytes.AsSpan(12 + _image.Bytes));
        return bytes;
    }

    /// <summary>The set <see cref="Encode"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a set: another format, a count out of range, a
    /// length that does not match the counts, or a position that is not finite.</exception>
    public static LocalFeatureSet Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 12 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("The bytes are not a local feature set (no MLF1 header).");
        }
        var (count, mirrorCount) = (BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]), BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]));
        if (count is < 0 or > MaxCount || mirrorCount is < 0 or > MaxCount ||
            bytes.Length != 12 + (long)(count + mirrorCount) * (8 + DescriptorLength))
        {
            throw new InvalidDataException($"A local feature set of {count} + {mirrorCount} features cannot be {bytes.Length} bytes long.");
        }
        var image = Side.Read(bytes[12..], count);
        return new(image, Side.Read(bytes[(12 + image.Bytes)..], mirrorCount));
    }

    /// <summary>The features of one image (the image, or its mirror image).</summary>
    private sealed record Side(float[] Points, byte[] Descriptors)
    {
        public int Count => Points.Length / 2;

        public int Bytes => Points.Length * 4 + Descriptors.Length;

        public static Side Create(ReadOnlySpan<float> points, ReadOnlySpan<byte> descriptors)
        {
            var count = points.Length / 2;
            if (points.Length % 2 != 0 || descriptors.Length != count * DescriptorLength)
            {
                throw new ArgumentException($"{points.Length} coordinates and {descriptors.Length} descriptor bytes are not features of 2 and {DescriptorLength}.");
            }
            if (count > MaxCount)
            {
                throw new ArgumentException($"{count} features are more than a set holds ({MaxCount}).");
            }
            foreach (var p in points)
            {
                if (!float.IsFinite(p))
                {
                    throw new ArgumentException("A feature's position is not finite.");
                }
            }
            return new(points.ToArray(), descriptors.ToArray());
        }

        public void WriteTo(Span<byte> bytes)
        {
            for (var k = 0; k < Points.Length; k++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * k)..], Points[k]);
            }
            Descriptors.CopyTo(bytes[(4 * Points.Length)..]);
        }

        public static Side Read(ReadOnlySpan<byte> bytes, int count)
        {
            var points = new float[2 * count];
            for (var k = 0; k < points.Length; k++)
            {
                points[k] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * k)..]);
                if (!float.IsFinite(points[k]))
                {
                    throw new InvalidDataException("A feature's position is not finite.");
                }
            }
            return new(points, bytes.Slice(8 * count, count * DescriptorLength).ToArray());
        }
    }
}
