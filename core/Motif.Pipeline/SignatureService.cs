using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Core;
using Motif.Core.Signatures;
using Motif.Imaging;
using Motif.Storage;

namespace Motif.Pipeline;

/// <summary>Options of <see cref="SignatureService"/>.</summary>
public sealed record SignatureServiceOptions
{
    /// <summary>Jobs taken per receive, preprocessed together and embedded in one forward pass.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Threads that decode and preprocess a batch.</summary>
    public int PreprocessThreads { get; init; } = Environment.ProcessorCount;

    public ValidationLimits Limits { get; init; } = ValidationLimits.Default;
}

/// <summary>What one pass over the queue did.</summary>
public sealed record SignatureRunResult(int Received, int Signed, int AlreadySigned, int Failed)
{
    public static SignatureRunResult operator +(SignatureRunResult a, SignatureRunResult b) =>
        new(a.Received + b.Received, a.Signed + b.Signed, a.AlreadySigned + b.AlreadySigned, a.Failed + b.Failed);
}

/// <summary>
/// The worker's SignatureJob handler: take a batch of jobs, preprocess their derivatives, embed them in one
/// forward pass, write the signatures as one shard blob (.npy, create-only), record them in the catalog, then
/// complete the messages.
/// </summary>
/// <remarks>
/// Resume and exactly-once come from the catalog, not from the queue: a signature exists when the catalog records
/// it (keyed by model and content hash). A job whose content is already signed is completed without work, so a
/// message redelivered after a crash (or sent twice) never produces a second signature; a shard written by a
/// process killed before its catalog commit is an orphan that <see cref="SweepOrphanShardsAsync"/> removes.
/// A derivative that cannot be preprocessed is a poison job: its failure is recorded in the catalog (so the report
/// shows it and it is not retried forever) and the message is dead-lettered with the reason code.
/// </remarks>
public sealed class SignatureService(IBlobStore blobs, IImageCatalog catalog, IWorkQueue signatureJobs, ISignatureEmbedder embedder,
    SignatureServiceOptions? options = null, ILogger<SignatureService>? logger = null)
{
    private readonly SignatureServiceOptions _options = options ?? new SignatureServiceOptions();
    private readonly ILogger _logger = logger ?? NullLogger<SignatureService>.Instance;

    /// <summary>
    /// Queues a job for every accepted image whose content has no signature (and no recorded failure) under the
    /// embedder's model: images from before a model change, or whose job was lost to a crash between catalog and
    /// queue. Run it when the queue is drained, or jobs still in the queue are sent twice (harmless, but wasted).
    /// </summary>
    public async Task<int> EnqueueMissingAsync(CancellationToken cancellationToken = default)
    {
        var unsigned = await catalog.ListUnsignedAsync(embedder.ModelVersion, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in unsigned.Chunk(256))
        {
            await signatureJobs.SendBatchAsync(chunk.Select(i => new SignatureJob(i.ImageId, i.ContentHash!, CollectionBlobs.Derivative(i.ContentHash!)).ToMessage()).ToArray(),
                cancellationToken).ConfigureAwait(false);
        }
        return unsigned.Count;
    }

    /// <summary>Processes batches until a receive finds the queue empty; <paramref name="progress"/> gets each batch's result.</summary>
    public async Task<SignatureRunResult> ProcessAllAsync(IProgress<SignatureRunResult>? progress = null, CancellationToken cancellationToken = default)
    {
        var total = new SignatureRunResult(0, 0, 0, 0);
        while (true)
        {
            var batch = await ProcessBatchAsync(cancellationToken).ConfigureAwait(false);
            if (batch.Received == 0)
            {
                return total;
            }
            total += batch;
            progress?.Report(batch);
        }
    }

    /// <summary>Receives and processes one batch of jobs (none when the queue is empty).</summary>
    public async Task<SignatureRunResult> ProcessBatchAsync(CancellationToken cancellationToken = default)
    {
        var messages = await signatureJobs.ReceiveAsync(_options.BatchSize, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return new SignatureRunResult(0, 0, 0, 0);
        }
        var pending = new List<(ReceivedMessage Message, SignatureJob Job, byte[] Derivative)>();
        var settled = new HashSet<long>();
        int alreadySigned = 0, failed = 0;
        try
        {
            // The catalog lookups and derivative downloads of the batch's jobs go out together: against a remote store
            // they are round trips, and one after another they would cost more than the forward pass itself.
            var jobs = messages.Select(m => (Message: m, Job: SignatureJob.TryParse(m))).ToArray();
            var lookups = jobs.Select(j => j.Job is null ? null : LookUpAsync(j.Job, cancellationToken)).ToArray();
            await Task.WhenAll(lookups.OfType<Task<(bool Signed, byte[]? Derivative)>>()).ConfigureAwait(false);
            var inBatch = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < jobs.Length; i++)
            {
                var (message, job) = jobs[i];
                if (job is null)
                {
                    await signatureJobs.DeadLetterAsync(message, "malformed-job", "The message is not a signature job.", cancellationToken).ConfigureAwait(false);
                    settled.Add(message.SequenceNumber);
                    failed++;
                    continue;
                }
                var (signed, derivative) = lookups[i]!.Result;
                if (!inBatch.Add(job.ContentHash) || signed)
                {
                    await CompleteAsync(message, cancellationToken).ConfigureAwait(false);
                    settled.Add(message.SequenceNumber);
                    alreadySigned++;
                    continue;
                }
                if (derivative is null)
                {
                    await FailAsync(message, job, "derivative-missing", $"The derivative {job.Derivative} is not in the store.", cancellationToken).ConfigureAwait(false);
                    settled.Add(message.SequenceNumber);
                    failed++;
                    continue;
                }
                pending.Add((message, job, derivative));
            }
            if (pending.Count == 0)
            {
                return new SignatureRunResult(messages.Count, 0, alreadySigned, failed);
            }

            var spec = embedder.Preprocessing;
            var inputs = new float[pending.Count * spec.ValuesPerImage];
            var results = ImageCodec.PreprocessBatch(pending.Select(p => (ReadOnlyMemory<byte>)p.Derivative).ToArray(), spec, inputs,
                _options.PreprocessThreads, _options.Limits, cancellationToken);
            var good = new List<int>();
            for (var i = 0; i < pending.Count; i++)
            {
                if (results[i].Succeeded)
                {
                    good.Add(i);
                }
                else
                {
                    await FailAsync(pending[i].Message, pending[i].Job, results[i].Rejection!.Value.Code(), results[i].Message ?? "Preprocessing failed.", cancellationToken).ConfigureAwait(false);
                    settled.Add(pending[i].Message.SequenceNumber);
                    failed++;
                }
            }
            if (good.Count > 0)
            {
                await SignAsync(pending, good, inputs, cancellationToken).ConfigureAwait(false);
            }
            return new SignatureRunResult(messages.Count, good.Count, alreadySigned, failed);
        }
        catch
        {
            // An engine or storage failure, or cancellation, is not the jobs' fault: give back every job not yet
            // settled for another delivery (a completed one just fails to abandon, harmlessly).
            foreach (var message in messages.Where(m => !settled.Contains(m.SequenceNumber)))
            {
                try
                {
                    await signatureJobs.AbandonAsync(message, CancellationToken.None).ConfigureAwait(false);
                }
                catch (WorkQueueException)
                {
                    // Already settled or its lock expired: it comes back by itself.
                }
            }
            throw;
        }
    }

    /// <summary>
    /// Deletes shard blobs of this service's model that no catalog entry references and that are older than
    /// <paramref name="minimumAge"/> (a younger one may belong to a worker that has not committed yet).
    /// </summary>
    public async Task<int> SweepOrphanShardsAsync(TimeSpan minimumAge, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var referenced = await catalog.ListReferencedShardsAsync(cancellationToken).ConfigureAwait(false);
        var cutoff = (time ?? TimeProvider.System).GetUtcNow() - minimumAge;
        return await CollectionBlobs.DeleteUnreferencedAsync(blobs, CollectionBlobs.SignatureShards(embedder.ModelVersion), referenced, cutoff, cancellationToken).ConfigureAwait(false);
    }

    private async Task SignAsync(List<(ReceivedMessage Message, SignatureJob Job, byte[] Derivative)> pending, List<int> good, float[] inputs, CancellationToken cancellationToken)
    {
        var spec = embedder.Preprocessing;
        var stride = spec.ValuesPerImage;
        if (good.Count != pending.Count)
        {
            // Close the gaps left by failed images so the forward pass sees only good ones.
            for (var k = 0; k < good.Count; k++)
            {
                inputs.AsSpan(good[k] * stride, stride).CopyTo(inputs.AsSpan(k * stride, stride));
            }
        }
        var dimension = embedder.Dimension;
        var signatures = new float[good.Count * dimension];
        embedder.Embed(inputs.AsSpan(0, good.Count * stride), good.Count, signatures);

        var shard = $"{CollectionBlobs.SignatureShards(embedder.ModelVersion)}{Guid.NewGuid():N}.npy";
        var metadata = new Dictionary<string, string> { ["rows"] = good.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await blobs.PutAsync(shard, new MemoryStream(NpyFile.Encode(signatures, good.Count, dimension), writable: false),
            new BlobPutOptions { ContentType = "application/octet-stream", Metadata = metadata, Conditions = BlobConditions.CreateOnly }, cancellationToken).ConfigureAwait(false);
        await catalog.AddSignaturesAsync(good.Select((p, row) => new SignatureLocation(embedder.ModelVersion, pending[p].Job.ContentHash, shard, row)).ToArray(),
            cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(good.Select(p => CompleteAsync(pending[p].Message, cancellationToken))).ConfigureAwait(false);
    }

    private async Task FailAsync(ReceivedMessage message, SignatureJob job, string reasonCode, string description, CancellationToken cancellationToken)
    {
        _logger.LogWarning("No signature for {ImageId}: {Reason} ({Description})", job.ImageId, reasonCode, description);
        await catalog.RecordSignatureFailureAsync(embedder.ModelVersion, job.ContentHash, reasonCode, description, cancellationToken).ConfigureAwait(false);
        await signatureJobs.DeadLetterAsync(message, reasonCode, description, cancellationToken).ConfigureAwait(false);
    }

    private async Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await signatureJobs.CompleteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkQueueException e) when (e.ErrorCode == WorkQueueErrorCode.MessageLockLost)
        {
            // The work is recorded in the catalog; the redelivery will find it signed and complete it.
            _logger.LogWarning("Lost the lock on job {MessageId}; its redelivery will be a no-op.", message.MessageId);
        }
    }

    /// <summary>Whether the job's content is signed already, and if not, its derivative (null when it is missing).</summary>
    private async Task<(bool Signed, byte[]? Derivative)> LookUpAsync(SignatureJob job, CancellationToken cancellationToken)
    {
        if (await catalog.GetSignatureAsync(embedder.ModelVersion, job.ContentHash, cancellationToken).ConfigureAwait(false) is not null)
        {
            return (true, null);
        }
        return (false, await TryDownloadAsync(job.Derivative, cancellationToken).ConfigureAwait(false));
    }

    private async Task<byte[]?> TryDownloadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await blobs.ReadAllBytesAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
    }
}
