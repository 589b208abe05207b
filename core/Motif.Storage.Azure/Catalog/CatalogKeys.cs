using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Motif.Storage.Azure.Catalog;

/// <summary>
/// The partition and row keys of <see cref="TableImageCatalog"/>. Every key is chosen so that each query the port
/// makes is a point read (both keys known) or a partition query (one PartitionKey, perhaps a RowKey range), never a
/// table scan:
/// <list type="table">
/// <listheader><term>PartitionKey / RowKey</term><description>holds, and why there</description></listheader>
/// <item><term><c>images-{0..f}</c> / <c>{id}</c></term><description>One image record. The partition is the first hex
/// digit of the id's SHA-256, so intake (one upsert per image, from many workers) spreads over 16 partitions instead of
/// queueing on one, while a listing stays 16 partition queries, run side by side. A fixed count, because moving it
/// would re-home every record.</description></item>
/// <item><term><c>models</c> / <c>{model}</c></term><description>The registry of model versions that have signatures,
/// written before a model's first signature, so <see cref="TableImageCatalog.ListReferencedShardsAsync"/> can visit
/// every model's partition without a scan.</description></item>
/// <item><term><c>model-{model}</c> / <c>c-{hash}</c></term><description>The signature of a content hash: a point read
/// for GetSignature, and in the same partition as its shard's marker so both are written in one entity-group
/// transaction.</description></item>
/// <item><term><c>model-{model}</c> / <c>s-{shard}</c></term><description>The marker of a shard that holds at least one
/// of the model's signatures, written in the transaction that adds the first of them: the referenced shards are a
/// RowKey range of a few rows per shard rather than a read of every signature.</description></item>
/// <item><term><c>model-{model}</c> / <c>f-{hash}</c></term><description>A signature failure of the model; the work
/// still to do is the accepted images less this partition's <c>c-</c> and <c>f-</c> rows.</description></item>
/// </list>
/// </summary>
/// <remarks>
/// Ids, model versions, hashes and shard names are hostile text: keys may not hold '/', '\', '#', '?' or control
/// characters and are limited to 1 KiB, so every one goes through <see cref="Encode"/> and its real value is stored as a
/// property (keys address entities; they are never read back as data).
/// </remarks>
internal static class CatalogKeys
{
    /// <summary>How many partitions the image records spread over (the first hex digit of the id's hash).</summary>
    public const int ImagePartitionCount = 16;

    public const string ModelsPartition = "models";
    public const string SignaturePrefix = "c-";
    public const string FailurePrefix = "f-";
    public const string ShardPrefix = "s-";

    // Readable keys are kept up to this length; longer ones become a hash (with the prefixes, far below 1 KiB).
    private const int MaxReadableLength = 255;

    /// <summary>Every image partition, in order.</summary>
    public static IReadOnlyList<string> ImagePartitions { get; } = Enumerable.Range(0, ImagePartitionCount).Select(i => $"images-{i:x}").ToArray();

    public static string ImagePartition(string imageId) => ImagePartitions[SHA256.HashData(Utf16(imageId))[0] >> 4];

    public static string ImageRow(string imageId) => Encode(imageId);

    public static string ModelRow(string modelVersion) => Encode(modelVersion);

    public static string ModelPartition(string modelVersion) => "model-" + Encode(modelVersion);

    public static string SignatureRow(string contentHash) => SignaturePrefix + Encode(contentHash);

    public static string FailureRow(string contentHash) => FailurePrefix + Encode(contentHash);

    public static string ShardRow(string shard) => ShardPrefix + Encode(shard);

    /// <summary>The RowKeys that start with <paramref name="prefix"/>: from it (inclusive) to it with its last character raised (exclusive).</summary>
    public static (string From, string To) Range(string prefix) => (prefix, prefix[..^1] + (char)(prefix[^1] + 1));

    /// <summary>
    /// A key for any string, injective on strings: ASCII letters, digits, '-', '_' and '.' stay as they are, any other
    /// UTF-16 code unit becomes '~' and four uppercase hex digits (so "a/b" is "a~002Fb" and a real "a~002Fb" is
    /// "a~007E002Fb"). Where that is longer than 255 characters the key is "~~" and the SHA-256 of the UTF-16 code
    /// units in hex: never an escape (an escape's '~' is followed by a hex digit), fixed in length, and no more
    /// likely to collide than SHA-256 itself.
    /// </summary>
    public static string Encode(string value)
    {
        var key = new StringBuilder(Math.Min(value.Length, MaxReadableLength + 1));
        foreach (var c in value)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            {
                key.Append(c);
            }
            else
            {
                key.Append('~').Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            if (key.Length > MaxReadableLength)
            {
                return "~~" + Convert.ToHexStringLower(SHA256.HashData(Utf16(value)));
            }
        }
        return key.ToString();
    }

    // The code units themselves, little-endian whatever the platform, so the hash is the same everywhere and two strings
    // that differ only in an unpaired surrogate (which UTF-8 would turn into the same U+FFFD) still differ.
    private static byte[] Utf16(string value)
    {
        var bytes = new byte[value.Length * 2];
        for (var i = 0; i < value.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), value[i]);
        }
        return bytes;
    }
}
