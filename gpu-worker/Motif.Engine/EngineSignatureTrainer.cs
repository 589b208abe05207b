using System.Text.Json;
using Motif.Imaging;

namespace Motif.Engine;

/// <summary>
/// The engine's <see cref="SignatureModel"/> as the training loop's <see cref="ISignatureTrainer"/> (it does not own
/// the model). Trains in float32, the precision in which a CPU resume is bit-exact.
/// </summary>
public sealed class EngineSignatureTrainer : ISignatureTrainer
{
    private readonly SignatureModel _model;
    private readonly EngineSignatureEmbedder _embedder;
    private readonly string _modelName;

    public EngineSignatureTrainer(SignatureModel model, string modelName, int inputSize = EngineSignatureEmbedder.DefaultInputSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        (_model, _modelName) = (model, modelName);
        _embedder = new EngineSignatureEmbedder(model, modelName, inputSize, Precision.Float32);
    }

    public string ModelVersion => _embedder.ModelVersion;

    public int Dimension => _embedder.Dimension;

    public PreprocessSpec Preprocessing => _embedder.Preprocessing;

    public bool OnAccelerator => _embedder.OnAccelerator;

    private int Size => Preprocessing.InputSize;

    /// <summary>The network's own signatures, never projected: training and the projection's fit work on them, even when
    /// the base version carried a projection (which a retrained network no longer fits).</summary>
    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) => _model.Embed(images, count, Size, Size, signatures);

    /// <summary>The engine's replica recipe (margins, cosine distance, sum reduction, BatchNorm statistics frozen)
    /// with the settings' loss, learning rate, frozen stages and margin, and the network pooling by the settings' GeM
    /// exponent and seeing the settings' detail view from now on.</summary>
    public void Configure(SignatureTrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _model.PoolingPower = settings.PoolingPower;
        _model.DetailView = settings.DetailView;
        _model.ConfigureTraining(TrainingOptions.Default with
        {
            Loss = settings.Loss switch
            {
                SignatureLoss.CompoundHinge => TrainingLoss.CompoundHinge,
                SignatureLoss.Triplet => TrainingLoss.TripletMargin,
                SignatureLoss.Contrastive => TrainingLoss.Contrastive,
                _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Loss, "Unknown loss."),
            },
            LearningRate = settings.LearningRate,
            FrozenStages = settings.FrozenStages,
            Margin = settings.Margin ?? TrainingOptions.Default.Margin,
        });
    }

    public float TrainTriplets(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count) =>
        _model.TrainStep(anchors, positives, negatives, count, Size, Size).Loss;

    public float TrainPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count) =>
        _model.TrainStepPairs(first, second, same, count, Size, Size).Loss;

    public string SaveCheckpoint(string path, string userMetadataJson)
    {
        _model.SaveCheckpoint(path, userMetadataJson);
        using var metadata = JsonDocument.Parse(SignatureModel.ReadCheckpointMetadata(path));
        return metadata.RootElement.GetProperty("content_hash").GetString()!;
    }

    public void LoadCheckpoint(string path) => _model.LoadCheckpoint(path);

    /// <summary>The network's own signatures at another input size, with the current weights (ResNets pool globally).</summary>
    public ISignatureEmbedder AtInputSize(int inputSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 32);
        return inputSize == Size ? this : new Resized(this, inputSize);
    }

    private sealed class Resized(EngineSignatureTrainer trainer, int size) : ISignatureEmbedder
    {
        public string ModelVersion { get; } = EngineSignatureEmbedder.VersionOf(trainer._modelName, size);

        public int Dimension => trainer.Dimension;

        public PreprocessSpec Preprocessing { get; } = trainer._model.Preprocessing(size);

        public bool OnAccelerator => trainer.OnAccelerator;

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) => trainer._model.Embed(images, count, size, size, signatures);
    }
}
