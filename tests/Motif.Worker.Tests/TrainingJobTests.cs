using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Cli.Tests;
using Motif.Core.Evaluation;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Queues;
using Motif.Storage.Tests;
using Motif.Testing;

namespace Motif.Worker.Tests;

/// <summary>
/// The worker image's training mode as the training Container Apps Job runs it (<c>--training-job</c>, one job per
/// execution), against Azurite (the training queue on Queue Storage, the peek-lock contract Service Bus has), starting
/// from a registered version of the engine's tiny ResNet.
/// </summary>
public sealed class TrainingJobTests : IDisposable
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Each_execution_takes_one_job_a_malformed_one_is_dead_lettered_a_good_one_trains_registers_and_completes()
    {
        var azurite = await SharedAzurite.GetAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Motif__Storage"] = "azure",
            ["MotifStorage"] = azurite.ConnectionString,
            ["Motif__Container"] = SharedAzurite.UniqueName("train"),
            ["Motif__CatalogTable"] = SharedAzurite.UniqueName("train"),
            ["Motif__SignatureQueue"] = SharedAzurite.UniqueName("sign"),
            ["Motif__TrainingQueue"] = SharedAzurite.UniqueName("training"),
        };
        await using var services = new ServiceCollection().AddMotifPipeline(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key.Replace("__", ":", StringComparison.Ordinal), s.Value))).Build()).BuildServiceProvider();
        await MotifPipeline.EnsureStorageAsync(services);
        var blobs = services.GetRequiredService<IBlobStore>();
        await CollectionAsync(services);
        var registry = new ModelRegistry(blobs, SignatureModels.VersionOf(SignatureModels.PackagedResNet50));
        var tiny = await RegisterTinyAsync(blobs, registry);
        var queue = services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training);
        await queue.SendAsync(OutgoingMessage.FromText("{\"baseModel\":\"\"}"));
        var options = new TrainingRunOptions
        {
            Epochs = 2, BatchSize = 4, LearningRate = 1e-3, Margin = 0.2, FrozenStages = 0, InputSize = 32, Patience = 10, NegativesPerPair = 2, NearestCandidates = 4,
        };
        await queue.SendAsync(new TrainingJob(tiny.Id, options).ToMessage());

        await using (var first = WorkerProcess.Start(settings, arguments: "--training-job"))
        {
            Assert.True(await first.WaitForExitAsync(Deadline), string.Join('\n', first.Output));
            Assert.True(first.ExitCode == 0, string.Join('\n', first.Output));
        }
        var dead = await queue.PeekDeadLetteredAsync(10);
        Assert.Equal(["malformed-job"], dead.Select(d => d.Reason));

        await using (var second = WorkerProcess.Start(settings, arguments: "--training-job"))
        {
            Assert.True(await second.WaitForExitAsync(Deadline), string.Join('\n', second.Output));
            Assert.True(second.ExitCode == 0, string.Join('\n', second.Output));
            Assert.Contains(second.Output, l => l.Contains("Training job: Completed", StringComparison.Ordinal));
        }
        var versions = await registry.ListAsync();
        Assert.Equal(2, versions.Count);
        var trained = Assert.Single(versions, v => v.Id != tiny.Id);
        // The job named no signing size: the worker fitted the projection at the size it signs at.
        Assert.Equal((tiny.Id, options with { SigningSize = EngineSignatureEmbedder.DefaultInputSize }), (trained.Parent, trained.HyperParameters));
        // The packaged network serves, so a run from another version is refused as stale and stays a candidate.
        Assert.Equal(SignatureModels.VersionOf(SignatureModels.PackagedResNet50), (await registry.ReadPointerAsync()).Pointer.Serving);
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
    }

    /// <summary>Ten families of a colour grid and its copy, named so that the frozen split has training, validation and test components.</summary>
    private static async Task CollectionAsync(ServiceProvider services)
    {
        var ingest = services.GetRequiredService<IngestService>();
        var csv = new StringBuilder("type,img1,img2\n");
        var components = Enumerable.Range(0, 6).Select(i => SplitComponents.ComponentIn(SplitPart.Train, $"t{(char)('a' + i)}"))
            .Concat(Enumerable.Range(0, 2).Select(i => SplitComponents.ComponentIn(SplitPart.Validation, $"v{(char)('a' + i)}")))
            .Concat(Enumerable.Range(0, 2).Select(i => SplitComponents.ComponentIn(SplitPart.Test, $"x{(char)('a' + i)}")));
        foreach (var (component, seed) in components.Select((c, i) => (c, i)))
        {
            var original = ImageFixtures.ColourGrid(seed);
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"{component}-a", "s", original));
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"{component}-b", "s", ImageFixtures.Variant(original, 0.9, (1.06, 0.95, 1.0))));
            csv.Append($"POSITIVE,{component}-a,{component}-b\n");
        }
        await services.GetRequiredService<IBlobStore>().PutAsync(CollectionBlobs.MorphographEdges, new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())));
    }

    /// <summary>The tiny network registered as a version (a hand-made finished run), so that a job can name it as its base.</summary>
    private async Task<ModelVersionRecord> RegisterTinyAsync(IBlobStore blobs, ModelRegistry registry)
    {
        var file = _folder.Combine("tiny.ckpt");
        using (var model = SignatureModel.Create(Tiny))
        {
            model.SaveCheckpoint(file);
        }
        const string folder = "models/training/tiny/";
        await using (var content = File.OpenRead(file))
        {
            await blobs.PutAsync(folder + "epoch-0001.ckpt", content);
        }
        var epochs = new[] { new TrainingEpoch(0, 0, 0, [], 0.5, folder + "epoch-0000.ckpt", "h0"), new TrainingEpoch(1, 1, 4, [0.1f], 0.6, folder + "epoch-0001.ckpt", "h1") };
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "k", "random", "data", TrainingRunOptions.Cpu, epochs, new TrainingTest(1, 0.6, 4, 0.5, 1));
        return await registry.RegisterAsync(new TrainingResult(folder, progress, folder + "epoch-0001.ckpt", false, []));
    }
}
