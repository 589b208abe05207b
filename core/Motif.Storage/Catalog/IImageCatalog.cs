namespace Motif.Storage.Catalog;

/// <summary>
/// The catalog of a collection: what is known about each image (its outcome at intake) and where each image's
/// signature lives. It is the source of truth for "what has been done", so the pipeline can resume after a crash:
/// a signature exists exactly when the catalog says so, whatever files a killed process left behind.
/// </summary>
/// <remarks>
/// Image ids are collection-relative paths (the blob name below <c>uploads/{collection}/</c> in the cloud); they are
/// hostile text and are only ever stored as values, never used as file or blob names. Signatures are keyed by the
/// image's content hash and the model version, so identical files share one signature and a new model starts afresh.
/// </remarks>
public interface IImageCatalog
{
    /// <summary>The record of <paramref name="imageId"/>, or null if the image was never seen.</summary>
    Task<ImageRecord?> GetImageAsync(string imageId, CancellationToken cancellationToken = default);

    /// <summary>Every image record, ordered by image id (ordinal).</summary>
    Task<IReadOnlyList<ImageRecord>> ListImagesAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the record of <c>record.ImageId</c>.</summary>
    Task PutImageAsync(ImageRecord record, CancellationToken cancellationToken = default);

    /// <summary>Removes the records of images that left the collection; their signatures stay (they are keyed by content).</summary>
    Task<int> RemoveImagesAsync(IReadOnlyCollection<string> imageIds, CancellationToken cancellationToken = default);

    /// <summary>Where the signature of <paramref name="contentHash"/> under <paramref name="modelVersion"/> is, or null.</summary>
    Task<SignatureLocation?> GetSignatureAsync(string modelVersion, string contentHash, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records signatures in one transaction. A content hash that already has a signature for the model keeps its
    /// first location (the later one is a redelivered job's duplicate and is ignored); returns how many were new.
    /// </summary>
    Task<int> AddSignaturesAsync(IReadOnlyList<SignatureLocation> locations, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that no signature can be computed for a content hash under a model (its derivative failed to
    /// preprocess), so it is not retried forever; the reason stays visible in the report.
    /// </summary>
    Task RecordSignatureFailureAsync(string modelVersion, string contentHash, string reasonCode, string message, CancellationToken cancellationToken = default);

    /// <summary>The signature failures recorded for a model, by content hash.</summary>
    Task<IReadOnlyList<SignatureFailure>> ListSignatureFailuresAsync(string modelVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Accepted images whose content has neither a signature nor a recorded failure for <paramref name="modelVersion"/>,
    /// one per content hash (the lowest image id), ordered by image id.
    /// </summary>
    Task<IReadOnlyList<ImageRecord>> ListUnsignedAsync(string modelVersion, CancellationToken cancellationToken = default);

    /// <summary>Accepted images that have a signature for <paramref name="modelVersion"/>, with its location, ordered by image id.</summary>
    Task<IReadOnlyList<(ImageRecord Image, SignatureLocation Signature)>> ListSignedAsync(string modelVersion, CancellationToken cancellationToken = default);

    /// <summary>Every shard blob name that holds at least one recorded signature (any model): the rest are orphans.</summary>
    Task<IReadOnlySet<string>> ListReferencedShardsAsync(CancellationToken cancellationToken = default);
}
