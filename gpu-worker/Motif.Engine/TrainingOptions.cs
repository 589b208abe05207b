using Motif.Engine.Interop;

namespace Motif.Engine;

/// <summary>Loss on triplets (A, B a confirmed pair, C a negative) or on labelled pairs.</summary>
public enum TrainingLoss
{
    /// <summary>The EPFL replica "compound hinge" (SEEDS.md): max(0, m + d(A,B) − d⁻ + max(0, d(A,B) − m2)),
    /// d⁻ = min(d(A,C), d(B,C)) with the anchor swap (Balntas et al. 2016), d(A,C) without.</summary>
    CompoundHinge = 0,

    /// <summary>Plain triplet margin loss max(0, m + d(A,B) − d⁻) (torch.nn.TripletMarginLoss).</summary>
    TripletMargin = 1,

    /// <summary>Contrastive loss on pairs (Hadsell et al. 2006), as in the Painter-by-Numbers siamese work.</summary>
    Contrastive = 2,
}

public enum SignatureDistance { Cosine = 0, Euclidean = 1 }

public enum LossReduction { Sum = 0, Mean = 1 }

/// <summary>What BatchNorm does while fine-tuning (the replica's own attempt to freeze it silently failed).</summary>
public enum BatchNormMode
{
    /// <summary>Batch statistics, running statistics updated (plain training mode).</summary>
    Train = 0,

    /// <summary>Running statistics used and never updated; scale and shift still trained.</summary>
    FrozenStatistics = 1,

    /// <summary>Running statistics and scale/shift all frozen.</summary>
    Frozen = 2,
}

/// <summary>Loss, optimiser (Adam) and freezing for <see cref="SignatureModel.ConfigureTraining"/>.
/// <see cref="Default"/> is the replica recipe of SEEDS.md, as the engine defines it.</summary>
public sealed record TrainingOptions
{
    public static TrainingOptions Default { get; } = FromNative();

    public double Margin { get; init; }

    /// <summary>m2, the intra-sample penalty's threshold.</summary>
    public double Margin2 { get; init; }

    public double LearningRate { get; init; }

    public double WeightDecay { get; init; }

    public TrainingLoss Loss { get; init; }

    public SignatureDistance Distance { get; init; }

    public LossReduction Reduction { get; init; }

    public bool AnchorSwap { get; init; }

    public bool IntraSamplePenalty { get; init; }

    public BatchNormMode BatchNorm { get; init; }

    /// <summary>0 trains everything; k ≥ 1 freezes the stem and layer1 … layer(k−1).</summary>
    public int FrozenStages { get; init; }

    internal NativeEngine.TrainOptions ToNative() => new()
    {
        Margin = Margin,
        Margin2 = Margin2,
        LearningRate = LearningRate,
        WeightDecay = WeightDecay,
        Loss = (int)Loss,
        Distance = (int)Distance,
        Reduction = (int)Reduction,
        AnchorSwap = AnchorSwap ? 1 : 0,
        IntraPenalty = IntraSamplePenalty ? 1 : 0,
        BatchNormMode = (int)BatchNorm,
        FreezeStages = FrozenStages,
    };

    private static TrainingOptions FromNative()
    {
        NativeEngine.Check(NativeEngine.motif_train_options_default(out var o));
        return new TrainingOptions
        {
            Margin = o.Margin,
            Margin2 = o.Margin2,
            LearningRate = o.LearningRate,
            WeightDecay = o.WeightDecay,
            Loss = (TrainingLoss)o.Loss,
            Distance = (SignatureDistance)o.Distance,
            Reduction = (LossReduction)o.Reduction,
            AnchorSwap = o.AnchorSwap != 0,
            IntraSamplePenalty = o.IntraPenalty != 0,
            BatchNorm = (BatchNormMode)o.BatchNormMode,
            FrozenStages = o.FreezeStages,
        };
    }
}
