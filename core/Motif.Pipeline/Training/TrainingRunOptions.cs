using System.Text.Json.Serialization;
using Motif.Imaging;
using Motif.Imaging.Derivations;

namespace Motif.Pipeline.Training;

/// <summary>
/// The hyper-parameters of one training run (<see cref="TrainingService"/>). They are part of the run's identity:
/// a rerun with the same options, base model and data version resumes; any change starts a new run.
/// </summary>
public sealed record TrainingRunOptions
{
    /// <summary>
    /// The recipe for a CPU (the default): stem and stages 1–3 frozen (<see cref="FrozenStages"/> 4), so only the last
    /// stage trains, with BatchNorm's statistics frozen and its scale and shift trained as the engine's recipe does;
    /// 160² inputs instead of 224² (ResNets pool globally, so any size runs; half the pixels is about half the time, and
    /// a network fine-tuned at a lower resolution than it is tested at loses little, Touvron et al. 2019, "Fixing the
    /// train-test resolution discrepancy"); a learning rate ten times the replica's, because a tenth of the parameters
    /// train for a few epochs. Untuned: the benchmark of issue 11 is what should set it.
    /// </summary>
    public static TrainingRunOptions Cpu { get; } = new();

    /// <summary>The full recipe (a GPU's): the whole backbone trains, at 224², with the replica's learning rate 1e-6
    /// (SEEDS.md), for longer.</summary>
    public static TrainingRunOptions Full { get; } = new() { FrozenStages = 0, InputSize = 224, LearningRate = 1e-6, Epochs = 30, Patience = 5, BatchSize = 16 };

    /// <summary>Epochs at most (early stopping may end sooner).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Triplets per optimiser step (pairs per step are twice as many under the contrastive loss).</summary>
    public int BatchSize { get; init; } = 8;

    public SignatureLoss Loss { get; init; } = SignatureLoss.CompoundHinge;

    public double LearningRate { get; init; } = 1e-5;

    /// <summary>The loss's margin, or null for the engine's recipe (the replica's 0.01 on cosine distances).</summary>
    public double? Margin { get; init; }

    /// <summary>0 trains everything; k ≥ 1 freezes the stem and stages 1 … k−1.</summary>
    public int FrozenStages { get; init; } = 4;

    /// <summary>Side of the square model input. The host builds the trainer at this size; the service checks it.</summary>
    public int InputSize { get; init; } = 160;

    /// <summary>
    /// The exponent of the trained network's global pooling, a generalized mean (GeM) of the last block's features:
    /// 3, the value Radenović, Tolias &amp; Chum fine-tune retrieval networks with (<i>Fine-tuning CNN Image Retrieval
    /// with No Human Annotation</i>, TPAMI 2019, §3.1, where it beats mean and max pooling); 1 keeps the research's mean
    /// pooling of the base model. The whole run pools this way, from its epoch 0 on, and the version it produces signs
    /// so (its checkpoints carry the exponent). Part of the run's identity, always: a run stored before it existed
    /// pooled by the mean, and a rerun now is another run (retrained, never resumed from the old one's checkpoints,
    /// which would mix the two poolings).
    /// </summary>
    /// <remarks>Measured on issue 11's benchmark (<c>make bench BENCH=training</c>, tiles, no labels, 4 epochs,
    /// --negatives 3; anchor mAP 0.198 in each run), 2026-11-30: with the projection, the mean 0.242 (+0.044), GeM 3
    /// 0.289 (+0.091), R@1 0.134 → 0.183; without it, GeM 3 alone 0.247 (+0.049) where the mean's epochs had lost 0.016.
    /// The projection fitted on GeM signatures also transfers better. Training CPU 283 s and 258 s.</remarks>
    public double PoolingPower { get; init; } = 3;

    /// <summary>
    /// The centre detail the trained network sees beside its whole input, as a fraction of each side of the model
    /// input (0: the whole input only, as the base model): every signature of the run and of the version it produces is
    /// the normalised sum of the whole input's unit signature and that of its centred window of this fraction, resized
    /// back to the input's size. A reproduction of a detail shows its part of the source at the scale of a whole image;
    /// the detail view lets the source be seen at that scale too, while the whole view keeps the composition. 0.75 of
    /// the 224 input is about two thirds of an image's shorter side. Part of the run's identity, like the pooling.
    /// </summary>
    /// <remarks>Offline on issue 11's tiles (pretrained ResNet-50, mean pooling, half B; crops cut by libvips and
    /// signed by <c>motif embed</c>, 2026-11-30): the sum of the whole image's and its centre two thirds' unit
    /// signatures raised B's mAP from 0.197 to 0.278, and with power 0.5 and a whitening fitted on half A from 0.282
    /// to 0.388; the centre alone scored 0.125. Matching each image against several regions of every other (max over
    /// regions, several vectors per image) scored 0.437 and 0.521, but needs an index of several signatures per image.
    /// On the benchmark (<c>make bench BENCH=training</c>, tiles, no labels, 4 epochs, --negatives 3; anchor 0.198 in the
    /// same run), 2026-11-30: the defaults with it 0.324 (+0.126, R@1 0.233, clusters P 0.181 / R 0.450), without it
    /// 0.289 (+0.091); A's validation agrees (0.644 → 0.670 at epoch 0). It doubles the forward passes: training CPU 258 →
    /// 465 s, and a version with it signs at half the speed.</remarks>
    public double DetailView { get; init; } = 0.75;

