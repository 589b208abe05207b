using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Imaging;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Training;

/// <summary>Opens a model version as a network to train, for <see cref="TrainingJobRunner"/> (the engine lives in the
/// worker, not in the pipeline).</summary>
public interface ISignatureTrainerFactory
{
    /// <summary>Opens <paramref name="version"/> at <paramref name="inputSize"/>.</summary>
    /// <param name="version">The model version.</param>
    /// <param name="weightsFile">Its weights, downloaded from the registry; null for the registry's initial version (the
    /// packaged network, which the host opens by name).</param>
    /// <param name="inputSize">The run's input side.</param>
    /// <returns>The trainer and what to dispose when the run is over.</returns>
    (ISignatureTrainer Trainer, IDisposable Owner) Open(string version, string? weightsFile, int inputSize);
}

/// <summary>What happened to one training job.</summary>
public enum TrainingJobResult
{
    /// <summary>The queue had no job.</summary>
    NoJob,

    /// <summary>Trained (or found trained), registered, promotion decided, message completed.</summary>
    Completed,

    /// <summary>The job can never succeed as sent (malformed, unknown base model, too little data to train on): dead-lettered with the reason.</summary>
    DeadLettered,
}

/// <summary>The outcome of <see cref="TrainingJobRunner.RunOneAsync"/>.</summary>
public sealed record TrainingJobOutcome(TrainingJobResult Result, string Reason, ModelVersionRecord? Version = null, ModelPromotion? Promotion = null);

/// <summary>Options of <see cref="TrainingJobRunner"/>.</summary>
public sealed record TrainingJobRunnerOptions
{
    /// <summary>How long a receive waits for a job (a Container Apps Job execution starts because one was sent).</summary>
    public TimeSpan ReceiveWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Renew the message's lock when this share of it has passed (an epoch outlasts Service Bus's 5-minute maximum).</summary>
    public double RenewAt { get; init; } = 0.5;

    /// <summary>The clock of the renewals.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Renders the PNG curves; null for SVG only.</summary>
    public ITrainingChartRenderer? Charts { get; init; }

    /// <summary>The input side this deployment signs at (the worker's 224), given to a job that asks for the projection
    /// without naming one (<see cref="TrainingRunOptions.SigningSize"/>): a job sent by <c>POST /api/train</c> does not know
    /// the worker's size, and a projection fitted at the training size would be applied to other statistics. Null: the
    /// job's own.</summary>
    public int? SigningSize { get; init; }
}

