using Microsoft.AspNetCore.Http;
using Motif.Engine;
using Motif.Functions.Api;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Cli;

/// <summary>
/// <c>motif serve</c>'s <see cref="IQueryImageSearch"/>: the query is embedded in this process, with the model the
/// workspace was run with, and ranked against the signatures behind the latest manifest — what <c>motif search</c>
/// does for a file, behind the same <c>POST /api/search</c> the Functions app answers by forwarding to the worker.
/// </summary>
/// <remarks>
/// The model is opened on the first search, not when serving starts: browsing needs no libtorch, and a model that
/// cannot load costs a 503 on search rather than the whole app. The signatures are read once per published manifest
/// (its ETag), not once per query: every shard of the collection would otherwise be read each time. One query is
/// embedded at a time: the engine runs its forward pass on the calling thread with its own thread team, and two at
/// once would only halve each other's speed on a curator's machine.
/// </remarks>
internal sealed class InProcessSearch(string model, Precision precision, ReclusterService recluster, IBlobStore blobs, IImageCatalog catalog, TextWriter error)
    : IQueryImageSearch, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SignatureModel? _network;
    private string? _modelVersion;
    private Signatures? _signatures;

    public async Task<QuerySearchResult> SearchAsync(byte[] image, int k, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var latest = await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false)
            ?? throw Unavailable("No manifest has been published yet: run `motif run <folder>` first.");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (network, version) = Model();
            var embedder = new EngineSignatureEmbedder(network, version, precision: precision);
            if (embedder.ModelVersion != latest.Manifest.ModelVersion)
            {
                throw Unavailable($"The latest run's signatures are from {latest.Manifest.ModelVersion}, not {embedder.ModelVersion}: serve with the model it was run with (--model, --precision).");
            }
            if (_signatures?.ETag != latest.ETag)
            {
                _signatures = new Signatures(latest.ETag, await SignatureSet.LoadAsync(blobs, catalog, latest.Manifest.ModelVersion, cancellationToken).ConfigureAwait(false));
            }
            var set = _signatures.Set;
            // The forward pass is seconds of CPU: off the request thread.
            var hits = set.Count == 0 ? [] : await Task.Run(() => new SearchService(set, embedder).Nearest(image, k), cancellationToken).ConfigureAwait(false);
            return new QuerySearchResult(embedder.ModelVersion, set.Count, hits);
        }
        catch (ImageRejectedException)
        {
            // Validated as an upload before it came here; what the decoder still refuses is the client's image.
            throw new QuerySearchException(StatusCodes.Status422UnprocessableEntity, "The image could not be decoded.");
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _network?.Dispose();
        _gate.Dispose();
    }

    private (SignatureModel Network, string Version) Model()
    {
        if (_network is null)
        {
            try
            {
                _modelVersion = ModelCatalog.VersionOf(model);
                _network = ModelCatalog.Open(model);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Said here, where the person who started `motif serve` reads it; the browser gets no exception text.
                error.WriteLine($"motif serve: the model {Display.Safe(model)} could not be loaded for search: {Display.Safe(e.Message)}");
                throw Unavailable("The model could not be loaded (motif serve's output says why).");
            }
        }
        return (_network, _modelVersion!);
    }

    private static QuerySearchException Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, detail);

    private sealed record Signatures(string ETag, SignatureSet Set);
}