    /// <summary>
    /// Windows per side of the details the trained version signs beside each image's whole (<see cref="SignatureDetails"/>,
    /// each two thirds of the input's side, less a little): 2, the default, signs the four corners, 3 nine windows, 1 the
    /// centre, 0 the whole only. Images are then compared by their nearest whole ↔ whole, whole ↔ detail or
    /// detail ↔ whole pair. Training does not see them: they are how the version signs, stored in its checkpoints.
    /// </summary>
    /// <remarks>Offline on issue 11's tiles (numpy on <c>motif embed</c> rows of the defaults' version trained on A, B's
    /// crops cut by libvips, 2026-11-30/12-01): B's mAP 0.322 with the whole only, 0.478 with the four corners, 0.498 with
    /// the corners and the centre, 0.513 with nine. On the benchmark (<c>make bench BENCH=training</c>, tiles, no labels,
    /// 4 epochs, --negatives 3; anchor 0.198 in the same run), 2026-12-01: the defaults 0.498 (+0.300, R@1 0.416, clusters
    /// P 0.412 / R 0.500), 9 windows 0.517, none 0.324 (the earlier defaults, to the digit). Each detail costs a forward
    /// pass (two with the detail view) and a signature's storage; the neighbour graph is built over every signature.</remarks>
    public int DetailGrid { get; init; } = 2;

    /// <summary>The details a version trained with these options signs (<see cref="DetailGrid"/>), or null for none.</summary>
    [JsonIgnore]
    public SignatureDetails? SignedDetails => DetailGrid == 0 ? null : new SignatureDetails(DetailGrid);

    /// <summary>Epochs without a better validation mAP after which training stops.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Seed of the mining and of the order of triplets.</summary>
    public int Seed { get; init; }

    /// <summary>Negatives per positive pair (the research's 10).</summary>
    public int NegativesPerPair { get; init; } = 10;

    /// <summary>Hard negatives come from this many nearest eligible artworks (the research's 10).</summary>
    public int NearestCandidates { get; init; } = 10;

    /// <summary>
    /// Whether synthetic copies are also drawn as reproductions of a detail (a detail, then a photograph's colours, a
    /// print tone, an engraving or a tilt: <see cref="DerivationSampler.AllKinds"/>) rather than only as single steps
    /// (<see cref="DerivationSampler.Kinds"/>). Left out of the run's identity while false, so runs stored before it
    /// existed still resume.
    /// </summary>
    /// <remarks>
    /// A recipe option, not the default: drawn among the defaults (a copy in eleven) it did not raise issue 11's tiles
    /// benchmark, and it turned the training tests' loss curve upwards. Measured on 2026-11-30 (<c>make bench
    /// BENCH=training</c>, 4 epochs, --negatives 3, anchor mAP 0.198 in each run): the CPU recipe 0.185 (−0.013; single
    /// steps only had given 0.182), validation 0.640 → 0.647; with --freeze-stages 3, 0.201 (+0.003), R@1 0.089 → 0.109,
    /// validation 0.640 → 0.678 (single steps with --freeze-stages 3: 0.183); that and --margin 0.05, 0.198 (0.000). Far from the goal of +0.15: what transfers is
    /// still open.
    /// </remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ReproducedDetails { get; init; }

