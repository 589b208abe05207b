using System.Text.Json.Serialization;
using Motif.Pipeline.Training;

namespace Motif.Pipeline.Models;

/// <summary>
/// One fine-tuned model version as <see cref="ModelRegistry"/> keeps it (<c>record.json</c> beside its weights). Immutable
/// once written: everything here was decided by the training run that produced it.
/// </summary>
/// <param name="Schema"><see cref="CurrentSchema"/>.</param>
/// <param name="Id">The version id: <c>checkpoint:</c> and the first 16 hex digits of the SHA-256 of the weights blob, the
/// id every host computes for the same file (<c>SignatureModels.VersionOf</c>), so signatures keyed by it agree.</param>
/// <param name="Parent">The version the run started from (its epoch 0).</param>
/// <param name="DataVersion">The morphograph hash and split the run trained on (<see cref="TrainingProgress.DataVersion"/>).</param>
/// <param name="HyperParameters">The run's options.</param>
/// <param name="Metrics">What the run measured.</param>
/// <param name="Weights">The weights blob (the trainer's checkpoint of the chosen epoch).</param>
/// <param name="WeightsHash">The engine's hash of the weights (as the progress record gives it).</param>
/// <param name="TrainingRun">The run's folder (progress, curves, checkpoints).</param>
/// <param name="CreatedAt">When it was registered.</param>
public sealed record ModelVersionRecord(int Schema, string Id, string Parent, string DataVersion, TrainingRunOptions HyperParameters,
    ModelVersionMetrics Metrics, string Weights, string WeightsHash, string TrainingRun, DateTimeOffset CreatedAt)
{
    public const int CurrentSchema = 1;

    /// <summary>The learned signature projection the version's weights blob carries (α, dimensions, what it validated),
    /// or null; left out of the JSON while null, so records written before it existed read the same.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TrainingProjection? Projection { get; init; }
}

/// <summary>What the training run measured of a version, all in the same run so that they compare.</summary>
/// <param name="Epoch">The run's epoch whose weights this version is.</param>
/// <param name="ValidationMap">Validation mAP of that epoch.</param>
/// <param name="BaseValidationMap">Validation mAP of the parent (the run's epoch 0), on the same data and input size.</param>
/// <param name="TestMap">Test mAP of this epoch, or null when the run tested another epoch (its base, when no epoch
/// improved on it).</param>
/// <param name="TestQueries">The test queries behind <paramref name="TestMap"/>.</param>
public sealed record ModelVersionMetrics(int Epoch, double ValidationMap, double BaseValidationMap, double? TestMap, int? TestQueries)
{
    /// <summary>Whether the version validated better than its parent in the run that made it.</summary>
    public bool Improves => ValidationMap > BaseValidationMap;
}

/// <summary>
/// Which version serves a workspace (<c>models/serving.json</c>): the one search and clustering use, and during a rollout
/// the one whose signatures are being computed and which will serve once they are complete.
/// </summary>
/// <param name="Serving">The serving version (the registry's initial version until a promotion completes).</param>
/// <param name="Pending">The promoted version being rolled out, or null.</param>
/// <param name="Previous">The version that served before <paramref name="Serving"/>, or null.</param>
/// <param name="UpdatedAt">When the pointer was last written.</param>
public sealed record ServingPointer(string Serving, string? Pending, string? Previous, DateTimeOffset UpdatedAt);

/// <summary>The state of a version in a workspace.</summary>
public enum ModelVersionState
{
    /// <summary>Registered, not serving and not being rolled out (refused, or replaced).</summary>
    Candidate,

    /// <summary>Promoted: its signatures are being computed; the serving version still serves.</summary>
    Pending,

    /// <summary>Serves search and clustering.</summary>
    Serving,
}

/// <summary>Why <see cref="ModelRegistry.PromoteAsync"/> did or did not promote.</summary>
public enum PromotionOutcome
{
    /// <summary>The version is now pending: its re-signing can start.</summary>
    Promoted,

    /// <summary>It did not validate better than its parent in its own run.</summary>
    NotBetter,

    /// <summary>Its parent no longer serves (another version was promoted since the run started, or is pending).</summary>
    Stale,

    /// <summary>Another version is being rolled out; promote after it serves (by then this one is stale, and must be retrained).</summary>
    RolloutUnderway,

    /// <summary>It already serves or is already pending (a repeated promotion): nothing changed.</summary>
    AlreadyPromoted,
}

/// <summary>The outcome of a promotion with the reason in one line and the pointer after it.</summary>
public sealed record ModelPromotion(string Version, PromotionOutcome Outcome, string Reason, ServingPointer Pointer)
{
    public bool Promoted => Outcome is PromotionOutcome.Promoted;
}
