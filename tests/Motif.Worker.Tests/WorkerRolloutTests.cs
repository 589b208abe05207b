using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;
using Motif.Storage.Tests;
using Motif.Testing;

namespace Motif.Worker.Tests;

/// <summary>
/// A model rollout through the real worker process on Azurite: a promotion made through the shared composition sends
/// jobs naming the new version, the worker (configured with the packaged network) opens that version from the registry
/// and signs under it, dead-letters a job naming an unregistered version, keeps the pending version's graph, the
/// rollout then switches, and <c>/search</c> follows the switch.
/// </summary>
public sealed class WorkerRolloutTests : IDisposable
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Registers the engine's tiny ResNet as a version trained from the serving one, validated better.</summary>
    private async Task<ModelVersionRecord> RegisterTinyAsync(IBlobStore blobs, ModelRegistry registry)
    {
        var folder = CollectionBlobs.TrainingRun("run-1");
        var checkpoint = _folder.Combine("tiny.ckpt");
        using (var model = SignatureModel.Create(Tiny))
        {
            model.SaveCheckpoint(checkpoint);
        }
        var epochs = new[]
        {
            new TrainingEpoch(0, 0, 0, [], 0.40, $"{folder}epoch-0000.ckpt", "h0"),
            new TrainingEpoch(1, 3, 3, [0.5f], 0.50, $"{folder}epoch-0001.ckpt", "h1"),
        };
        await blobs.PutAsync(epochs[0].Checkpoint, new MemoryStream(RandomNumberGenerator.GetBytes(64)));
        await using (var content = File.OpenRead(checkpoint))
        {
            await blobs.PutAsync(epochs[1].Checkpoint, content);
        }
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "key", registry.InitialVersion, "data-v1", TrainingRunOptions.Cpu, epochs,
            new TrainingTest(1, 0.6, 10, 0.5, 0.9));
        return await registry.RegisterAsync(new TrainingResult(folder, progress, epochs[1].Checkpoint, StoppedEarly: false, []));
    }

    [Fact]
    public async Task The_worker_signs_a_promoted_versions_jobs_with_its_registered_weights_dead_letters_an_unknown_version_and_searches_under_the_serving_version()
    {
        var azurite = await SharedAzurite.GetAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Motif__Storage"] = "azure",
            ["MotifStorage"] = azurite.ConnectionString,
            ["Motif__Container"] = SharedAzurite.UniqueName("rollout"),
            ["Motif__CatalogTable"] = SharedAzurite.UniqueName("catalog").Replace("-", "", StringComparison.Ordinal),
            ["Motif__SignatureQueue"] = SharedAzurite.UniqueName("signatures"),
        };
        await using var services = WorkerSettings.Compose(settings);
        await MotifPipeline.EnsureStorageAsync(services);
        var ingest = services.GetRequiredService<IngestService>();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.ColourGrid(i)));
        }
        var blobs = services.GetRequiredService<IBlobStore>();
        var registry = services.GetRequiredService<ModelRegistry>();
        var version = await RegisterTinyAsync(blobs, registry);
        Assert.True((await services.GetRequiredService<ModelRollout>().PromoteAsync(version.Id)).Promoted);
        var image = (await services.GetRequiredService<IImageCatalog>().GetImageAsync("img0.jpg"))!;
        var queue = services.GetRequiredService<IWorkQueue>();
        await queue.SendAsync(SignatureJob.For(image.ImageId, image.ContentHash!, "checkpoint:0123456789abcdef").ToMessage());
        var rolledOut = SignatureVersions.Of(version.Id, MotifPipelineOptions.DefaultModelVersion);
        var catalog = services.GetRequiredService<IImageCatalog>();

        await using var worker = WorkerProcess.Start(settings);
        await worker.WaitUntilReadyAsync(Deadline);

        await WorkerSettings.PollAsync(async () => (await catalog.ListSignedAsync(MotifPipelineOptions.DefaultModelVersion)).Count == 2 && (await catalog.ListSignedAsync(rolledOut)).Count == 2,
            "2 signatures under the packaged network and 2 under the promoted version", Deadline);
        await WorkerSettings.PollAsync(async () => (await queue.PeekDeadLetteredAsync(10)).Count > 0, "the job naming an unregistered version dead-lettered", Deadline);
        Assert.Equal("unknown-model-version", Assert.Single(await queue.PeekDeadLetteredAsync(10)).Reason);
        // Signed by the version's own network (the tiny ResNet's dimension, not the packaged ResNet-50's 2048).
        using (var tiny = SignatureModel.Create(Tiny))
        {
            Assert.NotEqual(2048, tiny.EmbeddingDimension);
            Assert.Equal(tiny.EmbeddingDimension, (await SignatureSet.LoadAsync(blobs, catalog, rolledOut)).Dimension);
        }
        var graph = NeighbourGraphStore.BlobName(rolledOut, MotifPipelineOptions.DefaultClustering.MaxEps!.Value);
        await WorkerSettings.PollAsync(async () => await blobs.GetPropertiesAsync(graph) is not null, "the pending version's stored graph", Deadline);

        var status = await services.GetRequiredService<ModelRollout>().AdvanceAsync();
        Assert.Equal((true, version.Id), (status.Switched, status.Pointer.Serving));

        // Search follows the switch without a redeployment: the query is embedded by the serving version's network and
        // ranked against its signatures, so an image of the collection finds itself first, at distance ~0. (With the
        // configured network it would answer under the packaged version's signatures.)
        var derivative = await blobs.ReadAllBytesAsync(CollectionBlobs.Derivative(image.ContentHash!));
        var search = await worker.Http.PostAsync("/search?k=2", new ByteArrayContent(derivative));
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        var found = await search.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(rolledOut, found.GetProperty("model").GetString());
        Assert.Equal(2, found.GetProperty("signatures").GetInt32());
        var results = found.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["img0.jpg", "img1.jpg"], results.Select(r => r.GetProperty("imageId").GetString()));
        Assert.InRange(results[0].GetProperty("distance").GetDouble(), -1e-4, 1e-4);
        Assert.True(results[1].GetProperty("distance").GetDouble() > 1e-3, "the other image sits as near as the query's own");

        // A serving version the worker cannot open is a 500 naming the reason, not a stack trace.
        await blobs.PutAsync(ModelRegistry.PointerBlob, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(
            new ServingPointer("checkpoint:0123456789abcdef", null, version.Id, DateTimeOffset.UtcNow), JsonSerializerOptions.Web)));
        var broken = await worker.Http.PostAsync("/search", new ByteArrayContent(derivative));
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
        var problem = await broken.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("unknown-model-version", problem.GetProperty("error").GetString());
        Assert.Contains("checkpoint:0123456789abcdef", problem.GetProperty("message").GetString());
        await worker.WaitForOutputAsync(l => l.Contains("Search cannot embed with the serving model version (unknown-model-version)", StringComparison.Ordinal), Deadline);
    }
}
