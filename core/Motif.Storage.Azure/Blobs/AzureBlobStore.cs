using System.Collections.Concurrent;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Motif.Storage.Blobs;
using BlobErrorCode = Motif.Storage.Blobs.BlobErrorCode;
using BlobName = Motif.Storage.Blobs.BlobName;
using BlobLease = Motif.Storage.Blobs.BlobLease;
using BlobProperties = Motif.Storage.Blobs.BlobProperties;
using SdkBlobProperties = Azure.Storage.Blobs.Models.BlobProperties;

namespace Motif.Storage.Azure.Blobs;

/// <summary>Options of <see cref="AzureBlobStore"/>.</summary>
public sealed record AzureBlobStoreOptions
{
    /// <summary>
    /// How large uploads are cut: one Put Blob up to <see cref="StorageTransferOptions.InitialTransferSize"/>, else
    /// blocks of <see cref="StorageTransferOptions.MaximumTransferSize"/> staged <see cref="StorageTransferOptions.MaximumConcurrency"/>
    /// at a time and committed once, so a create-only or If-Match condition applies to the whole blob at the commit.
    /// </summary>
    public StorageTransferOptions Transfer { get; init; } = new()
    {
        InitialTransferSize = 8 * 1024 * 1024,
        MaximumTransferSize = 8 * 1024 * 1024,
        MaximumConcurrency = 4,
    };
}

