using Motif.Storage.Blobs;

namespace Motif.Testing;

/// <summary>
/// A blob store that counts downloads, property reads and the bytes read from downloads (safe for parallel callers);
/// everything else passes through.
/// </summary>
public sealed class CountingBlobStore(IBlobStore inner) : IBlobStore
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<CountingStream> _streams = new();
    private int _downloads;
    private int _propertyReads;

    public int Downloads => Volatile.Read(ref _downloads);

    public int PropertyReads => Volatile.Read(ref _propertyReads);

    public long BytesRead => _streams.Sum(s => s.BytesRead);

    public async Task<BlobDownload> GetAsync(string name, BlobRange? range = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _downloads);
        var download = await inner.GetAsync(name, range, cancellationToken);
        var counting = new CountingStream(download.Content);
        _streams.Enqueue(counting);
        return new BlobDownload(download.Properties, counting);
    }

    public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _propertyReads);
        return inner.GetPropertiesAsync(name, cancellationToken);
    }

    public Task<BlobProperties> PutAsync(string name, Stream content, BlobPutOptions? options = null, CancellationToken cancellationToken = default) =>
        inner.PutAsync(name, content, options, cancellationToken);

    public Task<BlobPage> ListAsync(string prefix, int pageSize = BlobPage.DefaultPageSize, string? continuationToken = null, CancellationToken cancellationToken = default) =>
        inner.ListAsync(prefix, pageSize, continuationToken, cancellationToken);

    public Task<bool> DeleteAsync(string name, BlobConditions? conditions = null, CancellationToken cancellationToken = default) =>
        inner.DeleteAsync(name, conditions, cancellationToken);

    public Task<BlobLease> AcquireLeaseAsync(string name, TimeSpan? duration, string? proposedLeaseId = null, CancellationToken cancellationToken = default) =>
        inner.AcquireLeaseAsync(name, duration, proposedLeaseId, cancellationToken);

    public Task<BlobLease> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default) =>
        inner.RenewLeaseAsync(name, leaseId, cancellationToken);

    public Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default) =>
        inner.ReleaseLeaseAsync(name, leaseId, cancellationToken);
}

internal sealed class CountingStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        BytesRead += read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        BytesRead += read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
