using Motif.Imaging;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Tests;

/// <summary>
/// A small, fast, deterministic <see cref="ISignatureEmbedder"/>: the preprocessed 16×16 RGB thumbnail itself,
/// L2-normalised. Near-identical pictures get near-identical vectors, so the services' bookkeeping can be tested
/// without loading a 100 MB network; the real network runs in the CLI's end-to-end tests.
/// </summary>
internal sealed class ThumbnailEmbedder : ISignatureEmbedder
{
    public string ModelVersion { get; init; } = "thumbnail-16 test";

    public PreprocessSpec Preprocessing { get; } = new(16, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0.5f, 0.5f, 0.5f), (0.25f, 0.25f, 0.25f));

    /// <summary>Details signed beside the whole, as the engine signs them (<see cref="SignatureDetails.Cut"/>), or null.</summary>
    public SignatureDetails? Details { get; init; }

    public int Parts => 1 + (Details?.Count ?? 0);

    public int Dimension => Preprocessing.ValuesPerImage * Parts;

    public int Calls { get; private set; }

    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
    {
        Calls++;
        var values = Preprocessing.ValuesPerImage;
        var windows = new float[count * (Parts - 1) * values];
        Details?.Cut(images, count, 3, Preprocessing.InputSize, windows);
        for (var i = 0; i < count; i++)
        {
            images.Slice(i * values, values).CopyTo(signatures.Slice(i * Dimension, values));
            windows.AsSpan(i * (Parts - 1) * values, (Parts - 1) * values).CopyTo(signatures.Slice(i * Dimension + values, (Parts - 1) * values));
            for (var p = 0; p < Parts; p++)
            {
                var part = signatures.Slice(i * Dimension + p * values, values);
                var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(part));
                System.Numerics.Tensors.TensorPrimitives.Divide(part, norm, part);
            }
        }
    }
}

/// <summary>A workspace of embedded adapters in a temporary folder, with the services wired as <c>motif run</c> wires them.</summary>
internal sealed class PipelineFixture : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("motif-pipeline-");

    public PipelineFixture()
        : this(new ThumbnailEmbedder())
    {
    }

    /// <summary>The workspace, signing with <paramref name="embedder"/>.</summary>
    public PipelineFixture(ThumbnailEmbedder embedder)
    {
        Embedder = embedder;
        Blobs = new LocalFolderBlobStore(Path.Combine(_root.FullName, "blobs"));
        Catalog = new SqliteImageCatalog(Path.Combine(_root.FullName, "motif.db"));
        Jobs = new SqliteWorkQueue(Path.Combine(_root.FullName, "motif.db"), "signatures", new WorkQueueOptions { MaxDeliveryCount = 3 });
        Ingest = new IngestService(Blobs, Catalog, Jobs, new IngestOptions { ModelVersion = Embedder.ModelVersion, DerivativeSide = 256, ThumbnailSide = 64 });
        Signatures = new SignatureService(Blobs, Catalog, Jobs, Embedder, new SignatureServiceOptions { BatchSize = 4, PreprocessThreads = 2 });
        Recluster = new ReclusterService(Blobs, Catalog);
    }

    public ThumbnailEmbedder Embedder { get; }

    public LocalFolderBlobStore Blobs { get; }

    public SqliteImageCatalog Catalog { get; }

    public SqliteWorkQueue Jobs { get; }

    public IngestService Ingest { get; }

    public SignatureService Signatures { get; }

    public ReclusterService Recluster { get; }

    /// <summary>What the worker and the timer do apart, in sequence: the stored graph updated from the signatures, then reclustered.</summary>
    public async Task<ReclusterResult> UpdateGraphAndReclusterAsync(Core.Manifests.ClusteringParameters parameters)
    {
        var set = await SignatureSet.LoadAsync(Blobs, Catalog, Embedder.ModelVersion);
        await new NeighbourGraphStore(Blobs).UpdateAsync(set, NeighbourGraphStore.RadiusOf(parameters));
        return await Recluster.RunAsync(Embedder.ModelVersion, parameters);
    }

    /// <summary>Another queue in the workspace's database, e.g. with a short lock; the caller disposes it.</summary>
    public SqliteWorkQueue OpenQueue(string name, WorkQueueOptions options) => new(Path.Combine(_root.FullName, "motif.db"), name, options);

    public async Task<string> ReadTextAsync(string name)
    {
        await using var download = await Blobs.GetAsync(name);
        return await new StreamReader(download.Content).ReadToEndAsync();
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix) => [.. (await Blobs.ListAsync(prefix)).Items.Select(b => b.Name)];

    public void Dispose()
    {
        Jobs.Dispose();
        Catalog.Dispose();
        Blobs.Dispose();
        _root.Delete(recursive: true);
    }
}
