namespace Motif.Storage.Blobs;

/// <summary>Why a blob operation was refused. Each maps to the Azure Blob error code of the same name.</summary>
public enum BlobErrorCode
{
    /// <summary>There is no blob with this name (HTTP 404).</summary>
    BlobNotFound,

    /// <summary>A create-only write found the blob already there (HTTP 409).</summary>
    BlobAlreadyExists,

    /// <summary>An If-Match condition did not hold: the blob changed or vanished since its ETag was read (HTTP 412).</summary>
    ConditionNotMet,

    /// <summary>Someone else holds an active lease on the blob (HTTP 409).</summary>
    LeaseAlreadyPresent,

    /// <summary>The blob is leased and the write or delete carried no lease id (HTTP 412).</summary>
    LeaseIdMissing,

    /// <summary>The lease id given is not the blob's lease (HTTP 409 for lease calls, 412 for writes).</summary>
    LeaseIdMismatch,

    /// <summary>A lease id was given but the blob has no active lease, e.g. it expired (HTTP 412 / 409; Azure's
    /// LeaseNotPresentWithBlobOperation, LeaseNotPresentWithLeaseOperation and LeaseLost).</summary>
    LeaseNotPresent,

    /// <summary>The requested range starts past the end of the blob (HTTP 416).</summary>
    InvalidRange,
}

/// <summary>A blob operation refused for a reason the caller can act on (see <see cref="ErrorCode"/>).</summary>
public sealed class BlobStoreException : Exception
{
    public BlobStoreException(BlobErrorCode errorCode, string blobName, string message)
        : base($"{errorCode}: {message} (blob '{blobName}')")
    {
        ErrorCode = errorCode;
        BlobName = blobName;
    }

    public BlobErrorCode ErrorCode { get; }

    public string BlobName { get; }

    /// <summary>
    /// True for the outcomes of optimistic concurrency (If-Match failed, create-only found a blob): the caller's
    /// view is stale, re-read and decide again.
    /// </summary>
    public bool IsConditionFailure => ErrorCode is BlobErrorCode.ConditionNotMet or BlobErrorCode.BlobAlreadyExists;
}
