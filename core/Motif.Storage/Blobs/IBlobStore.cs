namespace Motif.Storage.Blobs;

/// <summary>
/// A flat namespace of named blobs, modelled on Azure Blob Storage (block blobs in one container) so that the
/// embedded adapter and the Azure adapter behave alike: names are '/'-separated but folders do not exist,
/// every write gets a new ETag, conditional writes fail with a typed error instead of overwriting, and a leased
/// blob refuses writes and deletes that do not carry its lease id.
/// </summary>
/// <remarks>
/// Failures that callers are expected to handle (absent blob, failed condition, lease conflicts, bad range)
/// are <see cref="BlobStoreException"/>s with a <see cref="BlobErrorCode"/>; invalid arguments (see
/// <see cref="BlobName"/>) are <see cref="ArgumentException"/>s and are programming errors.
/// Publishing atomically is: write the new objects under fresh names, then replace the pointer blob with
/// <see cref="BlobConditions.IfMatch"/> set to the ETag that was read, retrying on
/// <see cref="BlobErrorCode.ConditionNotMet"/>.
/// </remarks>
public interface IBlobStore
{
    /// <summary>Writes the whole blob from <paramref name="content"/> (read to its end) and returns its new properties.</summary>
    /// <exception cref="BlobStoreException">
    /// <see cref="BlobErrorCode.BlobAlreadyExists"/> for a create-only write of an existing blob,
    /// <see cref="BlobErrorCode.ConditionNotMet"/> when <see cref="BlobConditions.IfMatch"/> does not hold,
    /// or a lease error when the blob is leased (or not leased but a lease id was given).
    /// </exception>
    Task<BlobProperties> PutAsync(string name, Stream content, BlobPutOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Opens the blob, or the byte range of it, for reading. The caller disposes the result.</summary>
    /// <exception cref="BlobStoreException"><see cref="BlobErrorCode.BlobNotFound"/>, or <see cref="BlobErrorCode.InvalidRange"/>
    /// when the range starts at or past the end of a non-empty blob.</exception>
    Task<BlobDownload> GetAsync(string name, BlobRange? range = null, CancellationToken cancellationToken = default);

    /// <summary>The blob's properties, or null when there is no such blob (a cheap existence check).</summary>
    Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of the blobs whose names start with <paramref name="prefix"/>, in ascending order of their names'
    /// UTF-8 bytes (Unicode code point order, as Azure lists). Pass the returned
    /// <see cref="BlobPage.ContinuationToken"/> back to get the next page; it is null on the last page.
    /// </summary>
    Task<BlobPage> ListAsync(string prefix, int pageSize = BlobPage.DefaultPageSize, string? continuationToken = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the blob. Returns false when it did not exist (conditions are then not evaluated).</summary>
    /// <exception cref="BlobStoreException"><see cref="BlobErrorCode.ConditionNotMet"/> or a lease error.</exception>
    Task<bool> DeleteAsync(string name, BlobConditions? conditions = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a lease on an existing blob for <paramref name="duration"/> (15 to 60 seconds, as in Azure) or, when null,
    /// until released. Acquiring again with the id of the active lease renews it.
    /// </summary>
    /// <exception cref="BlobStoreException"><see cref="BlobErrorCode.BlobNotFound"/> or <see cref="BlobErrorCode.LeaseAlreadyPresent"/>.</exception>
    Task<BlobLease> AcquireLeaseAsync(string name, TimeSpan? duration, string? proposedLeaseId = null, CancellationToken cancellationToken = default);

    /// <summary>Restarts the lease's duration. Works on an expired lease as long as nobody else has leased the blob since.</summary>
    Task<BlobLease> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default);

    /// <summary>Ends the lease so that anyone may write the blob again or lease it.</summary>
    Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default);
}
