using Motif.Pipeline;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Worker;

/// <summary>
/// The collection's signatures as search sees them, under the signature version search embeds with (the serving
/// version's): loaded once, then reloaded only when the catalog's list of that version's signatures has changed (checked
/// at most every <see cref="CheckEvery"/>, and at once after this worker signed or updated the graph), or when search
/// asks for another version (a rollout switched). Other replicas sign too, so the catalog, not this process, says what
/// is current.
/// </summary>
/// <remarks>One version is held at a time: search uses one, and the previous version's set is dropped at a switch rather
/// than kept for a rollback that may never come (reloading it costs one read of its shards).</remarks>
public sealed class CurrentSignatures(IBlobStore blobs, IImageCatalog catalog, TimeProvider time)
{
    /// <summary>How stale a search may be about another replica's signatures.</summary>
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _version;
    private SignatureSet? _set;
    private string? _fingerprint;
    private DateTimeOffset _checkedAt;
    private volatile bool _stale = true;

    /// <summary>Says the catalog changed here (a batch was signed): the next search checks it.</summary>
    public void Invalidate() => _stale = true;

    /// <summary>Takes a set of <paramref name="signatureVersion"/> just loaded (by the graph update) as current, if it is
    /// the version search holds (or none is held yet).</summary>
    public void Offer(string signatureVersion, SignatureSet set, string fingerprint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signatureVersion);
        ArgumentNullException.ThrowIfNull(set);
        if (!_gate.Wait(0))
        {
            return;   // a search is loading: it reads the catalog itself
        }
        try
        {
            if (_version is null || _version == signatureVersion)
            {
                (_version, _set, _fingerprint, _checkedAt) = (signatureVersion, set, fingerprint, time.GetUtcNow());
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The current signatures under <paramref name="signatureVersion"/>.</summary>
    public async Task<SignatureSet> GetAsync(string signatureVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signatureVersion);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_set is not null && _version == signatureVersion && !_stale && time.GetUtcNow() - _checkedAt < CheckEvery)
            {
                return _set;
            }
            _stale = false;
            var fingerprint = await FingerprintAsync(catalog, signatureVersion, cancellationToken).ConfigureAwait(false);
            if (_set is null || _version != signatureVersion || fingerprint != _fingerprint)
            {
                _set = await SignatureSet.LoadAsync(blobs, catalog, signatureVersion, cancellationToken).ConfigureAwait(false);
                (_version, _fingerprint) = (signatureVersion, fingerprint);
            }
            _checkedAt = time.GetUtcNow();
            return _set;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>What identifies the catalog's signatures of a model: every row's image, content and location.</summary>
    public static async Task<string> FingerprintAsync(IImageCatalog catalog, string modelVersion, CancellationToken cancellationToken)
    {
        var signed = await catalog.ListSignedAsync(modelVersion, cancellationToken).ConfigureAwait(false);
        var text = string.Join('\n', signed.Select(s => $"{s.Image.ImageId}\t{s.Image.ContentHash}\t{s.Signature.Shard}\t{s.Signature.Row}"));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }
}
