using Motif.Pipeline;
using Motif.Testing;

namespace Motif.Functions.Tests;

/// <summary>The Recluster timer function on Azurite: one publication per change, however many instances fire.</summary>
public sealed class ReclusterTests : IAsyncLifetime
{
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    internal static async Task UploadFamiliesAsync(FunctionsFixture f)
    {
        foreach (var name in new[] { "coffee.png", "chelsea.png" })
        {
            var photo = TestData.Photo(name);
            Assert.Equal(IngestOutcome.Accepted, await f.UploadAndIngestAsync($"museum/{name}/original.png", photo));
            Assert.Equal(IngestOutcome.Accepted, await f.UploadAndIngestAsync($"museum/{name}/copy.jpg", ImageFixtures.Variant(photo, 0.92, (1.04, 1.0, 0.97))));
        }
        await f.SignAndUpdateGraphAsync();
    }

    private async Task<int> PublishedRunsAsync() =>
        (await _f.Blobs.ListAsync("manifests/runs/")).Items.Count(b => b.Name.EndsWith("/manifest.json", StringComparison.Ordinal));

    [Fact]
    public async Task Two_concurrent_invocations_publish_exactly_once()
    {
        await UploadFamiliesAsync(_f);

        var results = await Task.WhenAll(
            _f.Get<Recluster>().RunAsync(null, CancellationToken.None),
            _f.Get<Recluster>().RunAsync(null, CancellationToken.None));

        Assert.Single(results, r => r.Outcome == ReclusterOutcome.Published);
        Assert.Single(results, r => r.Outcome is ReclusterOutcome.Skipped or ReclusterOutcome.Unchanged);
        Assert.Equal(1, await PublishedRunsAsync());
        var manifest = (await _f.Get<ReclusterService>().ReadLatestAsync())!.Manifest;
        Assert.Equal((4, 2), (manifest.Counts.Images, manifest.Counts.Clusters));
    }

    [Fact]
    public async Task It_skips_when_nothing_changed_and_publishes_when_the_catalog_did()
    {
        var recluster = _f.Get<Recluster>();
        Assert.Equal(ReclusterOutcome.Unchanged, (await recluster.RunAsync(null, CancellationToken.None)).Outcome);   // nothing signed yet

        await UploadFamiliesAsync(_f);
        var first = await recluster.RunAsync(null, CancellationToken.None);
        Assert.Equal(ReclusterOutcome.Published, first.Outcome);
        var again = await recluster.RunAsync(null, CancellationToken.None);
        Assert.Equal((ReclusterOutcome.Unchanged, first.RunId), (again.Outcome, again.RunId));

        // An image leaves the catalog: the stored graph still has its row, the timer leaves it out and republishes.
        await _f.Catalog.RemoveImagesAsync(["museum/chelsea.png/copy.jpg"]);
        var third = await recluster.RunAsync(null, CancellationToken.None);
        Assert.Equal((ReclusterOutcome.Published, 3, 1), (third.Outcome, third.Result!.Images, third.Result.StaleRows));
        Assert.Equal(2, await PublishedRunsAsync());
    }

    [Fact]
    public async Task A_held_lock_makes_the_invocation_skip()
    {
        await UploadFamiliesAsync(_f);
        await using (await WorkspaceLease.AcquireAsync(_f.Blobs, CollectionBlobs.ReclusterLock, wait: TimeSpan.Zero))
        {
            Assert.Equal(ReclusterOutcome.Skipped, (await _f.Get<Recluster>().RunAsync(null, CancellationToken.None)).Outcome);
        }
        Assert.Equal(ReclusterOutcome.Published, (await _f.Get<Recluster>().RunAsync(null, CancellationToken.None)).Outcome);
    }
}
