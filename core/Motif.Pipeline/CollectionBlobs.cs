using System.Security.Cryptography;
using System.Text;

namespace Motif.Pipeline;

/// <summary>
/// Where the pipeline keeps what it derives from a collection, in one blob store. Every name is built from hashes
/// (content hashes, or the SHA-256 of a hostile image id), never from an uploaded name, so no upload can choose or
/// collide with a blob name.
/// </summary>
public static class CollectionBlobs
{
    /// <summary>The working derivative (JPEG, long side ≤ <see cref="IngestOptions.DerivativeSide"/>) that signatures are computed from.</summary>
    public static string Derivative(string contentHash) => $"derivatives/{Check(contentHash)}.jpg";

    /// <summary>The small JPEG that viewers show.</summary>
    public static string Thumbnail(string contentHash) => $"thumbnails/{Check(contentHash)}.jpg";

    /// <summary>The folder of a rejected image's quarantine record (<c>record.json</c>) and bytes (<c>original</c>).</summary>
    public static string Quarantine(string imageId) => $"quarantine/{KeyOf(imageId)}/";

    /// <summary>The folder of the signature shards of a model version.</summary>
    public static string SignatureShards(string modelVersion) => $"signatures/{KeyOf(modelVersion)}/";

    /// <summary>The lease blob that makes one embedded run the sole worker of a workspace.</summary>
    public const string WorkspaceLock = "locks/workspace";

    /// <summary>A short, fixed-alphabet key for any text: the first 32 hex digits of its SHA-256.</summary>
    public static string KeyOf(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    private static string Check(string contentHash) =>
        contentHash.Length == 64 && contentHash.All(char.IsAsciiHexDigitLower)
            ? contentHash
            : throw new ArgumentException($"Not a content hash: '{contentHash}'.", nameof(contentHash));
}