/// <summary>
/// The worker's side of a <see cref="TrainingJob"/> (issue 11): receives one job from the training queue, runs
/// <see cref="TrainingService"/> from the job's base model on the workspace's ground truth (or, with none, on synthetic copies of its images), registers the result and
/// decides its promotion (<see cref="ModelRollout"/>), completes the message. One execution of the Container Apps Job is
/// one call.
/// </summary>
/// <remarks>
/// <para><b>The lock.</b> An epoch can outlast a lock (Service Bus's is 5 minutes at most), so the lock is renewed in the
/// background every <see cref="TrainingJobRunnerOptions.RenewAt"/> of its duration while training runs. A renewal that
/// fails (the lock was lost: the message is someone else's now) cancels the run, which stops between steps with its last
/// complete epoch stored, and the message is left alone.</para>
/// <para><b>A kill</b> (scale-in, a crash) settles nothing: the lock lapses, the job is delivered again, and the
/// training service resumes from the run's stored progress (the run key is the base model, data version and options, so
/// the redelivered job finds the same run as long as the ground truth did not change meanwhile; if it did, the job trains
/// on the new data from the start). Registration is idempotent, and promotion is judged against the pointer as it then is.</para>
/// <para><b>Dead letters</b>: a job that cannot succeed however often it is delivered (a body that is not a job, a base model
/// the registry does not know, a refusal of the training service) is dead-lettered at
/// once with the reason. Anything else (storage, the engine) abandons the message and rethrows: the next delivery
/// retries, and the queue dead-letters it after its maximum deliveries.</para>
/// </remarks>
public sealed class TrainingJobRunner(IWorkQueue trainingJobs, IBlobStore blobs, IImageCatalog catalog, IAnnotationStore annotations, ModelRegistry registry,
    IModelRolloutSteps rolloutSteps, ISignatureTrainerFactory trainers, TrainingJobRunnerOptions? options = null, ILogger<TrainingJobRunner>? logger = null)
{
    private readonly TrainingJobRunnerOptions _options = options ?? new TrainingJobRunnerOptions();
    private readonly ILogger _logger = logger ?? NullLogger<TrainingJobRunner>.Instance;

    /// <summary>Receives and handles one job (see the remarks).</summary>
    public async Task<TrainingJobOutcome> RunOneAsync(IProgress<TrainingEpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        var received = await trainingJobs.ReceiveAsync(1, _options.ReceiveWait, cancellationToken).ConfigureAwait(false);
        if (received.Count == 0)
        {
            return new TrainingJobOutcome(TrainingJobResult.NoJob, "the training queue is empty");
        }
        var message = new LockedMessage(received[0]);
        if (TrainingJob.TryParse(message.Current) is not { } job)
        {
            return await DeadLetterAsync(message, "malformed-job", "The message is not a training job (unreadable JSON, no base model, or options out of range).",
                cancellationToken).ConfigureAwait(false);
        }

        using var lockLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopRenewing = new CancellationTokenSource();
        var renewing = RenewAsync(message, lockLost, stopRenewing.Token);
        try
        {
            var outcome = await TrainAsync(job, message, progress, lockLost.Token).ConfigureAwait(false);
            await stopRenewing.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            if (outcome.Result == TrainingJobResult.Completed)
            {
                await trainingJobs.CompleteAsync(message.Current, cancellationToken).ConfigureAwait(false);
            }
            return outcome;
        }
        catch (Exception e) when (!lockLost.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            await stopRenewing.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            if (e is TrainingDeadEnd dead)
            {
                return await DeadLetterAsync(message, dead.Reason, dead.Message, cancellationToken).ConfigureAwait(false);
            }
            // Given back now rather than when the lock lapses, so the retry is not delayed by minutes.
            await TryAbandonAsync(message).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<TrainingJobOutcome> TrainAsync(TrainingJob job, LockedMessage message, IProgress<TrainingEpochReport>? progress, CancellationToken cancellationToken)
    {
        // Null without a morphograph or annotations: the run then trains on synthetic copies of the collection's images.
        var truth = await GroundTruth.LoadAsync(blobs, annotations, cancellationToken: cancellationToken).ConfigureAwait(false);
        var baseModel = job.BaseModel ?? (await registry.ReadPointerAsync(cancellationToken).ConfigureAwait(false)).Pointer.Serving;
        string? weights = null;
        if (baseModel != registry.InitialVersion)
        {
            if (await registry.GetAsync(baseModel, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new TrainingDeadEnd("unknown-base-model", $"No registered model version '{Printable(baseModel)}' (nor the packaged {registry.InitialVersion}).");
            }
            weights = Path.Combine(Path.GetTempPath(), $"motif-base-{Guid.NewGuid():N}.ckpt");
            await registry.DownloadWeightsAsync(baseModel, weights, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var (trainer, owner) = trainers.Open(baseModel, weights, job.Options.InputSize);
            using (owner)
            {
                _logger.LogInformation("Training job {MessageId} (delivery {Delivery}): {Base} on {Data}", message.Current.MessageId,
                    message.Current.DeliveryCount, baseModel, truth is null ? "synthetic copies (no labels)" : $"data version {truth.DataVersion}");
                TrainingResult result;
                var options = job.Options.Whiten && job.Options.SigningSize is null ? job.Options with { SigningSize = _options.SigningSize } : job.Options;
                try
                {
                    result = await new TrainingService(blobs, catalog, trainer, options, _options.Charts)
                        .RunAsync(truth, baseModel, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (TrainingRefusedException e)
                {
                    throw new TrainingDeadEnd("training-refused", e.Message);
                }
                var version = await registry.RegisterAsync(result, cancellationToken).ConfigureAwait(false);
                var promotion = await new ModelRollout(registry, catalog, rolloutSteps).PromoteAsync(version.Id, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Registered {Version}: {Outcome}, {Reason}", version.Id, promotion.Outcome, promotion.Reason);
                return new TrainingJobOutcome(TrainingJobResult.Completed, promotion.Reason, version, promotion);
            }
        }
        finally
        {
            if (weights is not null)
            {
                File.Delete(weights);
            }
        }
    }

    /// <summary>Renews the lock until told to stop; on a lost lock, cancels the run (see the remarks).</summary>
    private async Task RenewAsync(LockedMessage message, CancellationTokenSource lockLost, CancellationToken stop)
    {
        var every = trainingJobs.Options.LockDuration * _options.RenewAt;
        try
        {
            while (true)
            {
                await Task.Delay(every, _options.Time, stop).ConfigureAwait(false);
                try
                {
                    message.Current = await trainingJobs.RenewLockAsync(message.Current, stop).ConfigureAwait(false);
                }
                catch (WorkQueueException e) when (e.ErrorCode == WorkQueueErrorCode.MessageLockLost)
                {
                    _logger.LogWarning("The training job's lock was lost ({Message}): stopping after the last stored epoch", e.Message);
                    await lockLost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<TrainingJobOutcome> DeadLetterAsync(LockedMessage message, string reason, string description, CancellationToken cancellationToken)
    {
        _logger.LogWarning("Training job {MessageId} dead-lettered ({Reason}): {Description}", message.Current.MessageId, reason, description);
        await trainingJobs.DeadLetterAsync(message.Current, reason, description, cancellationToken).ConfigureAwait(false);
        return new TrainingJobOutcome(TrainingJobResult.DeadLettered, $"{reason}: {description}");
    }

    private async Task TryAbandonAsync(LockedMessage message)
    {
        try
        {
            await trainingJobs.AbandonAsync(message.Current, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WorkQueueException or IOException)
        {
            // The lock lapses instead: the same redelivery, later.
        }
    }

    private static string Printable(string text) => new([.. text.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);

    /// <summary>The received message as last renewed (settling takes the latest receipt).</summary>
    private sealed class LockedMessage(ReceivedMessage received)
    {
        private ReceivedMessage _current = received;

        public ReceivedMessage Current
        {
            get => Volatile.Read(ref _current);
            set => Volatile.Write(ref _current, value);
        }
    }

    /// <summary>A job that no delivery can make succeed.</summary>
    private sealed class TrainingDeadEnd(string reason, string message) : Exception(message)
    {
        public string Reason { get; } = reason;
    }
}
