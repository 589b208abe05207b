namespace Motif.Storage.Blobs;

/// <summary>What the store knows about one blob.</summary>
/// <param name="Name">The blob's name.</param>
/// <param name="ContentLength">The whole blob's length in bytes (also when only a range was read).</param>
/// <param name="ETag">Opaque; different after every write of the blob, including a rewrite of identical bytes.</param>
/// <param name="LastModified">When the current version was written.</param>
/// <param name="ContentType">The media type given at write time.</param>
/// <param name="Metadata">Name/value pairs given at write time; names compare case-insensitively.</param>
/// <param name="Lease">Whether a lease currently blocks writers that do not hold it.</param>
public sealed record BlobProperties(
    string Name,
    long ContentLength,
    string ETag,
    DateTimeOffset LastModified,
    string ContentType,
    IReadOnlyDictionary<string, string> Metadata,
    BlobLeaseState Lease);

/// <summary>Whether a blob is leased right now. An expired lease counts as <see cref="Available"/>.</summary>
public enum BlobLeaseState
{
    Available,
    Leased,
}

/// <summary>Options of <see cref="IBlobStore.PutAsync"/>.</summary>
public sealed record BlobPutOptions
{
    /// <summary>Stored and returned as is; Azure's default when none is given.</summary>
    public string ContentType { get; init; } = "application/octet-stream";

    /// <summary>Replaces the blob's metadata. See <see cref="BlobName.ValidateMetadata"/> for what is accepted.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Conditions the write must meet; null writes unconditionally (except for a leased blob).</summary>
    public BlobConditions? Conditions { get; init; }
}

/// <summary>
/// Preconditions of a write or delete, as HTTP's If-Match / If-None-Match: * and Azure's x-ms-lease-id.
/// They are checked atomically with the write: two writers that read the same ETag cannot both succeed.
/// </summary>
public sealed record BlobConditions
{
    /// <summary>The write happens only if the blob exists with this ETag (else <see cref="BlobErrorCode.ConditionNotMet"/>).</summary>
    public string? IfMatch { get; init; }

    /// <summary>The write happens only if the blob does not exist (If-None-Match: *; else <see cref="BlobErrorCode.BlobAlreadyExists"/>).</summary>
    public bool IfNotExists { get; init; }

    /// <summary>The id of the lease held on the blob; required while the blob is leased.</summary>
    public string? LeaseId { get; init; }

    /// <summary>Create the blob, never replace one.</summary>
    public static BlobConditions CreateOnly { get; } = new() { IfNotExists = true };

    /// <summary>Replace the blob only if it is still the version whose ETag was read.</summary>
    public static BlobConditions Matching(string etag) => new() { IfMatch = etag ?? throw new ArgumentNullException(nameof(etag)) };

    internal void Validate()
    {
        if (IfNotExists && IfMatch is not null)
        {
            throw new ArgumentException("IfMatch and IfNotExists cannot both be set: no blob can satisfy both.");
        }
    }
}

/// <summary>A byte range to read: from <paramref name="Offset"/>, <paramref name="Length"/> bytes or (null) to the end.</summary>
public readonly record struct BlobRange(long Offset, long? Length = null);

/// <summary>An open read of a blob. Dispose it to close the underlying file or connection.</summary>
public sealed class BlobDownload(BlobProperties properties, Stream content) : IDisposable, IAsyncDisposable
{
    /// <summary>The properties of the version being read (the same ETag as the bytes).</summary>
    public BlobProperties Properties { get; } = properties;

    /// <summary>The requested bytes, read-only, from the range's start.</summary>
    public Stream Content { get; } = content;

    public void Dispose() => Content.Dispose();

    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

/// <summary>One page of a listing.</summary>
/// <param name="Items">The blobs of this page, in name order.</param>
/// <param name="ContinuationToken">Opaque; pass it to get the next page. Null when there is none.</param>
public sealed record BlobPage(IReadOnlyList<BlobProperties> Items, string? ContinuationToken)
{
    /// <summary>The page size used when none is given.</summary>
    public const int DefaultPageSize = 1000;

    /// <summary>Azure's largest page.</summary>
    public const int MaxPageSize = 5000;
}

/// <summary>A lease held on a blob.</summary>
/// <param name="LeaseId">Pass it in <see cref="BlobConditions.LeaseId"/> to write or delete the blob, and to renew or release.</param>
/// <param name="ExpiresOn">When the lease lapses unless renewed; null for an infinite lease.</param>
public sealed record BlobLease(string LeaseId, DateTimeOffset? ExpiresOn);
