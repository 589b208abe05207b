namespace Motif.Imaging;

/// <summary>The loss a <see cref="ISignatureTrainer"/> minimises.</summary>
public enum SignatureLoss
{
    /// <summary>The EPFL replica's compound hinge on triplets, with the anchor swap and the intra-sample penalty (SEEDS.md).</summary>
    CompoundHinge,

    /// <summary>The plain triplet margin loss on the same triplets.</summary>
    Triplet,

    /// <summary>The contrastive loss on labelled pairs (Painter-by-Numbers' siamese training).</summary>
    Contrastive,
}

/// <summary>What a <see cref="ISignatureTrainer"/> trains and how fast.</summary>
/// <param name="Loss">The loss.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="FrozenStages">0 trains the whole backbone; k ≥ 1 freezes the stem and stages 1 … k−1 (4: only the
/// last stage trains).</param>
/// <param name="Margin">The loss's margin m, or null for the recipe's own (the replica's 0.01 on cosine distances).</param>
/// <param name="PoolingPower">The exponent of the network's global pooling, a generalized mean (GeM): 1 is the mean
/// pooling of the research, 3 the GeM of Radenović, Tolias &amp; Chum (TPAMI 2019). It shapes the signatures the
/// trainer embeds from then on, and the checkpoints it saves carry it.</param>
/// <param name="DetailView">The centre detail the network sees beside the whole input, as a fraction of each side (0:
/// the whole input only): signatures are the normalised sum of the two views' unit signatures. Like the pooling, it
/// shapes what the trainer embeds and trains from then on, and its checkpoints carry it.</param>
public sealed record SignatureTrainingSettings(SignatureLoss Loss, double LearningRate, int FrozenStages, double? Margin = null, double PoolingPower = 1,
    double DetailView = 0);

/// <summary>
/// A signature network that can be fine-tuned: the port the training loop (<c>Motif.Pipeline</c>'s TrainingService)
/// drives, so that the pipeline, which must build without libtorch, never sees the engine. Implemented by the engine
/// (Motif.Engine) and wired by the hosts that train (the CLI, later the worker's TrainingJob).
/// </summary>
/// <remarks>
/// Guarantees the loop relies on: <see cref="ISignatureEmbedder.Embed"/> always uses the current weights (after the
/// last step); a checkpoint holds everything a step depends on (weights, buffers, optimiser state, step count), so
/// that on a CPU, <see cref="LoadCheckpoint"/> followed by the same steps gives bit-identical weights to never having
/// stopped. Inputs are laid out as <see cref="ISignatureEmbedder.Preprocessing"/> says.
/// </remarks>
public interface ISignatureTrainer : ISignatureEmbedder
{
    /// <summary>Sets loss, learning rate and freezing. Call before the first step and before loading a checkpoint
    /// that carries optimiser state.</summary>
    void Configure(SignatureTrainingSettings settings);

    /// <summary>One optimiser step on <paramref name="count"/> triplets (anchor and positive share a pattern, the
    /// negative does not). Returns the loss before the update. Needs a triplet loss configured.</summary>
    float TrainTriplets(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count);

    /// <summary>One optimiser step on <paramref name="count"/> pairs, <paramref name="same"/>[i] saying whether
    /// pair i shares a pattern. Returns the loss before the update. Needs <see cref="SignatureLoss.Contrastive"/>.</summary>
    float TrainPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count);

    /// <summary>Writes the complete training state to the local file <paramref name="path"/>, with
    /// <paramref name="userMetadataJson"/> (a JSON object) stored verbatim inside it. Returns the hash of the weights.</summary>
    string SaveCheckpoint(string path, string userMetadataJson);

    /// <summary>Restores the complete training state from a file written by <see cref="SaveCheckpoint"/>.</summary>
    void LoadCheckpoint(string path);

    /// <summary>
    /// The same network, with its current weights (also after later steps), taking <paramref name="inputSize"/>² inputs:
    /// what the training uses to fit and validate a signature projection at the size the version will sign at, which
    /// need not be the size it trains at (the CPU recipe trains at 160 px, <c>motif run</c> signs at 224). Networks
    /// that pool globally run at any size; the default supports only the trainer's own.
    /// </summary>
    /// <exception cref="NotSupportedException">This trainer cannot embed at that size.</exception>
    ISignatureEmbedder AtInputSize(int inputSize) => inputSize == Preprocessing.InputSize
        ? this
        : throw new NotSupportedException($"This trainer embeds {Preprocessing.InputSize}² inputs only, not {inputSize}².");
}
