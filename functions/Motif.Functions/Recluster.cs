using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;

namespace Motif.Functions;

/// <summary>What one Recluster invocation did.</summary>
/// <param name="Outcome">Published, Unchanged (same input as the latest manifest, or nothing to cluster), or Skipped (another instance holds the lock or published first).</param>
/// <param name="RunId">The latest manifest's run after the invocation, if any.</param>
public sealed record ReclusterInvocation(ReclusterOutcome Outcome, string? RunId, ReclusterResult? Result);

/// <summary>See <see cref="ReclusterInvocation.Outcome"/>.</summary>
public enum ReclusterOutcome
{
    Published,
    Unchanged,
    Skipped,
}

/// <summary>
/// The nightly reclustering: <see cref="ReclusterService"/> over the stored neighbour graph and the catalog (never the
/// signature matrix, so it fits a small instance), publishing a new manifest only when the input changed.
/// </summary>
/// <remarks>
/// <para><b>Schedule.</b> <c>%Motif:ReclusterSchedule%</c> is resolved by the Functions <em>host</em> from the app
/// setting <c>Motif__ReclusterSchedule</c> when it indexes the app; the worker cannot supply a default, and a missing
/// setting makes the host refuse to load this function ("does not resolve to a value"). main.bicep therefore sets it
/// (<see cref="MotifFunctionsOptions.DefaultReclusterSchedule"/>), local.settings.json too; <c>motif dev</c> reads
/// <see cref="MotifFunctionsOptions.ReclusterSchedule"/>, which defaults to the same value.</para>
/// <para><b>Singleton.</b> A timer fires on one instance as a rule, but scale-out, a slot swap or a manual run can
/// overlap: the lease on <see cref="CollectionBlobs.ReclusterLock"/> is taken without waiting, and an invocation that
/// cannot take it skips. Publication is also If-Match on manifests/latest.json, so even a lapsed lease cannot make two
/// runs overwrite each other: the loser skips as well.</para>
/// <para><b>Retries.</b> A storage failure throws; the host retries the invocation up to three times with exponential
/// back-off (30 s to 5 min), rather than leaving the manifest a day old. Retrying is safe: the run is idempotent.</para>
/// </remarks>
/// <para><b>Model rollout</b> (issue 11). Each invocation first advances a rollout (<see cref="ModelRollout.AdvanceAsync"/>):
/// the promoted version starts serving only once every catalogued image has its signature (or a recorded failure) under
/// it, and this invocation then clusters that version's graph, so the previous version's clusters stay published until
/// the new ones can replace them whole. While the rollout is pending, the invocation re-sends jobs for the images still
/// unsigned under it, and likewise for the serving version after a switch. Intake already sends an upload those jobs
/// (<see cref="RolloutIntake"/>); the sweep catches what it could not (an intake stopped between its catalog record and
/// its jobs), and re-sending a job still queued costs a lookup.</para>
public sealed class Recluster(ReclusterService recluster, IBlobStore blobs, MotifPipelineOptions options, ModelRollout rollout, ModelRegistry registry,
    IModelRolloutSteps rolloutSteps, ILogger<Recluster> logger)
{
    /// <summary>Reclusters once; <paramref name="timer"/> is the host's schedule information (null from a local runner).</summary>
    [Function(nameof(Recluster))]
    [ExponentialBackoffRetry(3, "00:00:30", "00:05:00")]
    public async Task<ReclusterInvocation> RunAsync(
        [TimerTrigger("%" + MotifFunctionsOptions.ReclusterScheduleSetting + "%")] TimerInfo? timer,
        CancellationToken cancellationToken)
    {
        if (timer?.IsPastDue == true)
        {
            logger.LogInformation("Recluster is running late (the schedule was missed, e.g. while scaled to zero)");
        }
        WorkspaceLease lease;
        try
        {
            lease = await WorkspaceLease.AcquireAsync(blobs, CollectionBlobs.ReclusterLock, wait: TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (WorkspaceBusyException)
        {
            logger.LogInformation("Recluster skipped: another instance holds {Lock}", CollectionBlobs.ReclusterLock);
            return new ReclusterInvocation(ReclusterOutcome.Skipped, null, null);
        }
        await using (lease.ConfigureAwait(false))
        {
            // A lease lost half-way cancels the run before it publishes: another instance may hold the singleton now.
            // The invocation then fails and the host retries it.
            using var leased = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.LostToken);
            try
            {
                var version = await AdvanceRolloutAsync(leased.Token).ConfigureAwait(false);
                var result = await recluster.RunAsync(version, options.Clustering, leased.Token).ConfigureAwait(false);
                var runId = result.Manifest?.Manifest.RunId;
                logger.LogInformation("Recluster {Outcome}: {Images} images of {Version}, run {RunId}", result.Published ? "published" : "unchanged", result.Images,
                    version, runId);
                return new ReclusterInvocation(result.Published ? ReclusterOutcome.Published : ReclusterOutcome.Unchanged, runId, result);
            }
            catch (ManifestPublishConflictException e)
            {
                logger.LogWarning("Recluster skipped: {Message}", e.Message);
                return new ReclusterInvocation(ReclusterOutcome.Skipped, null, null);
            }
        }
    }

    /// <summary>
    /// Advances a rollout and returns the signature version to cluster: the serving version's, as
    /// <see cref="IModelRolloutSteps.SignatureVersionOf"/> keys it.
    /// </summary>
    private async Task<string> AdvanceRolloutAsync(CancellationToken cancellationToken)
    {
        var status = await rollout.AdvanceAsync(cancellationToken).ConfigureAwait(false);
        var pointer = status.Pointer;
        if (status.Switched)
        {
            logger.LogInformation("Model rollout: {Version} serves now (was {Previous}); clustering under it", pointer.Serving, pointer.Previous);
        }
        else if (pointer.Pending is { } pending)
        {
            var sent = await rolloutSteps.EnqueueResigningAsync(pending, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Model rollout: {Version} is pending, {Unsigned} images still to sign (jobs re-sent for {Sent}); {Serving} serves meanwhile",
                pending, status.Unsigned, sent, pointer.Serving);
        }
        if (!status.Switched && pointer.Serving != registry.InitialVersion)
        {
            // A sweep for the serving version too, for uploads that have no job naming it (intake stopped before sending
            // it, or ran before the switch). While the initial version serves, its jobs are the unversioned ones, as before
            // any rollout.
            await rolloutSteps.EnqueueResigningAsync(pointer.Serving, cancellationToken).ConfigureAwait(false);
        }
        return rolloutSteps.SignatureVersionOf(pointer.Serving);
    }
}
