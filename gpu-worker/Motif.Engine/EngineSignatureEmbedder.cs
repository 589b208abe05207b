using Motif.Imaging;

namespace Motif.Engine;

/// <summary>
/// The engine's <see cref="SignatureModel"/> as an <see cref="ISignatureEmbedder"/> (it does not own the model). It
/// sets the model's precision itself, so the version always says how the signatures were computed: bf16 signatures
/// are within cosine 0.99 of fp32 ones but not equal, and must not share a graph with them. The signatures are the
/// network's, projected by the learned projection its checkpoint carried (<see cref="SignatureModel.Projection"/>),
/// so every host that signs with a version (the CLI, the worker, search, the bench) signs the same way; the version
/// string, a hash of the checkpoint file, covers the projection and the details it signs.
/// </summary>
public sealed class EngineSignatureEmbedder : ISignatureEmbedder
{
    private readonly SignatureModel _model;

    /// <summary>The input side every host signs at unless told otherwise (<c>motif run</c>, the worker, search): torchvision's
    /// evaluation crop. A training run fits its signature projection at this size (TrainingRunOptions.SigningSize).</summary>
    public const int DefaultInputSize = 224;

    public EngineSignatureEmbedder(SignatureModel model, string modelName, int inputSize = DefaultInputSize, Precision precision = Precision.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        // bf16 runs with channels-last, the layout oneDNN (CPU) and cuDNN (GPU) want for it.
        model.SetPrecision(precision, channelsLast: precision == Precision.BFloat16);
        ModelVersion = VersionOf(modelName, inputSize, precision);
        Preprocessing = model.Preprocessing(inputSize);
        OnAccelerator = model.Device != "cpu";
    }

    public string ModelVersion { get; }

    /// <summary>The version string of <paramref name="modelName"/>'s signatures at <paramref name="inputSize"/>² input and <paramref name="precision"/>.</summary>
    public static string VersionOf(string modelName, int inputSize = DefaultInputSize, Precision precision = Precision.Float32) =>
        precision == Precision.Float32 ? $"{modelName} {inputSize}px" : $"{modelName} {inputSize}px {PrecisionName(precision)}";

    /// <summary>"fp32" or "bf16", as the command line spells them.</summary>
    public static string PrecisionName(Precision precision) => precision switch
    {
        Precision.Float32 => "fp32",
        Precision.BFloat16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision."),
    };

    /// <summary>Values per image: each of its <see cref="Parts"/> signatures.</summary>
    public int Dimension => _model.EmbeddingDimension * Parts;

    /// <summary>The whole, and each detail the checkpoint signs (<see cref="SignatureModel.Details"/>).</summary>
    public int Parts => _model.SignatureParts;

    public PreprocessSpec Preprocessing { get; }

    /// <summary>True for a model on a CUDA device.</summary>
    public bool OnAccelerator { get; }

    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) =>
        _model.Sign(images, count, Preprocessing.InputSize, Preprocessing.InputSize, signatures);
}
