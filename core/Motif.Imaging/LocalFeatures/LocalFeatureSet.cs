using System.Buffers.Binary;

namespace Motif.Imaging.LocalFeatures;

/// <summary>
/// One image's local features: each a position in the image's pixels and a 128-byte SIFT descriptor (Lowe, "Distinctive
/// image features from scale-invariant keypoints", IJCV 2004: 4 × 4 cells of 8-bin gradient histograms, each value
/// 0–255). Stored per image content (<see cref="Encode"/>), so a pair can be verified long after either was signed.
/// </summary>
public sealed class LocalFeatureSet
{
    /// <summary>Bytes a descriptor.</summary>
    public const int DescriptorLength = 128;

    /// <summary>Most features a set holds (<see cref="Decode"/> refuses more): adapters cap their detectors far below.</summary>
    public const int MaxCount = 65536;

    // "MLF1": Motif local features, layout 1.
    private static ReadOnlySpan<byte> Magic => "MLF1"u8;

    private readonly float[] _points;
    private readonly byte[] _descriptors;

    private LocalFeatureSet(float[] points, byte[] descriptors) => (_points, _descriptors) = (points, descriptors);

    /// <summary>No features (a flat or tiny image).</summary>
    public static LocalFeatureSet Empty { get; } = new([], []);

    /// <summary>Features.</summary>
    public int Count => _points.Length / 2;

    /// <summary>x₀, y₀, x₁, y₁…: each feature's position in pixels.</summary>
    public ReadOnlySpan<float> Points => _points;

    /// <summary>Count × <see cref="DescriptorLength"/> bytes, a feature's descriptor after another.</summary>
    public ReadOnlySpan<byte> Descriptors => _descriptors;

    /// <summary>A set from positions and descriptors (copied).</summary>
    /// <exception cref="ArgumentException">The lengths disagree, there are more than <see cref="MaxCount"/> features, or a position is not finite.</exception>
    public static LocalFeatureSet Create(ReadOnlySpan<float> points, ReadOnlySpan<byte> descriptors)
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

    /// <summary>"MLF1", the count (int32, little-endian), the positions (float32, little-endian), then the descriptors.</summary>
    public byte[] Encode()
    {
        var bytes = new byte[8 + _points.Length * 4 + _descriptors.Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), Count);
        for (var k = 0; k < _points.Length; k++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + 4 * k), _points[k]);
        }
        _descriptors.CopyTo(bytes.AsSpan(8 + _points.Length * 4));
        return bytes;
    }

    /// <summary>The set <see cref="Encode"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a set: another format, a count out of range, a
    /// length that does not match it, or a position that is not finite.</exception>
    public static LocalFeatureSet Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("The bytes are not a local feature set (no MLF1 header).");
        }
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (count < 0 || count > MaxCount || bytes.Length != 8 + (long)count * (8 + DescriptorLength))
        {
            throw new InvalidDataException($"A local feature set of {count} features cannot be {bytes.Length} bytes long.");
        }
        var points = new float[2 * count];
        for (var k = 0; k < points.Length; k++)
        {
            points[k] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(8 + 4 * k)..]);
            if (!float.IsFinite(points[k]))
            {
                throw new InvalidDataException("A feature's position is not finite.");
            }
        }
        return new(points, bytes[(8 + 8 * count)..].ToArray());
    }
}