    /// <summary>
    /// Whether the run also fits a learned projection of the signatures (<see cref="Motif.Core.Signatures.SignatureProjection"/>:
    /// power normalisation and learned whitening) on its best network, from matching pairs of training images and their
    /// synthetic copies (<see cref="ProjectionCopiesPerImage"/> each, seeded) and the collection's signatures; it keeps
    /// the projection, with α ∈ {1, 0.5} chosen on validation, only if it validates better than the network alone. On
    /// by default (<c>motif train --no-whiten</c> turns it off).
    /// </summary>
    /// <remarks>
    /// <para>Measured on issue 11's benchmark (<c>make bench BENCH=training</c>, tiles, no labels, --negatives 3; anchor
    /// mAP 0.198, R@1 0.089, cluster P 0.041 / R 0.401 in each run), 2026-11-30: 4 epochs with the projection (kept: α 0.5,
    /// fitted on epoch 2 from 474 pairs in 7.8 s; A's validation 0.657 → 0.727) scores 0.263 (+0.065), R@1 0.158, R@10
    /// 0.505, clusters P 0.098 / R 0.381 at the calibrated radius 0.680; 465 s of training CPU. The projection alone on the
    /// pretrained network (<c>--epochs 0</c>, A's validation 0.640 → 0.718, α 0.5) scores 0.270 (+0.072), R@1 0.163, R@10
    /// 0.530, clusters P 0.143 / R 0.342 at 0.677; 93 s of training CPU. The 4 epochs without it scored 0.182 (−0.016)
    /// in the previous session's runs: the projection, not the epochs, carries the gain.</para>
    /// <para>Fitted, chosen and tested at <see cref="SigningSize"/> (224, what <c>motif train</c> sets), with the ridge
    /// chosen among 0.01, 0.1 and 1 together with α on A's validation (the same benchmark, <c>--epochs 0</c>, its own run,
    /// anchor 0.198): A's validation 0.652 at 224 px → 0.740 projected, choosing α 1, λ 0.01; on B 0.234 (+0.036), R@1
    /// 0.124, R@10 0.505, clusters P 0.056 / R 0.441 at 0.756; 227 s of training CPU (fit 9.0 s for six candidates,
    /// embedding at 224 px 60.6 s). Worse on B than the fixed λ 0.1, α 0.5 at 160 px (+0.072): the held-out synthetic
    /// copies prefer a weak ridge that does not transfer. Not the 224 px fit: a trial build with α 0.5 and λ 0.1 fixed,
    /// fitted at 224 px, scored 0.273 (+0.075) in its own run (A's validation 0.652 → 0.725). Those fixed values were
    /// picked by B's scores, so a validation that model selection can trust is what is missing.</para>
    /// <para>Stored inverted (<c>noWhitening</c>), and only when true: the default is left out of the run's key, so runs
    /// stored before the projection existed still resume (a finished one returns its record, without a projection; an
    /// unfinished one continues its epochs and fits the projection at the end).</para>
    /// </remarks>
    [JsonIgnore]
    public bool Whiten
    {
        get => !NoWhitening;
        init => NoWhitening = !value;
    }

    [JsonInclude]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    private bool NoWhitening { get; init; }

    /// <summary>
    /// The input side the trained version will sign at (<c>motif run</c> and the worker: 224), at which the projection is
    /// fitted, chosen, kept or not, and the run tested; null for <see cref="InputSize"/>. Whitening is estimated from
    /// the statistics of the signatures it is applied to: a ResNet's signatures at 160 px and at 224 px differ (the
    /// receptive fields cover other fractions of the image), so a projection fitted at the training size is applied to
    /// signatures it was not fitted on. Left out of the run's identity while null, so stored runs still resume.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SigningSize { get; init; }

    /// <summary>Synthetic copies of each training image the projection is fitted from (many more pairs than an epoch
    /// trains on: the fit is closed-form, and C_S needs pairs to be estimated).</summary>
    public const int ProjectionCopiesPerImage = 6;

    /// <summary>Throws with a message naming the option when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value out of range.</exception>
    public void Validate()
    {
        // 0 epochs: fit the projection on the base network alone.
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, Whiten ? 0 : 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Patience, 1, nameof(Patience));
        ArgumentOutOfRangeException.ThrowIfLessThan(InputSize, 32, nameof(InputSize));
        if (SigningSize is { } signing)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(signing, 32, nameof(SigningSize));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(FrozenStages, 0, nameof(FrozenStages));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(FrozenStages, 5, nameof(FrozenStages));
        ArgumentOutOfRangeException.ThrowIfLessThan(NegativesPerPair, 1, nameof(NegativesPerPair));
        ArgumentOutOfRangeException.ThrowIfLessThan(NearestCandidates, 1, nameof(NearestCandidates));
        if (!double.IsFinite(LearningRate) || LearningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be a positive number.");
        }
        if (Margin is { } margin && (!double.IsFinite(margin) || margin < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Margin), margin, "The margin must be a non-negative number.");
        }
        if (!double.IsFinite(PoolingPower) || PoolingPower < 1 || PoolingPower > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(PoolingPower), PoolingPower, "The pooling power must be between 1 (mean pooling) and 16.");
        }
        if (!double.IsFinite(DetailView) || !(DetailView == 0 || DetailView is >= 0.1 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(DetailView), DetailView, "The detail view must be 0 (the whole input only) or a fraction of each side from 0.1 to below 1.");
        }
        if (DetailGrid is < 0 or > SignatureDetails.MaximumGrid)
        {
            throw new ArgumentOutOfRangeException(nameof(DetailGrid), DetailGrid, $"The grid of details must be 0 (the whole only) to {SignatureDetails.MaximumGrid} windows per side.");
        }
        if (!Enum.IsDefined(Loss))
        {
            throw new ArgumentOutOfRangeException(nameof(Loss), Loss, "Unknown loss.");
        }
    }
}
