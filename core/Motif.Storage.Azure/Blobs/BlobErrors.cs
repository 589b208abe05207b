using Azure;
using Motif.Storage.Blobs;
using SdkCode = Azure.Storage.Blobs.Models.BlobErrorCode;

namespace Motif.Storage.Azure.Blobs;

/// <summary>Maps the Blob service's error codes (the x-ms-error-code header) onto the port's <see cref="BlobErrorCode"/>.</summary>
/// <remarks>
/// The service distinguishes lease errors by operation (…WithBlobOperation for a write or delete, …WithLeaseOperation for a
/// lease call) and names an expired lease LeaseLost; the port folds each family into one code, as its documentation says.
/// A HEAD request (Get Properties) has no body, so its failures carry only the status: a 404 there is BlobNotFound.
/// </remarks>
public static class BlobErrors
{
    /// <summary>The port's code for <paramref name="e"/>, or null for failures the port does not model (auth, throttling, network).</summary>
    public static BlobErrorCode? ToCode(RequestFailedException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var code = e.ErrorCode;
        if (code == SdkCode.BlobNotFound || code == SdkCode.ContainerNotFound)
        {
            return BlobErrorCode.BlobNotFound;
        }
        if (code == SdkCode.BlobAlreadyExists)
        {
            return BlobErrorCode.BlobAlreadyExists;
        }
        if (code == SdkCode.ConditionNotMet)
        {
            return BlobErrorCode.ConditionNotMet;
        }
        if (code == SdkCode.LeaseAlreadyPresent)
        {
            return BlobErrorCode.LeaseAlreadyPresent;
        }
        if (code == SdkCode.LeaseIdMissing)
        {
            return BlobErrorCode.LeaseIdMissing;
        }
        if (code == SdkCode.LeaseIdMismatchWithBlobOperation || code == SdkCode.LeaseIdMismatchWithLeaseOperation)
        {
            return BlobErrorCode.LeaseIdMismatch;
        }
        if (code == SdkCode.LeaseNotPresentWithBlobOperation || code == SdkCode.LeaseNotPresentWithLeaseOperation || code == SdkCode.LeaseLost)
        {
            return BlobErrorCode.LeaseNotPresent;
        }
        if (code == SdkCode.InvalidRange)
        {
            return BlobErrorCode.InvalidRange;
        }
        return code is null or "" ? e.Status switch
        {
            404 => BlobErrorCode.BlobNotFound,
            412 => BlobErrorCode.ConditionNotMet,
            416 => BlobErrorCode.InvalidRange,
            _ => null,
        } : null;
    }
}
