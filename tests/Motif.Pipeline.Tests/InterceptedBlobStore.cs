using Motif.Storage.Blobs;

namespace Motif.Pipeline.Tests;

/// <summary>
/// A blob store that runs <paramref name="beforePut"/> with the blob's name before every write: a process that dies at
/// one write (the hook throws), or another writer getting in between a read and a write (the hook writes first); and
/// <paramref name="beforeRenew"/> before every lease renewal (a lease taken over: the hook throws).
/// </summary>
internal sealed class InterceptedBlobStore(IBlobStore inner, Func<string, Task> beforePut, Func<string, Task>? beforeRenew = null) : IBlobStore
{
    /// <summary>A hook that runs <paramref name="action"/> at the first write only.</summary>
    public static Func<string, Task> Once(Func<Task> action)
    {
        var pending = 1;
        return _ => Interlocked.Exchange(ref pending, 0) == 1 ? action() : Task.CompletedTask;
    }

    public async Task<BlobProperties> PutAsync(string name, Stream content, BlobPutOptions? options = null, CancellationToken cancellationToken = default)
    {
        await beforePut(name);
        return await inner.PutAsync(name, content, options, cancellationToken);
    }

    public Task<BlobDownload> GetAsync(string name, BlobRange? range = null, CancellationToken cancellationToken = default) => inner.GetAsync(name, range, cancellationToken);

    public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default) => inner.GetPropertiesAsync(name, cancellationToken);

    public Task<BlobPage> ListAsync(string prefix, int pageSize = BlobPage.DefaultPageSize, string? continuationToken = null, CancellationToken cancellationToken = default) =>
        inner.ListAsync(prefix, pageSize, continuationToken, cancellationToken);

    public Task<bool> DeleteAsync(string name, BlobConditions? conditions = null, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, conditions, cancellationToken);

    public Task<BlobLease> AcquireLeaseAsync(string name, TimeSpan? duration, string? proposedLeaseId = null, CancellationToken cancellationToken = default) =>
        inner.AcquireLeaseAsync(name, duration, proposedLeaseId, cancellationToken);

    public async Task<BlobLease> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        if (beforeRenew is not null)
        {
            await beforeRenew(name);
        }
        return await inner.RenewLeaseAsync(name, leaseId, cancellationToken);
    }

    public Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken = default) => inner.ReleaseLeaseAsync(name, leaseId, cancellationToken);
}
