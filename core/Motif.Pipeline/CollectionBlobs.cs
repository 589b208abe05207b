using System.Text;
using Motif.Core;
using Motif.Storage.Blobs;

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

    /// <summary>
    /// The folder of a rejected image's quarantine record (<c>record.json</c>) and bytes, named by their content hash (so a
    /// file rejected again with other bytes keeps each version).
    /// </summary>
    public static string Quarantine(string imageId) => $"quarantine/{KeyOf(imageId)}/";

    /// <summary>The folder of the signature shards of a model version.</summary>
    public static string SignatureShards(string modelVersion) => $"signatures/{KeyOf(modelVersion)}/";

    /// <summary>An image's local features (<see cref="Imaging.LocalFeatures.LocalFeatureSet.Encode"/>) as a matcher
    /// version finds them in its derivative: they depend on the content and the matcher, never on the model.</summary>
    public static string LocalFeatures(string matcherVersion, string contentHash) => $"features/{KeyOf(matcherVersion)}/{Check(contentHash)}.mlf";

    /// <summary>The OPTICS radius calibrated for a model version (<see cref="RadiusCalibrator"/>), kept beside its
    /// signatures' identity so that every run under that model reuses it.</summary>
    public static string CalibratedRadius(string modelVersion) => $"models/{KeyOf(modelVersion)}/radius.json";

    /// <summary>The lease blob that makes one embedded run the sole worker of a workspace.</summary>
    public const string WorkspaceLock = "locks/workspace";

    /// <summary>The lease blob that makes one reclustering at a time publish (the timer may fire on two instances).</summary>
    public const string ReclusterLock = "locks/recluster";

    /// <summary>The ground-truth morphograph CSV last imported (<c>motif morphograph import</c>), as it was read.</summary>
    public const string MorphographEdges = "morphograph/edges.csv";

    /// <summary>The frozen train/validation/test split of the morphograph (<c>MorphographSplit</c> JSON); every import
    /// extends it, never rebuilds it.</summary>
    public const string MorphographSplit = "morphograph/split.json";

    /// <summary>The folder of one training run (<c>TrainingService</c>): its checkpoint per epoch, its progress record
    /// and its curves. <paramref name="runKey"/> is a hash the service computes from the run's inputs.</summary>
    public static string TrainingRun(string runKey) => $"models/training/{KeyOf(runKey)}/";

    /// <summary>The folder of curators' annotations, one immutable blob each (<c>BlobAnnotationStore</c>).</summary>
    public const string Annotations = "annotations/";

    /// <summary>The blob of the annotation <paramref name="id"/> (an <c>AnnotationIds</c> id: fixed alphabet, never hostile text).</summary>
    public static string Annotation(string id) =>
        Core.Annotations.AnnotationIds.IsValid(id) ? $"{Annotations}{id}.json" : throw new ArgumentException($"Not an annotation id: '{Core.Annotations.AnnotationRules.Printable(id)}'.", nameof(id));

    /// <summary>A short, fixed-alphabet key for any text: the first 32 hex digits of its SHA-256.</summary>
    public static string KeyOf(string text) => ContentHash.Of(Encoding.UTF8.GetBytes(text)).Hex[..32];

    /// <summary>Whether <paramref name="text"/> is a content hash as blob names use it: 64 lowercase hex digits.</summary>
    public static bool IsContentHash(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigitLower);

    /// <summary>
    /// Deletes the blobs under <paramref name="prefix"/> that <paramref name="referenced"/> does not contain and that
    /// were last written before <paramref name="cutoff"/> (younger ones may belong to work not yet committed); each
    /// delete is conditional on the ETag listed, so a blob rewritten meanwhile survives. Returns how many were deleted.
    /// </summary>
    public static async Task<int> DeleteUnreferencedAsync(IBlobStore blobs, string prefix, IReadOnlySet<string> referenced, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(referenced);
        var deleted = 0;
        await foreach (var blob in blobs.ListAllAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!referenced.Contains(blob.Name) && blob.LastModified <= cutoff &&
                await blobs.DeleteAsync(blob.Name, BlobConditions.Matching(blob.ETag), cancellationToken).ConfigureAwait(false))
            {
                deleted++;
            }
        }
        return deleted;
    }

    private static string Check(string contentHash) =>
        IsContentHash(contentHash)
            ? contentHash
            : throw new ArgumentException($"Not a content hash: '{contentHash}'.", nameof(contentHash));
}
