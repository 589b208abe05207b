using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Functions.Tests;

/// <summary>
/// A 16×16-thumbnail "model": near-identical pictures get near-identical unit vectors, so the tests can sign images
/// (as the worker would) without a network. Functions never embed; the tests need signatures to have a graph.
/// </summary>
internal sealed class TinyEmbedder : ISignatureEmbedder
{
    public const string Version = "tiny-16 functions test";

    public string ModelVersion => Version;

    public PreprocessSpec Preprocessing { get; } = new(16, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0.5f, 0.5f, 0.5f), (0.25f, 0.25f, 0.25f));

    public int Dimension => Preprocessing.ValuesPerImage;

    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
    {
        images[..(count * Dimension)].CopyTo(signatures);
        for (var i = 0; i < count; i++)
        {
            var row = signatures.Slice(i * Dimension, Dimension);
            System.Numerics.Tensors.TensorPrimitives.Divide(row, System.Numerics.Tensors.TensorPrimitives.Norm(row), row);
        }
    }
}

/// <summary>
/// The Functions app's services exactly as the host builds them (<see cref="MotifFunctions.AddMotifFunctions"/>), on the
/// shared Azurite with a container, table, queue and uploads container of this fixture's own. The tests invoke the
/// function classes directly, as <c>motif dev</c>'s runner does.
/// </summary>
internal sealed class FunctionsFixture : IAsyncDisposable
{
    private FunctionsFixture(ServiceProvider services) => Services = services;

    public ServiceProvider Services { get; }

    public IBlobStore Blobs => Services.GetRequiredService<IBlobStore>();

    public IBlobStore Uploads => Services.GetRequiredKeyedService<IBlobStore>(MotifPipeline.Uploads);

    public IImageCatalog Catalog => Services.GetRequiredService<IImageCatalog>();

    public IWorkQueue Jobs => Services.GetRequiredService<IWorkQueue>();

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public static async Task<FunctionsFixture> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var azurite = await SharedAzurite.GetAsync();
        var name = SharedAzurite.UniqueName("fn");
        var values = new Dictionary<string, string?>
        {
            ["Motif:Storage"] = "azure",
            ["MotifStorage"] = azurite.ConnectionString,
            ["Motif:Container"] = name + "m",
            ["Motif:CatalogTable"] = name + "c",
            ["Motif:SignatureQueue"] = name + "q",
            ["Motif:TrainingQueue"] = name + "t",
            ["Motif:UploadsContainer"] = name + "u",
            ["Motif:ModelVersion"] = TinyEmbedder.Version,
            ["Motif:MaxEps"] = "0.3",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddMotifFunctions(configuration)
            .AddSingleton<ISignatureEmbedder, TinyEmbedder>()   // what the worker adds; only the tests' signing uses it
            .BuildServiceProvider();
        await MotifPipeline.EnsureStorageAsync(services);
        return new FunctionsFixture(services);
    }

    /// <summary>Uploads <paramref name="bytes"/> as <paramref name="name"/> and runs IngestImage on it, as the Event Grid trigger would.</summary>
    /// <summary>A model version registered as a training run leaves it (its weights are opaque bytes: the tests open it
    /// with a stand-in network), trained from the registry's initial version and validated better, so it can be promoted.</summary>
    public async Task<ModelVersionRecord> RegisterVersionAsync()
    {
        var registry = Get<ModelRegistry>();
        var folder = CollectionBlobs.TrainingRun("run-1");
        var epochs = new[]
        {
            new TrainingEpoch(0, 0, 0, [], 0.40, $"{folder}epoch-0000.ckpt", "h0"),
            new TrainingEpoch(1, 3, 3, [0.5f], 0.50, $"{folder}epoch-0001.ckpt", "h1"),
        };
        foreach (var epoch in epochs)
        {
            await Blobs.PutAsync(epoch.Checkpoint, new MemoryStream(RandomNumberGenerator.GetBytes(256)));
        }
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "key", registry.InitialVersion, "data-v1", TrainingRunOptions.Cpu, epochs,
            new TrainingTest(1, 0.6, 10, 0.5, 0.9));
        return await registry.RegisterAsync(new TrainingResult(folder, progress, epochs[1].Checkpoint, StoppedEarly: false, []));
    }

    public async Task<IngestOutcome> UploadAndIngestAsync(string name, byte[] bytes)
    {
        await Uploads.PutAsync(name, new MemoryStream(bytes));
        return await IngestAsync(name);
    }

    public async Task<IngestOutcome> IngestAsync(string name)
    {
        return await Get<IngestImage>().RunAsync(IngestImage.TriggerHandle(Services, name), name, CancellationToken.None);
    }

    /// <summary>What the worker does after intake: sign the queued images and update the stored graph.</summary>
    public async Task SignAndUpdateGraphAsync()
    {
        await Get<SignatureService>().ProcessAllAsync();
        var options = Get<MotifPipelineOptions>();
        var set = await SignatureSet.LoadAsync(Blobs, Catalog, options.ModelVersion);
        await Get<NeighbourGraphStore>().UpdateAsync(set, NeighbourGraphStore.RadiusOf(options.Clustering));
    }

    public static HttpRequest Request(string method = "GET", string? query = null, byte[]? body = null, string? contentType = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }
        if (body is not null)
        {
            context.Request.Body = new MemoryStream(body);
            context.Request.ContentLength = body.Length;
        }
        context.Request.ContentType = contentType;
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    public async ValueTask DisposeAsync() => await Services.DisposeAsync();
}