/// <summary>
/// <see cref="IBlobStore"/> on one Azure Blob Storage container (block blobs), through Azure.Storage.Blobs.
/// The port was modelled on this service, so every promise maps onto one request: conditions are HTTP
/// preconditions (<see cref="BlobRequestConditions"/>) evaluated by the service atomically with the write, leases
/// are <see cref="BlobLeaseClient"/> calls, listing is the service's own paging.
/// </summary>
/// <remarks>
/// <para>The container must exist (see <see cref="CreateContainerIfNotExistsAsync"/>); names are checked by
/// <see cref="BlobName"/> before any request, so a hostile name never reaches the service.</para>
/// <para>Errors: <see cref="RequestFailedException.ErrorCode"/> becomes a <see cref="BlobErrorCode"/> (see
/// <see cref="BlobErrors"/>); anything else (network, authorisation, throttling after the client's retries) is
/// left as the SDK's <see cref="RequestFailedException"/>.</para>
/// <para>A lease's expiry is computed from its duration, which the service does not return on renewal: this instance
/// remembers the durations of the leases it acquired; a lease acquired elsewhere is reported as expiring after the
/// shortest finite duration (15 s), a safe lower bound for a holder that renews on time.</para>
/// </remarks>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly BlobContainerClient _container;
    private readonly AzureBlobStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, TimeSpan?> _leaseDurations = new(StringComparer.OrdinalIgnoreCase);

    public AzureBlobStore(BlobContainerClient container, AzureBlobStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        _container = container ?? throw new ArgumentNullException(nameof(container));
        _options = options ?? new AzureBlobStoreOptions();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates the container unless it exists (private: no anonymous access).</summary>
    public async Task CreateContainerIfNotExistsAsync(CancellationToken cancellationToken = default) =>
        await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken).ConfigureAwait(false);

    public async Task<BlobProperties> PutAsync(string name, Stream content, BlobPutOptions? options = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        options ??= new BlobPutOptions();
        ArgumentNullException.ThrowIfNull(options.ContentType, nameof(options.ContentType));
        options.Conditions?.Validate();
        BlobName.ValidateMetadata(options.Metadata, nameof(options.Metadata));
        ValidateLeaseId(options.Conditions?.LeaseId);

        // A seekable stream goes to the SDK as it is (it can rewind it to retry); any other is counted as the SDK reads
        // it, so a network body needs no buffer of ours and the returned properties need no second request.
        var counted = content.CanSeek ? null : new CountingReadStream(content);
        var length = content.CanSeek ? content.Length - content.Position : 0;
        var metadata = options.Metadata?.ToDictionary(p => p.Key, p => p.Value) ?? [];
        var response = await Call(name, () => _container.GetBlobClient(name).UploadAsync(counted ?? content, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = options.ContentType },
            Metadata = metadata,
            Conditions = RequestConditions(options.Conditions),
            TransferOptions = _options.Transfer,
        }, cancellationToken)).ConfigureAwait(false);
        var info = response.Value;
        return new BlobProperties(name, counted?.BytesRead ?? length, Tag(info.ETag), info.LastModified, options.ContentType, Metadata(metadata),
            // A write that carried the lease id succeeded only because the lease is active, and a write keeps it.
            options.Conditions?.LeaseId is null ? BlobLeaseState.Available : BlobLeaseState.Leased);
    }

    public async Task<BlobDownload> GetAsync(string name, BlobRange? range = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        if (range is { } r)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(r.Offset, nameof(range));
            if (r.Length is { } length)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length, nameof(range));
            }
        }
        var blob = _container.GetBlobClient(name);
        var httpRange = range is { } wanted ? new HttpRange(wanted.Offset, wanted.Length) : default;
        Response<BlobDownloadStreamingResult> response;
        try
        {
            response = await Call(name, () => blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = httpRange }, cancellationToken)).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.InvalidRange && range?.Offset == 0)
        {
            // The service refuses any range of an empty blob; the port reads an empty blob as empty from offset 0.
            if (await GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) is { ContentLength: 0 } empty)
            {
                return new BlobDownload(empty, new MemoryStream([], writable: false));
            }
            throw;
        }
        var details = response.Value.Details;
        var total = range is null ? details.ContentLength : TotalLength(details.ContentRange) ?? details.ContentLength;
        if (range is { } asked && asked.Offset >= total && total > 0)
        {
            // Azure answers 416 here; Azurite answers 206 with no bytes (AzuriteDifferences shows it). One behaviour for both.
            await response.Value.Content.DisposeAsync().ConfigureAwait(false);
            throw new BlobStoreException(BlobErrorCode.InvalidRange, name, $"The range starts at {asked.Offset}, at or past the end of the blob ({total} bytes).");
        }
        var properties = new BlobProperties(name, total, Tag(details.ETag), details.LastModified, details.ContentType ?? "",
            Metadata(details.Metadata), details.LeaseStatus == LeaseStatus.Locked ? BlobLeaseState.Leased : BlobLeaseState.Available);
        return new BlobDownload(properties, response.Value.Content);
    }

    public async Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        try
        {
            var response = await Call(name, () => _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
            return FromSdk(name, response.Value);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
    }

    public async Task<BlobPage> ListAsync(string prefix, int pageSize = BlobPage.DefaultPageSize, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, BlobPage.MaxPageSize);
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Traits = BlobTraits.Metadata, Prefix = prefix.Length == 0 ? null : prefix }, cancellationToken)
            .AsPages(continuationToken, pageSize);
        try
        {
            await foreach (var page in pages.ConfigureAwait(false))
            {
                // The service's marker, passed back verbatim: it is already the opaque token the port asks for.
                var items = page.Values.Where(i => BlobName.IsValid(i.Name)).Select(i => FromSdk(i.Name, i.Properties, i.Metadata)).ToArray();
                return new BlobPage(items, string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
            }
        }
        catch (RequestFailedException e)
        {
            throw Translate(prefix, e);
        }
        return new BlobPage([], null);
    }

    public async Task<bool> DeleteAsync(string name, BlobConditions? conditions = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        conditions?.Validate();
        ValidateLeaseId(conditions?.LeaseId);
        try
        {
            var response = await Call(name, () => _container.GetBlobClient(name).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots,
                RequestConditions(conditions), cancellationToken)).ConfigureAwait(false);
            return response.Value;
        }
        catch (BlobStoreException e) when (e.ErrorCode is BlobErrorCode.ConditionNotMet or BlobErrorCode.LeaseNotPresent)
        {
            // The port evaluates no condition on a blob that is not there.
            if (await GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }
            throw;
        }
    }

    public async Task<BlobLease> AcquireLeaseAsync(string name, TimeSpan? duration, string? proposedLeaseId = null, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        BlobName.ValidateLeaseDuration(duration);
        ValidateLeaseId(proposedLeaseId, nameof(proposedLeaseId));
        var client = _container.GetBlobClient(name).GetBlobLeaseClient(proposedLeaseId);
        var response = await Call(name, () => client.AcquireAsync(duration ?? BlobLeaseClient.InfiniteLeaseDuration, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var leaseId = response.Value.LeaseId;
        _leaseDurations[leaseId] = duration;
        return new BlobLease(leaseId, duration is { } d ? _time.GetUtcNow() + d : null);
    }

    public async Task<BlobLease> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(leaseId);
        ValidateLeaseId(leaseId, nameof(leaseId));
        var client = _container.GetBlobClient(name).GetBlobLeaseClient(leaseId);
        await Call(name, () => client.RenewAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        var duration = _leaseDurations.TryGetValue(leaseId, out var known) ? known : await DurationOfAsync(name, cancellationToken).ConfigureAwait(false);
        return new BlobLease(leaseId, duration is { } d ? _time.GetUtcNow() + d : null);
    }

    public async Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(leaseId);
        ValidateLeaseId(leaseId, nameof(leaseId));
        var client = _container.GetBlobClient(name).GetBlobLeaseClient(leaseId);
        await Call(name, () => client.ReleaseAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        _leaseDurations.TryRemove(leaseId, out _);
    }

    private async Task<TimeSpan?> DurationOfAsync(string name, CancellationToken cancellationToken)
    {
        var properties = await Call(name, () => _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        return properties.Value.LeaseDuration == LeaseDurationType.Infinite ? null : BlobName.MinLeaseDuration;
    }

    private static BlobRequestConditions? RequestConditions(BlobConditions? conditions) => conditions is null ? null : new BlobRequestConditions
    {
        IfMatch = conditions.IfMatch is { } etag ? new ETag(etag) : null,
        IfNoneMatch = conditions.IfNotExists ? ETag.All : null,
        LeaseId = conditions.LeaseId,
    };

    private static BlobProperties FromSdk(string name, SdkBlobProperties p) =>
        new(name, p.ContentLength, Tag(p.ETag), p.LastModified, p.ContentType ?? "", Metadata(p.Metadata),
            p.LeaseStatus == LeaseStatus.Locked ? BlobLeaseState.Leased : BlobLeaseState.Available);

    private static BlobProperties FromSdk(string name, BlobItemProperties p, IDictionary<string, string>? metadata) =>
        new(name, p.ContentLength ?? 0, p.ETag is { } etag ? Tag(etag) : "", p.LastModified ?? default, p.ContentType ?? "", Metadata(metadata),
            p.LeaseStatus == LeaseStatus.Locked ? BlobLeaseState.Leased : BlobLeaseState.Available);

    private static IReadOnlyDictionary<string, string> Metadata(IDictionary<string, string>? metadata) =>
        new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);

    // The service's responses quote ETags and its listings do not: the port's ETag is always the quoted (header) form.
    private static string Tag(ETag etag) => etag.ToString("H");

    // "bytes 3-6/10" → 10; "*" (unknown total) → null.
    private static long? TotalLength(string? contentRange)
    {
        var slash = contentRange?.LastIndexOf('/') ?? -1;
        return slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), out var total) ? total : null;
    }

    // A lease id travels as an HTTP header; the service wants a GUID and answers 400 otherwise.
    private static void ValidateLeaseId(string? leaseId, string parameterName = "conditions")
    {
        if (leaseId is not null && !Guid.TryParse(leaseId, out _))
        {
            throw new ArgumentException("A lease id is a GUID.", parameterName);
        }
    }

    private static async Task<T> Call<T>(string name, Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw Translate(name, e);
        }
    }

    private static Exception Translate(string name, RequestFailedException e) =>
        BlobErrors.ToCode(e) is { } code ? new BlobStoreException(code, name, e.Message.Split('\n')[0].Trim()) : e;

    /// <summary>Counts what is read through it.</summary>
    private sealed class CountingReadStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            BytesRead += read;
            return read;
        }
    }
}
