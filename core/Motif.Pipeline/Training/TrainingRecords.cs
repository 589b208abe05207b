using System.Text.Json.Serialization;
using Motif.Core.Training;

namespace Motif.Pipeline.Training;

/// <summary>One finished epoch as the progress record stores it. Epoch 0 is the base model before any step.</summary>
/// <param name="Epoch">0 for the base model, then 1, 2, …</param>
/// <param name="Steps">Optimiser steps taken by the end of this epoch, all epochs together.</param>
/// <param name="Triplets">Triplets mined for this epoch.</param>
/// <param name="StepLosses">The loss of each step of this epoch, in order.</param>
/// <param name="ValidationMap">Validation mAP with the weights at the end of the epoch.</param>
/// <param name="Checkpoint">The checkpoint blob of the weights at the end of the epoch.</param>
/// <param name="WeightsHash">The engine's hash of those weights.</param>
public sealed record TrainingEpoch(int Epoch, long Steps, int Triplets, IReadOnlyList<float> StepLosses, double ValidationMap, string Checkpoint, string WeightsHash)
{
    /// <summary>Mean step loss of the epoch; NaN for epoch 0.</summary>
    public double MeanLoss => StepLosses.Count == 0 ? double.NaN : StepLosses.Average(l => (double)l);

    /// <summary>Without labels, the validation copies' mean margin (<see cref="Motif.Core.Evaluation.CopyRetrievalReport.MeanMargin"/>):
    /// how clearly the originals win, which orders epochs of equal mAP. NaN with a ground truth (and in records written
    /// before it existed).</summary>
    public double ValidationMargin { get; init; } = double.NaN;
}

/// <summary>The final evaluation of the best epoch's weights on the test part.</summary>
public sealed record TrainingTest(int Epoch, double MeanAveragePrecision, int Queries, double RecallAt1, double RecallAt10);

/// <summary>
/// The stored progress of a training run (<c>progress.json</c> in its folder): what the run was given and every epoch
/// that is complete, i.e. whose checkpoint is stored. A resumed run reads it to know where to continue.
/// </summary>
public sealed record TrainingProgress(int Schema, string RunKey, string BaseModel, string DataVersion, TrainingRunOptions Options,
    IReadOnlyList<TrainingEpoch> Epochs, TrainingTest? Test)
{
    public const int CurrentSchema = 1;

    /// <summary>The best epoch by <see cref="BestOf"/> (epoch 0, the base model, included).</summary>
    public TrainingEpoch Best => BestOf(Epochs);

    /// <summary>The signature projection fitted on the best epoch's network, when the run fitted one and it validated
    /// better than the network alone (<see cref="TrainingRunOptions.Whiten"/>); null otherwise and in records written
    /// before it existed (left out of the JSON while null, so those records read and write the same).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TrainingProjection? Projection { get; init; }

    /// <summary>The checkpoint the run's result is: the projected one when there is a projection, else the best epoch's.</summary>
    public string ResultCheckpoint => Projection?.Checkpoint ?? Best.Checkpoint;

    /// <summary>
    /// Of <paramref name="epochs"/> (at least one), the one with the best validation mAP; on equal mAP the one with the
    /// larger validation margin; on equal margins (or none: with a ground truth) the earliest.
    /// </summary>
    /// <remarks>An mAP is a mean of reciprocal ranks over a few dozen queries, so equal values are common (1.000 when
    /// every original ranks first), and "earliest on ties" alone then keeps epoch 0, the base model, whatever training
    /// did. The margin is continuous and measures what the loss optimises (the original nearer than the nearest wrong
    /// answer), so it prefers the epoch that separates the same rankings more clearly — the base model when training
    /// blurred them. Earliest on a full tie keeps the simpler model.</remarks>
    public static TrainingEpoch BestOf(IEnumerable<TrainingEpoch> epochs) => epochs.Aggregate((best, e) => Better(e, best) ? e : best);

    private static bool Better(TrainingEpoch candidate, TrainingEpoch best) =>
        candidate.ValidationMap > best.ValidationMap ||
        (candidate.ValidationMap == best.ValidationMap && MarginOf(candidate) > MarginOf(best));

    private static double MarginOf(TrainingEpoch epoch) => double.IsNaN(epoch.ValidationMargin) ? double.NegativeInfinity : epoch.ValidationMargin;
}

/// <summary>A learned projection (<see cref="Motif.Core.Signatures.SignatureProjection"/>) a run kept.</summary>
/// <param name="Epoch">The epoch whose network it was fitted on (the best).</param>
/// <param name="Power">α.</param>
/// <param name="Dimension">Signature length out.</param>
/// <param name="Pairs">The matching pairs it was fitted from.</param>
/// <param name="ValidationMap">Validation mAP of the epoch's signatures projected (the network alone: the epoch's).</param>
/// <param name="Checkpoint">The checkpoint blob of the epoch's weights with the projection in its metadata.</param>
/// <param name="FitSeconds">Wall seconds of the fits (all powers and ridges tried), without embedding or validating.</param>
public sealed record TrainingProjection(int Epoch, double Power, int Dimension, int Pairs, double ValidationMap, string Checkpoint, double FitSeconds)
{
    /// <summary>The input side it was fitted and validated at (TrainingRunOptions.SigningSize); null in records from before it was recorded.</summary>
    public int? InputSize { get; init; }

    /// <summary>How many of <see cref="Pairs"/> were a curator's POSITIVE pairs of the training part (the rest synthetic
    /// copies); null in older records (none).</summary>
    public int? CuratedPairs { get; init; }

    /// <summary>The ridge chosen on validation (× C_S's mean eigenvalue, SignatureProjectionOptions.Ridge); null in older records (0.1).</summary>
    public double? Ridge { get; init; }

    /// <summary>Validation mAP of the network alone at <see cref="InputSize"/>, which the projection had to beat; null in older records.</summary>
    public double? NetworkValidationMap { get; init; }

    /// <summary>Wall seconds of embedding for the fit: the pairs' copies, and, at a signing size other than the training
    /// size, the collection and its validation copies again; null in older records.</summary>
    public double? EmbedSeconds { get; init; }
}

/// <summary>What one epoch did, as it happens (not stored): the epoch and the triplets it was trained on.</summary>
public sealed record TrainingEpochReport(TrainingEpoch Epoch, IReadOnlyList<MinedTriplet> MinedTriplets, bool Resumed);

/// <summary>The outcome of <see cref="TrainingService.RunAsync"/>.</summary>
/// <param name="Folder">The run's blob folder (checkpoints, progress, curves).</param>
/// <param name="Progress">Every epoch and the test result.</param>
/// <param name="BestCheckpoint">The blob of the run's result: the best epoch's checkpoint, with the projection when the run kept one (<see cref="TrainingProgress.ResultCheckpoint"/>).</param>
/// <param name="StoppedEarly">Whether training stopped before the epoch budget for lack of improvement.</param>
/// <param name="Curves">The curve blobs written next to the checkpoints.</param>
public sealed record TrainingResult(string Folder, TrainingProgress Progress, string BestCheckpoint, bool StoppedEarly, IReadOnlyList<string> Curves);

/// <summary>The run cannot start from what it was given (too little ground truth, no inputs…); the message says why
/// in one line a person can act on.</summary>
public sealed class TrainingRefusedException(string message) : Exception(message);
