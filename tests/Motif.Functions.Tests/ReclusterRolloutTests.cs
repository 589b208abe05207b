using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;

namespace Motif.Functions.Tests;

/// <summary>
/// The Recluster timer's side of a model rollout, on Azurite with the Functions app's own services: it advances the
/// rollout before clustering, keeps clustering the serving version while the pending one is being signed, and after the
/// last signature clusters the new version and publishes its manifest.
/// </summary>
public sealed class ReclusterRolloutTests : IAsyncLifetime
{
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task The_timer_clusters_the_serving_version_until_the_pending_one_is_signed_then_switches_and_clusters_it()
    {
        await ReclusterTests.UploadFamiliesAsync(_f);
        var registry = _f.Get<ModelRegistry>();
        var version = await _f.RegisterVersionAsync();
        Assert.True((await _f.Get<ModelRollout>().PromoteAsync(version.Id)).Promoted);
        var configured = _f.Get<MotifPipelineOptions>().ModelVersion;
        var rolledOut = SignatureVersions.Of(version.Id, configured);

        // Nothing signed under the new version yet: the previous version's clusters are published, the pointer stays.
        var during = await _f.Get<Recluster>().RunAsync(null, CancellationToken.None);

        Assert.Equal(ReclusterOutcome.Published, during.Outcome);
        Assert.Equal(configured, during.Result!.Manifest!.Manifest.ModelVersion);
        var (waiting, _) = await registry.ReadPointerAsync();
        Assert.Equal((registry.InitialVersion, version.Id), (waiting.Serving, waiting.Pending));

        // The worker signs the promotion's jobs (and the timer's re-sent ones, completed without work) and keeps the
        // new version's graph, as GraphUpdates does.
        using var versions = new ModelVersionEmbedders(registry, new RolledOut(), new TinyEmbedder(), SignatureVersions.ModelOf(configured),
            new ModelVersionEmbeddersOptions { CacheFolder = Path.Combine(Path.GetTempPath(), $"motif-fn-rollout-{Guid.NewGuid():N}") });
        var signing = new SignatureService(_f.Blobs, _f.Catalog, _f.Jobs, versions.Configured, new SignatureServiceOptions { ModelVersions = versions });
        var signed = await signing.ProcessAllAsync();
        Assert.Equal((4, 0), (signed.Signed, signed.Failed));
        var set = await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, rolledOut);
        await _f.Get<NeighbourGraphStore>().UpdateAsync(set, NeighbourGraphStore.RadiusOf(_f.Get<MotifPipelineOptions>().Clustering));

        var after = await _f.Get<Recluster>().RunAsync(null, CancellationToken.None);

        Assert.Equal(ReclusterOutcome.Published, after.Outcome);
        Assert.Equal(rolledOut, after.Result!.Manifest!.Manifest.ModelVersion);
        Assert.Equal((4, 2), (after.Result.Manifest.Manifest.Counts.Images, after.Result.Manifest.Manifest.Counts.Clusters));
        var (pointer, _) = await registry.ReadPointerAsync();
        Assert.Equal((version.Id, (string?)null, (string?)registry.InitialVersion), (pointer.Serving, pointer.Pending, pointer.Previous));
        Assert.Equal(ReclusterOutcome.Unchanged, (await _f.Get<Recluster>().RunAsync(null, CancellationToken.None)).Outcome);
    }

    /// <summary>The rolled-out "network": the thumbnail reversed, so its signatures differ from the configured model's
    /// while its distances, and so its clusters, are the same.</summary>
    private sealed class RolledOutEmbedder(string modelVersion) : ISignatureEmbedder
    {
        private readonly TinyEmbedder _thumbnail = new();

        public string ModelVersion { get; } = modelVersion;

        public PreprocessSpec Preprocessing => _thumbnail.Preprocessing;

        public int Dimension => _thumbnail.Dimension;

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
        {
            _thumbnail.Embed(images, count, signatures);
            for (var i = 0; i < count; i++)
            {
                signatures.Slice(i * Dimension, Dimension).Reverse();
            }
        }
    }

    private sealed class RolledOut : ISignatureEmbedderFactory
    {
        public (ISignatureEmbedder Embedder, IDisposable Owner) Open(string version, string weightsFile) =>
            (new RolledOutEmbedder(SignatureVersions.Of(version, TinyEmbedder.Version)), new MemoryStream());
    }
}
