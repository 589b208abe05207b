using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Motif.Pipeline.Models;

/// <summary>One signature intake asks for: the version the job names (null: an unversioned job, the configured model)
/// and the signature version the catalog keys the result by.</summary>
public readonly record struct IntakeSignature(string? ModelVersion, string SignatureVersion);

/// <summary>
/// The signatures an accepted upload asks for in a deployment whose worker signs the versions jobs name (the Functions
/// app's intake, <c>motif dev</c>): the serving version's, and the pending version's while a rollout is underway.
/// </summary>
/// <remarks>
/// <para><b>Why two jobs during a rollout, not one.</b> The serving version's job puts the upload into the search and
/// clusters that are published now; the pending version's job puts it among the signatures the switch waits for, so the
/// rollout does not wait for the Recluster timer's next sweep (nightly by default) to find it unsigned. A single job
/// naming both versions would make one message's failure (a pending version whose weights turn out damaged, dead-lettered
/// as <c>model-version-unloadable</c>) take the serving signature down with it, and the worker signs each version in its
/// own forward pass anyway.</para>
/// <para><b>The pointer is read per upload</b>, after the image is catalogued: a promotion writes the pointer and then
/// lists the images unsigned under the new version, so an upload either sees the version pending here or is catalogued
/// in time for the promotion's list. Never both missed.</para>
/// <para>While the registry's initial version serves, its job is the unversioned one, as before any rollout (the same
/// message, the same signature: <see cref="QueuedRolloutSteps.SignatureVersionOf"/>). After a switch, the job names the
/// serving version, so a new upload joins the serving version's search at once rather than at the timer's sweep.</para>
/// <para>A pointer that cannot be read does not stop intake: the upload gets the unversioned job, the failure is logged,
/// and the timer's sweeps send what is missing once the pointer is repaired.</para>
/// </remarks>
public sealed class RolloutIntake(ModelRegistry registry, IModelRolloutSteps steps, ILogger<RolloutIntake>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<RolloutIntake>.Instance;

    /// <summary>The signatures to ask for an upload now: one, or two while a version is pending.</summary>
    public async Task<IReadOnlyList<IntakeSignature>> SignaturesAsync(CancellationToken cancellationToken = default)
    {
        ServingPointer pointer;
        try
        {
            (pointer, _) = await registry.ReadPointerAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            _logger.LogWarning("Intake asks for the configured model's signature only: {Message}", e.Message);
            return [Of(registry.InitialVersion)];
        }
        return pointer.Pending is { } pending && pending != pointer.Serving ? [Of(pointer.Serving), Of(pending)] : [Of(pointer.Serving)];
    }

    private IntakeSignature Of(string modelVersion) =>
        new(modelVersion == registry.InitialVersion ? null : modelVersion, steps.SignatureVersionOf(modelVersion));
}
