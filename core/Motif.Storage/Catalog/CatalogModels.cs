namespace Motif.Storage.Catalog;

/// <summary>What intake decided about one image.</summary>
public enum ImageStatus
{
    /// <summary>Valid: it has a derivative and is (or will be) signed and clustered.</summary>
    Accepted,

    /// <summary>Refused at intake; the bytes (if any could be read) are in quarantine with the reason.</summary>
    Rejected,
}

/// <summary>
/// The catalog record of one image. <see cref="SourceStamp"/> is the adapter's cheap change marker for the source
/// (length and modification time of a local file, the ETag of an upload blob): when it is unchanged the image is
/// not read again. <see cref="ContentHash"/> is null only when the bytes could not be read at all.
/// </summary>
public sealed record ImageRecord(
    string ImageId,
    string? SourceStamp,
    string? ContentHash,
    long ByteLength,
    ImageStatus Status,
    string? ReasonCode,
    string? Message,
    string? Format,
    int Width,
    int Height,
    DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// The W3C trace id (32 lowercase hex digits) of the activity that ingested the upload, when it was traced; null
    /// otherwise. It lets the published manifest name each image's upload trace, which the signature job carries only
    /// as far as the worker.
    /// </summary>
    public string? TraceId { get; init; }
}

/// <summary>Row <see cref="Row"/> of the signature shard blob <see cref="Shard"/> holds the signature of a content hash under a model.</summary>
public sealed record SignatureLocation(string ModelVersion, string ContentHash, string Shard, int Row);

/// <summary>A content hash for which a model could not compute a signature, and why.</summary>
public sealed record SignatureFailure(string ModelVersion, string ContentHash, string ReasonCode, string Message);
