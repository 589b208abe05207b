using Motif.Storage.Catalog;

namespace Motif.Pipeline.Models;

/// <summary>What a host does for a rollout: the parts that depend on how it signs and clusters.</summary>
public interface IModelRolloutSteps
{
    /// <summary>The version the catalog keys <paramref name="modelVersion"/>'s signatures by (the engine adds the input
    /// size and precision to the weights' version).</summary>
    string SignatureVersionOf(string modelVersion);

    /// <summary>Asks for every catalogued image to be signed under <paramref name="modelVersion"/> (the signature queue's
    /// jobs, or the host's equivalent); returns how many were asked for.</summary>
    Task<int> EnqueueResigningAsync(string modelVersion, CancellationToken cancellationToken);

    /// <summary>Asks for the collection to be clustered again under <paramref name="modelVersion"/>, now serving.</summary>
    Task RequestReclusterAsync(string modelVersion, CancellationToken cancellationToken);
}

/// <summary>Where a rollout stands after <see cref="ModelRollout.AdvanceAsync"/>.</summary>
/// <param name="Pointer">The pointer after the step.</param>
/// <param name="Switched">Whether this step made the pending version serve.</param>
/// <param name="Unsigned">Images still without a signature (or a recorded failure) under the pending version.</param>
public sealed record RolloutStatus(ServingPointer Pointer, bool Switched, int Unsigned);

/// <summary>
/// Rolls a promoted version out (issue 11, item 6): promotion makes it pending and asks for the collection's re-signing;
/// the previous version keeps serving search and clusters until every catalogued image is signed under the new one (or
/// has a recorded failure, which a signature will never follow); then the pointer switches and a recluster is requested.
/// <see cref="AdvanceAsync"/> is that last step, small and idempotent, so the Recluster timer, <c>motif run</c> and tests
/// can all call it as often as they like.
/// </summary>
/// <remarks>
/// The switch is a conditional write of the pointer (<see cref="ModelRegistry"/>), so two hosts advancing at once switch
/// once: the loser finds the version serving and requests nothing. A kill between the switch and the recluster request
/// leaves the new version serving with the previous clusters published; the next recluster (the timer's, or the next
/// <c>motif run</c>) clusters under the serving version anyway.
/// </remarks>
public sealed class ModelRollout(ModelRegistry registry, IImageCatalog catalog, IModelRolloutSteps steps)
{
    /// <summary>Promotes <paramref name="id"/> (<see cref="ModelRegistry.PromoteAsync"/>) and, when it is promoted, asks
    /// for the re-signing under it.</summary>
    public async Task<ModelPromotion> PromoteAsync(string id, CancellationToken cancellationToken = default)
    {
        var promotion = await registry.PromoteAsync(id, cancellationToken).ConfigureAwait(false);
        if (promotion.Promoted)
        {
            // After the pointer names it pending: a kill before this leaves a pending version whose jobs were never sent,
            // and the host's sweep of images unsigned under it sends them (in a deployment the Recluster timer re-sends
            // them on every invocation while the version is pending; on the CLI the next `motif run` signs them).
            await steps.EnqueueResigningAsync(id, cancellationToken).ConfigureAwait(false);
        }
        return promotion;
    }

    /// <summary>Switches to the pending version if its signatures are complete, then requests a recluster; otherwise says
    /// how many images are left. Nothing pending: nothing to do.</summary>
    public async Task<RolloutStatus> AdvanceAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (pointer, etag) = await registry.ReadPointerAsync(cancellationToken).ConfigureAwait(false);
            if (pointer.Pending is not { } pending)
            {
                return new RolloutStatus(pointer, Switched: false, Unsigned: 0);
            }
            var unsigned = (await catalog.ListUnsignedAsync(steps.SignatureVersionOf(pending), cancellationToken).ConfigureAwait(false)).Count;
            if (unsigned > 0)
            {
                return new RolloutStatus(pointer, Switched: false, unsigned);
            }
            if (await registry.TrySwitchAsync(pointer, etag, cancellationToken).ConfigureAwait(false) is { } switched)
            {
                await steps.RequestReclusterAsync(switched.Serving, cancellationToken).ConfigureAwait(false);
                return new RolloutStatus(switched, Switched: true, Unsigned: 0);
            }
            // The pointer changed since it was read (another host switched): look again.
        }
    }
}
