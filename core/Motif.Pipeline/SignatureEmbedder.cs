using Motif.Engine;
using Motif.Imaging;

namespace Motif.Pipeline;

/// <summary>
/// A network that turns preprocessed images into signatures, named by a version string. The version is part of
/// every signature's key: signatures from different models (or input sizes) are never mixed in one graph.
/// </summary>
public interface ISignatureEmbedder
{
    /// <summary>Identifies the model and its input, e.g. "resnet50-imagenet@1.0.4 224px".</summary>
    string ModelVersion { get; }

    int Dimension { get; }

    PreprocessSpec Preprocessing { get; }

    /// <summary>Embeds <paramref name="count"/> images laid out as <see cref="Preprocessing"/> says into unit rows.</summary>
    void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures);
}

/// <summary>The engine's <see cref="SignatureModel"/> as an <see cref="ISignatureEmbedder"/> (it does not own the model).</summary>
public sealed class EngineSignatureEmbedder(SignatureModel model, string modelName, int inputSize = 224) : ISignatureEmbedder
{
    public string ModelVersion { get; } = VersionOf(modelName, inputSize);

    /// <summary>The version string of <paramref name="modelName"/>'s signatures at <paramref name="inputSize"/>² input.</summary>
    public static string VersionOf(string modelName, int inputSize = 224) => $"{modelName} {inputSize}px";

    public int Dimension => model.EmbeddingDimension;

    public PreprocessSpec Preprocessing { get; } = model.Preprocessing(inputSize);

    public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) =>
        model.Embed(images, count, Preprocessing.InputSize, Preprocessing.InputSize, signatures);
}
