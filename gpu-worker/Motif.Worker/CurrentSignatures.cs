using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Worker;

/// <summary>
/// The collection's signatures as search sees them: loaded once, then reloaded only when the catalog's list of
/// signatures has changed (checked at most every <see cref="CheckEvery"/>, and at once after this worker signed or
/// updated the graph). Other replicas sign too, so the catalog, not this process, says what is current.
/// </summary>
public sealed class CurrentSignatures(IBlobStore blobs, IImageCatalog catalog, MotifPipelineOptions pipeline, TimeProvider time)
{
    /// <summary>How stale a search may be about another replica's signatures.</summary>
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private SignatureSet? _set;
    private string? _fingerprint;
    private DateTimeOffset _checkedAt;
    private volatile bool _stale = true;

    /// <summary>Says the catalog changed here (a batch was signed): the next search checks it.</summary>
    public void Invalidate() => _stale = true;

    /// <summary>Takes a set just loaded (by the graph update) as current.</summary>
    public void Offer(SignatureSet set, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(set);
        (_set, _fingerprint, _checkedAt) = (set, fingerprint, time.GetUtcNow());
    }

    public async Task<SignatureSet> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_set is not null && !_stale && time.GetUtcNow() - _checkedAt < CheckEvery)
            {
                return _set;
            }
            _stale = false;
            var fingerprint = await FingerprintAsync(catalog, pipeline.ModelVersion, cancellationToken).ConfigureAwait(false);
            if (_set is null || fingerprint != _fingerprint)
            {
                _set = await SignatureSet.LoadAsync(blobs, catalog, pipeline.ModelVersion, cancellationToken).ConfigureAwait(false);
                _fingerprint = fingerprint;
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
