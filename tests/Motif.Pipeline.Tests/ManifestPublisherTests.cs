using System.Text;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Tests;

/// <summary>Atomic publication against the embedded blob store (the same port the Azure adapters implement).</summary>
public sealed class ManifestPublisherTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("motif-publish-");

    public void Dispose() => _root.Delete(recursive: true);

    /// <summary>A small real manifest: 3 pairs of near-duplicates and 2 loners, clustered by OPTICS.</summary>
    private static ClusterManifest Manifest(string runId, ClusterManifest? previous = null)
    {
        float[] x = [1, 0, 0, 0, 0.99f, 0.05f, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, -1, 0, 0, 0];
        var ids = Enumerable.Range(0, 8).Select(i => $"img-{i}").ToArray();
        var graph = NeighbourGraph.Build(x, 4, 0.13);
        var optics = Optics.Order(graph, 2);
        var labels = Optics.ExtractXi(optics, 0.05).Labels;
        var parameters = new ClusteringParameters(0.13, 2, Extraction.Xi, 0.05, null, true, null);
        return ClusterManifest.Create(new ManifestRun(runId, DateTimeOffset.UnixEpoch, "test-model", parameters), ids, x, 4, optics, labels, previous);
    }

    private static async Task<string> ReadTextAsync(IBlobStore store, string name)
    {
        using var download = await store.GetAsync(name);
        return await new StreamReader(download.Content, Encoding.UTF8).ReadToEndAsync();
    }

    [Fact]
    public async Task Runs_are_published_in_their_folder_and_latest_follows_them()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);
        Assert.Null(await publisher.ReadLatestAsync());

        var first = await publisher.PublishAsync(Manifest("run-1"), basedOn: null);
        var read = await publisher.ReadLatestAsync();
        var second = await publisher.PublishAsync(Manifest("run-2", read!.Manifest), basedOn: read);

        Assert.Equal(3, first.Manifest.Clusters.Count);
        Assert.Equal("run-2", (await publisher.ReadLatestAsync())!.Manifest.RunId);
        Assert.Equal(second.ETag, (await store.GetPropertiesAsync(ManifestPublisher.LatestName))!.ETag);
        Assert.Equal(first.Manifest.ToJson(), await ReadTextAsync(store, "manifests/runs/run-1/manifest.json"));
        Assert.StartsWith("image_id,cluster_id", await ReadTextAsync(store, "manifests/runs/run-2/clusters.csv"));
        // Same clusters, so the second run inherits the first run's ids.
        Assert.Equal(first.Manifest.Clusters.Select(c => c.Id), second.Manifest.Clusters.Select(c => c.Id));
    }

    [Fact]
    public async Task Two_runs_computed_from_the_same_latest_cannot_both_publish()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);
        await publisher.PublishAsync(Manifest("run-1"), basedOn: null);
        var latest = await publisher.ReadLatestAsync();

        await publisher.PublishAsync(Manifest("run-2a", latest!.Manifest), latest);
        var conflict = await Assert.ThrowsAsync<ManifestPublishConflictException>(() => publisher.PublishAsync(Manifest("run-2b", latest.Manifest), latest));

        Assert.Contains("recluster", conflict.Message);
        Assert.Equal("run-2a", (await publisher.ReadLatestAsync())!.Manifest.RunId);
    }

    [Fact]
    public async Task Two_first_runs_cannot_both_publish()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);

        await publisher.PublishAsync(Manifest("run-a"), basedOn: null);

        await Assert.ThrowsAsync<ManifestPublishConflictException>(() => publisher.PublishAsync(Manifest("run-b"), basedOn: null));
        Assert.Equal("run-a", (await publisher.ReadLatestAsync())!.Manifest.RunId);
    }

    [Fact]
    public async Task A_crash_before_the_swap_leaves_the_previous_manifest_whole()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);
        var first = await publisher.PublishAsync(Manifest("run-1"), basedOn: null);

        var crashing = new ManifestPublisher(new InterceptedBlobStore(store, name => name == ManifestPublisher.LatestName ? throw new IOException("simulated crash") : Task.CompletedTask));
        await Assert.ThrowsAsync<IOException>(() => crashing.PublishAsync(Manifest("run-2", first.Manifest), first));

        var latest = await publisher.ReadLatestAsync();
        Assert.Equal(first.Manifest.ToJson(), latest!.Manifest.ToJson());
        Assert.NotNull(await store.GetPropertiesAsync("manifests/runs/run-2/manifest.json"));
    }

    [Fact]
    public async Task A_run_id_cannot_leave_the_manifests_folder()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);

        await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync(Manifest("../../etc"), basedOn: null));
        Assert.Null(await publisher.ReadLatestAsync());
    }

    [Fact]
    public async Task The_whole_reachability_plot_is_written_in_the_run_folder_before_latest_moves_and_only_for_its_own_run()
    {
        using var store = new LocalFolderBlobStore(_root.FullName);
        var publisher = new ManifestPublisher(store);
        float[] x = [1, 0, 0, 0, 0.99f, 0.05f, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, -1, 0, 0, 0];
        var optics = Optics.Order(NeighbourGraph.Build(x, 4, 0.13), 2);
        var first = Manifest("run-1");
        var other = ReachabilityPlot.Create(Manifest("run-0"), optics);

        await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync(first, null, map: null, other));
        Assert.Null(await publisher.ReadLatestAsync());

        await publisher.PublishAsync(first, null, map: null, ReachabilityPlot.Create(first, optics));
        var plot = ReachabilityPlot.FromJson(await ReadTextAsync(store, ManifestPublisher.ReachabilityName("run-1")));
        Assert.Equal("manifests/runs/run-1/reachability.json", ManifestPublisher.ReachabilityName("run-1"));
        Assert.Equal(8, plot.Ids.Count);
        Assert.Equal(first.Counts.Noise, plot.Cluster.Count(c => c < 0));

        // A crash as latest.json is written leaves the plot in the run's folder: it was written first.
        var crashing = new InterceptedBlobStore(store, name => name == ManifestPublisher.LatestName ? throw new IOException("simulated crash") : Task.CompletedTask);
        var second = Manifest("run-2", first);
        var latest = await publisher.ReadLatestAsync();
        await Assert.ThrowsAsync<IOException>(() => new ManifestPublisher(crashing).PublishAsync(second, latest, null, ReachabilityPlot.Create(second, optics)));
        Assert.Equal("run-2", ReachabilityPlot.FromJson(await ReadTextAsync(store, ManifestPublisher.ReachabilityName("run-2"))).RunId);
        Assert.Equal("run-1", (await publisher.ReadLatestAsync())!.Manifest.RunId);
    }
}
