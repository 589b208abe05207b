using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;

namespace Motif.Worker;

/// <summary>
/// Consumes the signature queue through <see cref="SignatureService.RunAsync"/> (batch N+1 prepared while batch N is
/// in the forward pass; long-polling when idle) until the host stops, and tells <see cref="GraphUpdates"/> and
/// search what it signed.
/// </summary>
/// <remarks>
/// Shutdown (SIGTERM from Container Apps' scale-in): receiving stops at once; the batch in the forward pass is
/// finished if it can be within the grace period (<see cref="WorkerOptions.ShutdownTimeout"/>), less a margin to give
/// back what is left; prepared batches are given back unstarted. Then the loop aborts, which abandons every message
/// not settled, so another replica gets them now rather than after their locks lapse. A crash (kill -9) loses
/// nothing either: locks lapse and the catalog keeps the work exactly-once. A failure of storage or engine abandons
/// the batch and the loop starts again after a pause (messages that keep failing are dead-lettered after
/// MaxDeliveryCount, with the reason recorded in the catalog). At start, shards a killed worker wrote but never
/// committed are swept (<see cref="OrphanShardAge"/>).
/// </remarks>
public sealed class SignatureWorker(SignatureService signatures, GraphUpdates graph, CurrentSignatures current, WorkerOptions options, WorkerTelemetry telemetry,
    ILogger<SignatureWorker> logger) : BackgroundService
{
    /// <summary>What the shutdown keeps for abandoning the unsettled messages after the batch in flight.</summary>
    public static readonly TimeSpan AbandonMargin = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Shards older than this that no catalog entry references are a killed worker's (written, never committed) and are
    /// deleted at start. Another replica commits its shard seconds after writing it; an hour leaves it every chance.
    /// </summary>
    public static readonly TimeSpan OrphanShardAge = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SweepOrphanShardsAsync(stoppingToken).ConfigureAwait(false);
        using var abort = new CancellationTokenSource();
        var finishWithin = options.ShutdownTimeout > AbandonMargin * 2 ? options.ShutdownTimeout - AbandonMargin : options.ShutdownTimeout / 2;
        await using var stopping = stoppingToken.Register(() =>
        {
            logger.LogInformation("Stopping: no more receives; finishing the batch in flight within {Seconds:F0} s", finishWithin.TotalSeconds);
            abort.CancelAfter(finishWithin);
        });
        var progress = new Reports(this);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var total = await signatures.RunAsync(options.ReceiveWait, progress, stoppingToken, abort.Token).ConfigureAwait(false);
                logger.LogInformation("Stopped receiving; {Signed} signed in this run", total.Signed);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                logger.LogWarning("The grace period ran out: the unsettled jobs were given back to the queue");
                return;
            }
            catch (Exception e)
            {
                logger.LogError("Signing failed, its jobs were given back; retrying in {Seconds:F0} s: {Message}", RetryPause.TotalSeconds, e.Message);
                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                try
                {
                    await Task.Delay(RetryPause, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task SweepOrphanShardsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var deleted = await signatures.SweepOrphanShardsAsync(OrphanShardAge, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (deleted > 0)
            {
                logger.LogInformation("Deleted {Count} orphan signature shards (written by a worker killed before its catalog commit)", deleted);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Only storage is wasted meanwhile: the next start sweeps again.
            logger.LogWarning("The orphan shard sweep failed: {Message}", e.Message);
        }
    }

    private void Report(SignatureBatchReport report)
    {
        telemetry.Record(report);
        if (report.QueueIdle)
        {
            graph.QueueIdle();
            return;
        }
        if (report.Result.Signed > 0)
        {
            graph.Signed();
            current.Invalidate();
        }
        logger.LogInformation("Batch: {Received} jobs, {Signed} signed, {AlreadySigned} already signed, {Failed} failed; prepare {Prepare:F0} ms, embed {Embed:F0} ms, commit {Commit:F0} ms (waited for {CommitWait:F0}), sign {Sign:F0} ms, trace {TraceId}",
            report.Result.Received, report.Result.Signed, report.Result.AlreadySigned, report.Result.Failed,
            report.PrepareTime.TotalMilliseconds, report.EmbedTime.TotalMilliseconds, report.CommitTime.TotalMilliseconds, report.CommitWait.TotalMilliseconds,
            report.SignTime.TotalMilliseconds, report.TraceId ?? "-");
    }

    /// <summary>Reports handled as they come, on the loop's own thread (not posted like <see cref="Progress{T}"/>).</summary>
    private sealed class Reports(SignatureWorker worker) : IProgress<SignatureBatchReport>
    {
        public void Report(SignatureBatchReport value) => worker.Report(value);
    }
}
