using System.Text;
using Motif.Core.Evaluation;
using Motif.Imaging;
using Motif.Pipeline.Annotations;
using Motif.Testing;

namespace Motif.Pipeline.Tests.Training;

/// <summary>
/// A workspace for training: <see cref="Families"/> pairs of 128×128 pictures (<see cref="ImageFixtures.ColourGrid"/>, and a
/// cropped, colour-shifted JPEG copy of it) ingested into a <see cref="PipelineFixture"/>, with a morphograph of one
/// POSITIVE edge per pair split half / quarter / quarter by component. Trivially learnable: partners share their colours.
/// Without a morphograph (<c>withMorphograph: false</c>) it is a collection with no labels and <see cref="Truth"/> is null.
/// </summary>
internal sealed class TrainingFixture : IDisposable
{
    public const int Families = 16;

    private TrainingFixture(PipelineFixture workspace, GroundTruth? truth) => (Workspace, Truth) = (workspace, truth);

    public PipelineFixture Workspace { get; }

    public GroundTruth? Truth { get; }

    public static async Task<TrainingFixture> CreateAsync(bool withEdges = true, bool withMorphograph = true)
    {
        var workspace = new PipelineFixture();
        var csv = new StringBuilder("img1,img2,type\n");
        for (var k = 0; k < Families; k++)
        {
            var original = ImageFixtures.ColourGrid(k);
            Assert.Equal(IngestOutcome.Accepted, await workspace.Ingest.IngestAsync($"f{k:D2}a.png", "s", original));
            Assert.Equal(IngestOutcome.Accepted, await workspace.Ingest.IngestAsync($"f{k:D2}b.jpg", "s", ImageFixtures.Variant(original, 0.9, (1.06, 0.95, 1.0))));
            csv.Append($"f{k:D2}a.png,f{k:D2}b.jpg,{(withEdges ? "POSITIVE" : "SIMILAR")}\n");
        }
        if (!withMorphograph)
        {
            return new TrainingFixture(workspace, null);
        }
        await workspace.Blobs.PutAsync(CollectionBlobs.MorphographEdges, new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())));
        var truth = await GroundTruth.LoadAsync(workspace.Blobs, new BlobAnnotationStore(workspace.Blobs, workspace.Catalog), new SplitRatios(0.5, 0.25, 0.25));
        return new TrainingFixture(workspace, truth!);
    }

    public void Dispose() => Workspace.Dispose();
}

/// <summary>
/// A trainer that learns nothing: its signature is the normalised 32×32 input, its steps return a fixed loss, and its
/// checkpoint is a small file holding a step count. Validation mAP is therefore the same every epoch, which makes
/// early stopping exactly predictable.
/// </summary>
internal sealed class StillTrainer : ISignatureTrainer
{
    public string ModelVersion => "still 32px";

    public PreprocessSpec Preprocessing { get; } = new(32, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (127f, 127f, 127f), (64f, 64f, 64f));

    public int Dimension => Preprocessing.ValuesPerImage;

    public long Steps { get; private set; }

    public List<int> BatchSizes { get; } = [];

    /// <summary>What the run configured, last.</summary>
    public SignatureTrainingSettings? Settings { get; private set; }

    public void Configure(SignatureTrainingSettings settings) => Settings = settings;

    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
    {
        images[..(count * Dimension)].CopyTo(signatures);
        for (var i = 0; i < count; i++)
        {
            var row = signatures.Slice(i * Dimension, Dimension);
            System.Numerics.Tensors.TensorPrimitives.Divide(row, System.Numerics.Tensors.TensorPrimitives.Norm(row), row);
        }
    }

    public float TrainTriplets(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count)
    {
        Steps++;
        BatchSizes.Add(count);
        return 1f;
    }

    public float TrainPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count)
    {
        Steps++;
        BatchSizes.Add(count);
        return 1f;
    }

    public string SaveCheckpoint(string path, string userMetadataJson)
    {
        File.WriteAllText(path, $"{Steps}\n{userMetadataJson}");
        return $"still-{Steps}";
    }

    public void LoadCheckpoint(string path) => Steps = long.Parse(File.ReadLines(path).First(), System.Globalization.CultureInfo.InvariantCulture);
}
