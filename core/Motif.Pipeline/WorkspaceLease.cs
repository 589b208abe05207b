using Motif.Storage.Blobs;

namespace Motif.Pipeline;

/// <summary>Another process holds the workspace: it is running now, or it crashed less than a lease term ago.</summary>
public sealed class WorkspaceBusyException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An exclusive, self-renewing blob lease on a lock blob: by default <see cref="CollectionBlobs.WorkspaceLock"/>, which
/// makes its holder the only embedded run of a workspace; any other lock blob (<see cref="CollectionBlobs.ReclusterLock"/>)
/// makes one piece of work a singleton across instances (the pattern Azure uses for singleton work). A process that
/// crashes cannot release it, so the lease is short and renewed in the background: a crashed holder's lease lapses after
/// at most <see cref="Term"/>, and <see cref="AcquireAsync(IBlobStore, string, TimeSpan?, Action?, CancellationToken)"/>
/// waits that long by default before giving up, so the next run simply takes over.
/// </summary>
public sealed class WorkspaceLease : IAsyncDisposable
{
    /// <summary>How long the lease lives without renewal (Azure allows 15–60 s).</summary>
    public static readonly TimeSpan Term = TimeSpan.FromSeconds(15);

    private readonly IBlobStore _blobs;
    private readonly string _lockBlob;
    private readonly string _leaseId;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _renewal;

    private WorkspaceLease(IBlobStore blobs, string lockBlob, string leaseId)
    {
        (_blobs, _lockBlob, _leaseId) = (blobs, lockBlob, leaseId);
        _renewal = RenewAsync(_stop.Token);
    }

    /// <summary>Set when a renewal failed: the workspace may no longer be exclusively ours.</summary>
    public Exception? Lost { get; private set; }

    /// <summary>
    /// Cancelled the moment a renewal fails (<see cref="Lost"/> says why). Work done under the lease passes it on, linked
    /// with its own token, so that its writes stop at once: after that, another process may hold the lease and be
    /// writing the same blobs and rows.
    /// </summary>
    public CancellationToken LostToken => _lost.Token;

    /// <summary>
    /// Takes the workspace lease, waiting up to <paramref name="wait"/> (default: one lease term, enough for a
    /// crashed holder's lease to lapse); <paramref name="waiting"/> is called once if it has to wait.
    /// </summary>
    /// <exception cref="WorkspaceBusyException">Another live process holds the lease.</exception>
    public static Task<WorkspaceLease> AcquireAsync(IBlobStore blobs, TimeSpan? wait = null, Action? waiting = null, CancellationToken cancellationToken = default) =>
        AcquireAsync(blobs, CollectionBlobs.WorkspaceLock, wait, waiting, cancellationToken);

    /// <summary>
    /// Takes the lease on <paramref name="lockBlob"/> (created empty when missing), waiting up to <paramref name="wait"/>;
    /// <see cref="TimeSpan.Zero"/> tries once, for work that a second instance should skip rather than repeat.
    /// </summary>
    /// <exception cref="WorkspaceBusyException">Another live process holds the lease.</exception>
    public static async Task<WorkspaceLease> AcquireAsync(IBlobStore blobs, string lockBlob, TimeSpan? wait = null, Action? waiting = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentException.ThrowIfNullOrEmpty(lockBlob);
        try
        {
            await blobs.PutAsync(lockBlob, new MemoryStream([]), new BlobPutOptions { Conditions = BlobConditions.CreateOnly }, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.IsConditionFailure || e.ErrorCode == BlobErrorCode.LeaseIdMissing)
        {
            // It exists (and may be leased): fine.
        }
        var deadline = DateTimeOffset.UtcNow + (wait ?? Term + TimeSpan.FromSeconds(2));
        var warned = false;
        while (true)
        {
            try
            {
                var lease = await blobs.AcquireLeaseAsync(lockBlob, Term, cancellationToken: cancellationToken).ConfigureAwait(false);
                return new WorkspaceLease(blobs, lockBlob, lease.LeaseId);
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.LeaseAlreadyPresent)
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    throw new WorkspaceBusyException(lockBlob == CollectionBlobs.WorkspaceLock
                        ? "Another motif process is using this workspace (its lease is held and renewed)."
                        : $"Another process holds {lockBlob} (its lease is held and renewed).", e);
                }
                if (!warned)
                {
                    waiting?.Invoke();
                    warned = true;
                }
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await _blobs.ReleaseLeaseAsync(_lockBlob, _leaseId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BlobStoreException)
        {
            // Lapsed or taken over: nothing of ours to release.
        }
        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Term / 3);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await _blobs.RenewLeaseAsync(_lockBlob, _leaseId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // Any failure, not only a refusal: a lease we could not renew is one we cannot prove is still ours
                // (a local store that hit a full disk cannot renew either).
                Lost = e;
                await _lost.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }
}
