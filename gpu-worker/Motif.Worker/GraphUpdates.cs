using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Worker;

/// <summary>
/// Keeps the stored neighbour graph (<see cref="NeighbourGraphStore"/>, <c>Motif__ModelVersion</c> within
/// <c>Motif__MaxEps</c>) up to date with what this worker signs, so the nightly timer only runs OPTICS over it.
/// </summary>
/// <remarks>
/// An update reads every signature and appends the new rows, which costs CPU the forward pass wants: so it runs when
/// the queue goes idle, and while the queue stays busy at most every <see cref="WorkerOptions.GraphUpdateInterval"/>.
/// It also runs once at start (a worker killed between signing and updating leaves the graph behind). Replicas may
/// update concurrently: a write is conditional on the graph version it read, so the replica that loses reloads the
/// signatures and updates again on top of the winner's graph, and no replica's rows are overwritten.
/// <para><b>Rollouts.</b> During a rollout, and after one has switched, the pending and serving versions' graphs are kept
/// too (<see cref="VersionsInUseAsync"/>): the Recluster timer clusters the serving version's graph, so the pending one's
/// must be up to date by the time the switch happens.</para>
/// </remarks>
public sealed class GraphUpdates(IBlobStore blobs, IImageCatalog catalog, NeighbourGraphStore graphs, MotifPipelineOptions pipeline, WorkerOptions options,
    CurrentSignatures current, ModelRegistry registry, IModelRolloutSteps rolloutSteps, ILogger<GraphUpdates> logger) : BackgroundService
{
    private readonly SemaphoreSlim _idle = new(0);
    private volatile bool _dirty = true;

    /// <summary>A batch was signed: the graph is behind.</summary>
    public void Signed() => _dirty = true;

    /// <summary>The queue went idle: update now if behind.</summary>
    public void QueueIdle()
    {
        if (_idle.CurrentCount == 0)
        {
            _idle.Release();
        }
    }

    /// <summary>When the last update finished (null before the first).</summary>
    public DateTimeOffset? LastUpdate { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _idle.WaitAsync(options.GraphUpdateInterval, stoppingToken).ConfigureAwait(false);
                if (_dirty)
                {
                    _dirty = false;
                    await UpdateAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Storage trouble: the next turn tries again; the graph only lags.
                _dirty = true;
                logger.LogWarning("The neighbour graph update failed: {Message}", e.Message);
            }
        }
    }

    /// <summary>
    /// The signature versions whose graphs are kept: <c>Motif__ModelVersion</c>'s (what unversioned jobs sign), and
    /// the registry's serving and pending versions' when they differ from it, keyed as the rollout keys them
    /// (<see cref="IModelRolloutSteps.SignatureVersionOf"/>).
    /// </summary>
    private async Task<IReadOnlyList<string>> VersionsInUseAsync(CancellationToken cancellationToken)
    {
        var (pointer, _) = await registry.ReadPointerAsync(cancellationToken).ConfigureAwait(false);
        return new[] { pointer.Serving, pointer.Pending }.OfType<string>()
            .Select(rolloutSteps.SignatureVersionOf)
            .Prepend(pipeline.ModelVersion).Distinct(StringComparer.Ordinal).ToArray();
    }

    private async Task UpdateAsync(CancellationToken cancellationToken)
    {
        foreach (var version in await VersionsInUseAsync(cancellationToken).ConfigureAwait(false))
        {
            await UpdateAsync(version, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task UpdateAsync(string version, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var fingerprint = await CurrentSignatures.FingerprintAsync(catalog, version, cancellationToken).ConfigureAwait(false);
        var set = await SignatureSet.LoadAsync(blobs, catalog, version, cancellationToken).ConfigureAwait(false);
        if (set.Count == 0)
        {
            return;
        }
        GraphUpdate update;
        try
        {
            update = await graphs.UpdateAsync(set, pipeline.Clustering.MaxEps!.Value, pipeline.Threads, cancellationToken).ConfigureAwait(false);
        }
        catch (NeighbourGraphConflictException)
        {
            // Another replica stored a graph meanwhile: start over from its graph and fresh signatures, on the next turn.
            _dirty = true;
            QueueIdle();
            logger.LogInformation("Another worker updated the neighbour graph first; updating again on top of it");
            return;
        }
        // Search keeps it if it is the version search embeds with (the serving one's), and loads its own otherwise.
        current.Offer(version, set, fingerprint);
        LastUpdate = DateTimeOffset.UtcNow;
        logger.LogInformation("Neighbour graph updated: {Rows} rows ({Appended} new) in {Seconds:F1} s, {Version}; local features refuted {Refuted} of {Judged} judged pairs ({Compared} matched now)",
            set.Count, update.AppendedRows, TimeProvider.System.GetElapsedTime(started).TotalSeconds, version,
            update.LocalFeatures?.Refuted ?? 0, update.LocalFeatures?.Judged ?? 0, update.LocalFeatures?.Compared ?? 0);
    }
}
