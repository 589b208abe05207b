namespace Motif.Imaging;

/// <summary>
/// A network that turns preprocessed images into signatures, named by a version string. The version is part of
/// every signature's key: signatures from different models (or input sizes) are never mixed in one graph.
/// </summary>
public interface ISignatureEmbedder
{
    /// <summary>Identifies the model and its input, e.g. "resnet50-imagenet@1.0.4 224px".</summary>
    string ModelVersion { get; }

    /// <summary>Values per image: <see cref="Parts"/> signatures of Dimension / Parts each.</summary>
    int Dimension { get; }

    /// <summary>Signatures per image: its whole, then each of the details the version signs (<see cref="SignatureDetails"/>).
    /// 1 unless the embedder says otherwise.</summary>
    int Parts => 1;

    PreprocessSpec Preprocessing { get; }

    /// <summary>
    /// Whether <see cref="Embed"/> computes on an accelerator (a GPU) rather than on the CPU's cores. On the CPU the
    /// forward pass and decoding share the cores; on an accelerator the calling thread only feeds it, and must not be
    /// crowded out by decoding (see <c>MotifPipelineOptions.DecodeCores</c>). The CPU unless the embedder says otherwise.
    /// </summary>
    bool OnAccelerator => false;

    /// <summary>Embeds <paramref name="count"/> images laid out as <see cref="Preprocessing"/> says into rows of
    /// <see cref="Dimension"/> values, each <see cref="Parts"/> unit signatures.</summary>
    void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures);
}
