using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Core;
using Motif.Core.Signatures;
using Motif.Imaging;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline;

/// <summary>Options of <see cref="SignatureService"/>.</summary>
public sealed record SignatureServiceOptions
{
    /// <summary>Jobs taken per receive, preprocessed together and embedded in one forward pass.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Threads that decode and preprocess a batch.</summary>
    public int PreprocessThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Whether a batch is decoded while the previous one is in the forward pass (on a GPU), or only between forward
    /// passes (on a CPU, whose cores both need: <see cref="Composition.DecodeCores.TakeTurns"/>). Either way the
    /// receive, the lookups, the downloads and the commits overlap the forward pass.
    /// </summary>
    public bool DecodeBesideForwardPass { get; init; } = true;

    public ValidationLimits Limits { get; init; } = ValidationLimits.Default;

    /// <summary>
    /// Batches prepared ahead of the one in the forward pass (<see cref="SignatureService.RunAsync"/>). One is enough to
    /// hide preparation behind inference; each more holds a batch of locks and derivatives for longer.
    /// </summary>
    public int PreparedBatches { get; init; } = 1;

    /// <summary>
    /// How long a receive that got fewer than <see cref="BatchSize"/> jobs keeps receiving to fill the batch (while jobs
    /// trickle in, as uploads are taken in one by one). A full batch is cheaper per image than several small forward
    /// passes, and while the previous batch is in the forward pass the wait costs nothing. Zero: never wait, only take
    /// what the queue has at once (<c>motif run</c>, whose queue is full before signing starts). Either way, jobs whose
    /// content is already in the batch or was prepared lately do not count towards filling it.
    /// </summary>
    public TimeSpan BatchFillWait { get; init; } = TimeSpan.Zero;

    /// <summary>Where each batch's activity ("sign batch") is started, e.g. the worker's; none when null.</summary>
    public ActivitySource? ActivitySource { get; init; }

    /// <summary>The clock of lock renewals and of the reports' durations.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// The networks of the model versions jobs may name (<see cref="SignatureJob.ModelVersion"/>, a rollout's
    /// re-signing). Null: this host signs only its own model (<c>motif run</c>), and a job naming another version is
    /// dead-lettered as <c>unknown-model-version</c>.
    /// </summary>
    public Models.ModelVersionEmbedders? ModelVersions { get; init; }
}

/// <summary>One batch as <see cref="SignatureService.RunAsync"/> reports it: what it did and where its time went.</summary>
/// <param name="Result">The batch's counts; nothing received means the queue went idle.</param>
/// <param name="QueueWait">How long its oldest job waited in the queue before it was received.</param>
/// <param name="PrepareTime">Lookups, downloads and preprocessing (overlapped with the previous batch's forward pass).</param>
/// <param name="EmbedTime">The forward pass.</param>
/// <param name="SignTime">From the start of its turn to the end of its commit: forward pass, shard, catalog, completions
/// (the commit overlaps the next batch's turn, so these add up to more than the loop's wall-clock).</param>
public sealed record SignatureBatchReport(SignatureRunResult Result, TimeSpan QueueWait, TimeSpan PrepareTime, TimeSpan EmbedTime, TimeSpan SignTime)
{
    /// <summary>The report of a receive that found the queue empty, after every earlier batch was settled.</summary>
    public static SignatureBatchReport Idle { get; } = new(new SignatureRunResult(0, 0, 0, 0), TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public bool QueueIdle => Result.Received == 0;

    /// <summary>The trace the batch's activity belongs to (its first job's upload trace when it carried one), if traced.</summary>
    public string? TraceId { get; init; }

    /// <summary>How long the loop waited for this batch to be prepared after it was ready for it (the forward pass starved).</summary>
    public TimeSpan InputWait { get; init; }

    /// <summary>Its commit: shard, catalog, completions (run while the next batch is in its forward pass).</summary>
    public TimeSpan CommitTime { get; init; }

    /// <summary>
    /// How long the loop waited for its commit before it could start the next batch's: the part of
    /// <see cref="CommitTime"/> the next forward pass did not hide (all of it for the last batch of a run).
    /// </summary>
    public TimeSpan CommitWait { get; init; }
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

    /// <summary>The options it runs with, as the composition resolved them (the decode threads, for one).</summary>
    public SignatureServiceOptions Options => _options;

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
            await signatureJobs.SendBatchAsync(chunk.Select(i => SignatureJob.For(i.ImageId, i.ContentHash!).ToMessage()).ToArray(),
                cancellationToken).ConfigureAwait(false);
        }
        return unsigned.Count;
    }

    /// <summary>
    /// Processes batches until a receive finds the queue empty, overlapped as <see cref="RunAsync"/> overlaps them;
    /// <paramref name="progress"/> gets each batch's result.
    /// </summary>
    public async Task<SignatureRunResult> ProcessAllAsync(IProgress<SignatureRunResult>? progress = null, CancellationToken cancellationToken = default) =>
        await RunAsync(idleReceiveWait: null, progress is null ? null : new BatchResults(progress), CancellationToken.None, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Signs batches as a bounded producer/consumer with three stages in flight: while batch N is in the forward pass
    /// (on one <see cref="InferenceThread"/>), batch N−1's commit (shard, catalog, completions) runs, and batch N+1 is
    /// received, looked up, downloaded and preprocessed, and waits (at most <see cref="SignatureServiceOptions.PreparedBatches"/>
    /// of them) with its locks renewed. The forward pass never waits for a commit: only the start of the next commit does.
    /// </summary>
    /// <param name="idleReceiveWait">Null: return when a receive finds the queue empty (draining, as <c>motif run</c>
    /// does). Otherwise run until <paramref name="stopReceiving"/>, long-polling this long when the queue is idle.</param>
    /// <param name="progress">Gets each batch's report in order, once its commit has ended; a report with nothing
    /// received says the queue went idle after every batch before it was committed (once per idle spell).</param>
    /// <param name="stopReceiving">Graceful stop: no more receives, the batch in the forward pass is finished and
    /// committed (and the commit before it), prepared batches that have not started are abandoned, and the call returns.</param>
    /// <param name="cancellationToken">Abort: every message not settled yet is abandoned (for another delivery),
    /// after the forward pass under way, if any, has ended; then <see cref="OperationCanceledException"/>.</param>
    /// <remarks>
    /// Exactly-once stays the catalog's: a batch is looked up in the catalog while the batches before it may still be
    /// signing or committing, so before its forward pass its contents are checked against what this run committed since
    /// (see <see cref="SigningRun"/>) and against the commit still under way; content is embedded once even when its
    /// jobs land in consecutive batches. Commits run one at a time and in batch order, each writing shard → catalog →
    /// completions as <see cref="CommitAsync"/> explains, so a kill at any point loses and duplicates nothing.
    /// Any failure of storage or engine, a commit's included, abandons every message not settled, prepared batches
    /// included, and is rethrown; a message abandoned on its last delivery gets the reason recorded in the catalog
    /// first, since the queue dead-letters it with only "MaxDeliveryCountExceeded".
    /// </remarks>
    public async Task<SignatureRunResult> RunAsync(TimeSpan? idleReceiveWait, IProgress<SignatureBatchReport>? progress = null,
        CancellationToken stopReceiving = default, CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<PreparedBatch>(new BoundedChannelOptions(_options.PreparedBatches)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var run = new SigningRun(new HeldMessages(signatureJobs, _options.Time, renew: true, _logger), _options.DecodeBesideForwardPass);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var inference = new InferenceThread();
        var producer = Task.Run(() => ProduceAsync(channel.Writer, run, idleReceiveWait, stopReceiving, abort.Token), CancellationToken.None);
        var total = new SignatureRunResult(0, 0, 0, 0);
        var failure = "The worker stopped";
        // The previous batch's commit, running while this batch is in its forward pass; null when none is under way.
        PendingCommit? committing = null;

        async Task SettleCommitAsync(TimeSpan? waited = null)
        {
            var waitStarted = _options.Time.GetTimestamp();
            var report = await committing!.Running.ConfigureAwait(false);
            committing = null;
            total += report.Result;
            progress?.Report(report with { CommitWait = waited ?? _options.Time.GetElapsedTime(waitStarted) });
        }

        try
        {
            while (true)
            {
                var inputWaitStarted = _options.Time.GetTimestamp();
                var next = channel.Reader.WaitToReadAsync(abort.Token).AsTask();
                if (committing is not null && await Task.WhenAny(next, committing.Running).ConfigureAwait(false) != next)
                {
                    // The commit ended while the loop waited for input: report it now (a failed one ends the loop now,
                    // not when the next batch comes, which may be a long poll away).
                    await SettleCommitAsync(TimeSpan.Zero).ConfigureAwait(false);
                }
                if (!await next.ConfigureAwait(false) || !channel.Reader.TryRead(out var batch))
                {
                    break;
                }
                batch.InputWait = _options.Time.GetElapsedTime(inputWaitStarted);
                if (stopReceiving.IsCancellationRequested)
                {
                    // Stopping: a prepared batch that has not started is given back rather than started late.
                    break;
                }
                if (batch.Messages.Count == 0)
                {
                    // The idle report promises every batch before it was settled.
                    if (committing is not null)
                    {
                        await SettleCommitAsync().ConfigureAwait(false);
                    }
                    progress?.Report(SignatureBatchReport.Idle);
                    continue;
                }
                var turn = await EmbedAsync(batch, run, inference, committing?.Contents, abort.Token).ConfigureAwait(false);
                if (committing is not null)
                {
                    // One commit at a time, in batch order: the previous one (hidden behind this forward pass, unless it
                    // took longer) must have recorded its contents before this one's riders are completed.
                    try
                    {
                        await SettleCommitAsync().ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        // This batch's commit never starts: its jobs are given back with the rest, its activity ends here.
                        turn.Activity?.SetStatus(ActivityStatusCode.Error, e.Message);
                        turn.Activity?.Dispose();
                        throw;
                    }
                }
                committing = new PendingCommit(CommitAsync(turn, run, abort.Token), turn.Contents);
            }
            if (committing is not null)
            {
                // Stopping or drained: the last commit is finished, not given back.
                await SettleCommitAsync().ConfigureAwait(false);
            }
            await abort.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Stopped on purpose: the producer was preparing a batch that is given back below.
            }
            return total;
        }
        catch (Exception e)
        {
            failure = e is OperationCanceledException ? "The worker was stopped before the job was signed" : e.Message;
            throw;
        }
        finally
        {
            await abort.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Cancelled by the abort above, or failed: its failure already ended the read and is what propagates.
            }
            if (committing is not null)
            {
                try
                {
                    // A commit still under way is cancelled by the abort; what it settled stays settled, the rest is
                    // abandoned below, never while it may still complete a message.
                    await committing.Running.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Its failure, if it is what ended the loop, already propagates; otherwise the loop's own does.
                }
            }
            await run.Held.AbandonAllAsync(m => RecordLastDeliveryAsync(m, failure)).ConfigureAwait(false);
            await run.Held.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A batch's commit under way, and the contents it records (what a later batch must not embed again).</summary>
    private sealed record PendingCommit(Task<SignatureBatchReport> Running, IReadOnlySet<string> Contents);

    /// <summary>
    /// Receives more jobs until the batch holds <see cref="SignatureServiceOptions.BatchSize"/> distinct contents that this
    /// run has not prepared lately, as long as the queue has them at once or <see cref="SignatureServiceOptions.BatchFillWait"/>
    /// allows waiting for them. Jobs for the same content (two uploads of one file, a resend) are settled without a forward
    /// pass, so a batch received as it comes would be short by that many: on 2 CPU cores a forward pass of 12 images
    /// costs 96 % of one of 16 (make bench, signing), and a collection with duplicate files paid it on every batch.
    /// At most <see cref="MaxFillFactor"/> × BatchSize jobs are held, so a queue of nothing but duplicates cannot hold
    /// locks without bound.
    /// </summary>
    private async Task<IReadOnlyList<ReceivedMessage>> FillAsync(IReadOnlyList<ReceivedMessage> messages, SigningRun run, CancellationToken receiving)
    {
        var batch = new List<ReceivedMessage>(messages);
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        Count(messages);
        // A receive that got less than it asked for found the queue empty: receive again only if waiting is allowed.
        var drained = messages.Count < _options.BatchSize;
        var started = _options.Time.GetTimestamp();
        try
        {
            while (fresh.Count < _options.BatchSize && batch.Count < MaxFillFactor * _options.BatchSize)
            {
                var wait = _options.BatchFillWait - _options.Time.GetElapsedTime(started);
                if (drained && wait <= TimeSpan.Zero)
                {
                    break;
                }
                var asked = _options.BatchSize - fresh.Count;
                var more = await signatureJobs.ReceiveAsync(asked, wait > TimeSpan.Zero ? wait : TimeSpan.Zero, receiving).ConfigureAwait(false);
                run.Held.Add(more);
                batch.AddRange(more);
                Count(more);
                drained = more.Count < asked;
            }
        }
        catch (OperationCanceledException) when (receiving.IsCancellationRequested)
        {
            // Stopping: sign what was received.
        }
        return batch;

        void Count(IEnumerable<ReceivedMessage> received)
        {
            foreach (var message in received)
            {
                // Keyed by the version the job names (its signature version is known only once prepared): a versioned job
                // may count as fresh when it is not, which costs at most a smaller forward pass.
                if (SignatureJob.TryParse(message) is { } job)
                {
                    var key = job.ModelVersion is { } version ? SigningRun.Key(version, job.ContentHash) : SigningRun.Key(embedder, job.ContentHash);
                    if (!run.RecentlyPrepared(key))
                    {
                        fresh.Add(key);
                    }
                }
            }
        }
    }

    /// <summary>How many batches' worth of jobs <see cref="FillAsync"/> may hold while it looks for distinct contents.</summary>
    private const int MaxFillFactor = 4;

    /// <summary>Receives and processes one batch of jobs (none when the queue is empty), without overlap or lock renewal.</summary>
    public async Task<SignatureRunResult> ProcessBatchAsync(CancellationToken cancellationToken = default)
    {
        var messages = await signatureJobs.ReceiveAsync(_options.BatchSize, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return new SignatureRunResult(0, 0, 0, 0);
        }
        // One batch, no lock renewal: a batch that outlasts its lock is redelivered, and the catalog keeps it exactly-once.
        var run = new SigningRun(new HeldMessages(signatureJobs, _options.Time, renew: false, _logger), _options.DecodeBesideForwardPass);
        var failure = "The worker was stopped before the job was signed";
        try
        {
            run.Held.Add(messages);
            var total = new SignatureRunResult(0, 0, 0, 0);
            foreach (var batch in await PrepareAllAsync(messages, run, cancellationToken).ConfigureAwait(false))
            {
                var turn = await EmbedAsync(batch, run, inference: null, committing: null, cancellationToken).ConfigureAwait(false);
                total += (await CommitAsync(turn, run, cancellationToken).ConfigureAwait(false)).Result;
            }
            return total;
        }
        catch (Exception e)
        {
            failure = e is OperationCanceledException ? failure : e.Message;
            throw;
        }
        finally
        {
            // An engine or storage failure, or cancellation, is not the jobs' fault: give back every job not yet
            // settled for another delivery.
            await run.Held.AbandonAllAsync(m => RecordLastDeliveryAsync(m, failure)).ConfigureAwait(false);
            await run.Held.DisposeAsync().ConfigureAwait(false);
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

    /// <summary>
    /// The producer: receive, prepare, hand over. An empty receive is handed over as an empty batch (the idle
    /// report) once per idle spell; only then does it long-poll, so the consumer hears of idleness at once.
    /// </summary>
    private async Task ProduceAsync(ChannelWriter<PreparedBatch> writer, SigningRun run, TimeSpan? idleReceiveWait, CancellationToken stopReceiving,
        CancellationToken cancellationToken)
    {
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(stopReceiving, cancellationToken);
        Exception? failure = null;
        try
        {
            var idle = false;
            while (!receiving.IsCancellationRequested)
            {
                IReadOnlyList<ReceivedMessage> messages;
                try
                {
                    messages = await signatureJobs.ReceiveAsync(_options.BatchSize, idle ? idleReceiveWait ?? TimeSpan.Zero : TimeSpan.Zero, receiving.Token)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopReceiving.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                if (messages.Count == 0)
                {
                    if (idleReceiveWait is null)
                    {
                        break;
                    }
                    if (!idle)
                    {
                        idle = true;
                        await writer.WriteAsync(PreparedBatch.Empty, cancellationToken).ConfigureAwait(false);
                    }
                    continue;
                }
                idle = false;
                run.Held.Add(messages);
                messages = await FillAsync(messages, run, receiving.Token).ConfigureAwait(false);
                foreach (var batch in await PrepareAllAsync(messages, run, cancellationToken).ConfigureAwait(false))
                {
                    run.Prepared(batch.Contents);
                    await writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            failure = e;
            throw;
        }
        finally
        {
            writer.TryComplete(failure is OperationCanceledException ? null : failure);
        }
    }

    /// <summary>
    /// Splits received jobs by the model they name into one batch per model (a forward pass runs one network), this
    /// host's own model first, and prepares each (<see cref="PrepareAsync"/>). Jobs naming a version that cannot sign
    /// (not registered, weights damaged) are dead-lettered with the reason, in a batch of their own that only reports them.
    /// Almost always every job is unversioned, or names one version being rolled out, so this is one batch.
    /// </summary>
    private async Task<IReadOnlyList<PreparedBatch>> PrepareAllAsync(IReadOnlyList<ReceivedMessage> messages, SigningRun run, CancellationToken cancellationToken)
    {
        // By signature version, not by instance: two networks computing the same version must share a batch, or one loop
        // could sign a content twice.
        var groups = new Dictionary<string, (ISignatureEmbedder Model, List<ReceivedMessage> Messages)>(StringComparer.Ordinal) { [embedder.ModelVersion] = (embedder, []) };
        var refused = new List<(ReceivedMessage Message, ModelVersionUnavailableException Reason)>();
        foreach (var message in messages)
        {
            var target = embedder;
            if (SignatureJob.TryParse(message) is { ModelVersion: { } version })
            {
                try
                {
                    target = await EmbedderOfAsync(version, cancellationToken).ConfigureAwait(false);
                }
                catch (ModelVersionUnavailableException e)
                {
                    refused.Add((message, e));
                    continue;
                }
            }
            if (!groups.TryGetValue(target.ModelVersion, out var group))
            {
                groups[target.ModelVersion] = group = (target, []);
            }
            group.Messages.Add(message);
        }
        var batches = new List<PreparedBatch>(groups.Count + 1);
        foreach (var (model, group) in groups.Values)
        {
            if (group.Count > 0)
            {
                batches.Add(await PrepareAsync(group, model, run, cancellationToken).ConfigureAwait(false));
            }
        }
        if (refused.Count > 0)
        {
            var batch = new PreparedBatch([.. refused.Select(r => r.Message)], _options.Time.GetUtcNow()) { Embedder = embedder, SeenCommits = run.Commits };
            foreach (var (message, reason) in refused)
            {
                _logger.LogWarning("Dead-lettered signature job {MessageId}: {Reason} ({Description})", message.MessageId, reason.ReasonCode, reason.Message);
                await run.Held.SettleAsync(message, m => signatureJobs.DeadLetterAsync(m, reason.ReasonCode, reason.Message, cancellationToken)).ConfigureAwait(false);
                batch.Failed++;
            }
            batches.Add(batch);
        }
        return batches;
    }

    /// <summary>The network of a version a job named: this host's own when it is that version.</summary>
    /// <exception cref="ModelVersionUnavailableException">The version cannot sign here.</exception>
    private Task<ISignatureEmbedder> EmbedderOfAsync(string modelVersion, CancellationToken cancellationToken) =>
        _options.ModelVersions?.GetAsync(modelVersion, cancellationToken)
        ?? (SignatureVersions.ModelOf(embedder.ModelVersion) == modelVersion
            ? Task.FromResult(embedder)
            : throw new ModelVersionUnavailableException("unknown-model-version", $"This host signs only {embedder.ModelVersion}, not model version '{modelVersion}'."));

    /// <summary>
    /// Settles what needs no forward pass (malformed, already signed, duplicate within the batch, derivative missing or
    /// not decodable) and preprocesses the rest into one input buffer, in the order of <see cref="PreparedBatch.Ready"/>.
    /// </summary>
    private async Task<PreparedBatch> PrepareAsync(IReadOnlyList<ReceivedMessage> messages, ISignatureEmbedder embedder, SigningRun run, CancellationToken cancellationToken)
    {
        var started = _options.Time.GetTimestamp();
        var batch = new PreparedBatch(messages, _options.Time.GetUtcNow()) { Embedder = embedder, SeenCommits = run.Commits };
        // The catalog lookups and derivative downloads of the batch's jobs go out together: against a remote store
        // they are round trips, and one after another they would cost more than the forward pass itself.
        var jobs = messages.Select(m => (Message: m, Job: SignatureJob.TryParse(m))).ToArray();
        var lookups = jobs.Select(j => j.Job is null ? null : LookUpAsync(j.Job, embedder, cancellationToken)).ToArray();
        await Task.WhenAll(lookups.OfType<Task<(bool Signed, byte[]? Derivative)>>()).ConfigureAwait(false);
        var inBatch = new HashSet<string>(StringComparer.Ordinal);
        var pending = new List<(ReceivedMessage Message, SignatureJob Job, byte[] Derivative)>();
        for (var i = 0; i < jobs.Length; i++)
        {
            var (message, job) = jobs[i];
            if (job is null)
            {
                await run.Held.SettleAsync(message, m => signatureJobs.DeadLetterAsync(m, "malformed-job", "The message is not a signature job.", cancellationToken))
                    .ConfigureAwait(false);
                batch.Failed++;
                continue;
            }
            batch.Trace(job);
            var (signed, derivative) = lookups[i]!.Result;
            if (!inBatch.Add(job.ContentHash) || signed)
            {
                await run.Held.SettleAsync(message, m => CompleteAsync(m, cancellationToken)).ConfigureAwait(false);
                batch.AlreadySigned++;
                continue;
            }
            if (derivative is null)
            {
                await FailAsync(run, message, job, embedder, "derivative-missing", $"The derivative {job.Derivative} is not in the store.", cancellationToken).ConfigureAwait(false);
                batch.Failed++;
                continue;
            }
            pending.Add((message, job, derivative));
        }

        var spec = embedder.Preprocessing;
        var stride = spec.ValuesPerImage;
        batch.Inputs = new float[pending.Count * stride];
        IReadOnlyList<PreprocessResult> results = [];
        if (pending.Count > 0)
        {
            // Taking turns, the wait for the cores is the forward pass itself: not part of the preparation's time.
            var waitStarted = _options.Time.GetTimestamp();
            await run.Cores.WaitAsync(cancellationToken).ConfigureAwait(false);
            started += _options.Time.GetTimestamp() - waitStarted;
            try
            {
                results = ImageCodec.PreprocessBatch(pending.Select(p => (ReadOnlyMemory<byte>)p.Derivative).ToArray(), spec, batch.Inputs,
                    _options.PreprocessThreads, _options.Limits, cancellationToken);
            }
            finally
            {
                run.Cores.Release();
            }
        }
        for (var i = 0; i < pending.Count; i++)
        {
            var (message, job, _) = pending[i];
            if (!results[i].Succeeded)
            {
                await FailAsync(run, message, job, embedder, results[i].Rejection!.Value.Code(), results[i].Message ?? "Preprocessing failed.", cancellationToken).ConfigureAwait(false);
                batch.Failed++;
                continue;
            }
            // Close the gaps left by failed images so the forward pass sees only good ones.
            batch.Inputs.AsSpan(i * stride, stride).CopyTo(batch.Inputs.AsSpan(batch.Ready.Count * stride, stride));
            batch.Ready.Add((message, job));
        }
        batch.PrepareTime = _options.Time.GetElapsedTime(started);
        return batch;
    }

    /// <summary>
    /// The consumer's turn with a batch: settle what an earlier batch of this run signed after this one's lookups, then
    /// embed the rest in one forward pass. Its commit is <see cref="CommitAsync"/>, run while the next batch takes its turn.
    /// </summary>
    /// <param name="batch">The batch, prepared; returned with its <see cref="PreparedBatch.Ready"/> jobs embedded.</param>
    /// <param name="run">The loop's held messages and recent commits.</param>
    /// <param name="inference">The loop's inference thread; null: embed on the calling thread.</param>
    /// <param name="committing">The contents of the previous batch's commit, if it is still under way: jobs for them are
    /// not embedded again but ride on that commit (completed by this batch's commit, which starts after it ended).</param>
    /// <param name="cancellationToken">Stops the turn before its forward pass; a forward pass under way runs to its end.</param>
    private async Task<PreparedBatch> EmbedAsync(PreparedBatch batch, SigningRun run, InferenceThread? inference, IReadOnlySet<string>? committing,
        CancellationToken cancellationToken)
    {
        batch.TurnStarted = _options.Time.GetTimestamp();
        // Started here, ended by the commit: the batch's activity spans its forward pass and its commit. An async method
        // keeps Activity.Current to itself, so the next batch's activity is not made a child of this one.
        batch.Activity = batch.StartActivity(_options.ActivitySource);
        var embedder = batch.Embedder;
        try
        {
            var stride = embedder.Preprocessing.ValuesPerImage;
            var ready = new List<(ReceivedMessage Message, SignatureJob Job)>(batch.Ready.Count);
            for (var i = 0; i < batch.Ready.Count; i++)
            {
                var (message, job) = batch.Ready[i];
                if (committing?.Contains(SigningRun.Key(embedder, job.ContentHash)) == true)
                {
                    // Completed only once that commit has recorded the content: if it fails, this job is given back too.
                    batch.Riders.Add(message);
                    continue;
                }
                // Content an earlier batch of this run committed after this batch's lookups is signed already.
                if (run.CommittedSince(batch.SeenCommits, SigningRun.Key(embedder, job.ContentHash)) ??
                    await catalog.GetSignatureAsync(embedder.ModelVersion, job.ContentHash, cancellationToken).ConfigureAwait(false) is not null)
                {
                    await run.Held.SettleAsync(message, m => CompleteAsync(m, cancellationToken)).ConfigureAwait(false);
                    batch.AlreadySigned++;
                    continue;
                }
                batch.Inputs.AsSpan(i * stride, stride).CopyTo(batch.Inputs.AsSpan(ready.Count * stride, stride));
                ready.Add((message, job));
            }
            batch.Ready.Clear();
            batch.Ready.AddRange(ready);
            if (ready.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var signatures = new float[ready.Count * embedder.Dimension];
                var inputs = batch.Inputs;
                await run.Cores.WaitAsync(cancellationToken).ConfigureAwait(false);
                var embedStarted = _options.Time.GetTimestamp();
                try
                {
                    if (inference is null)
                    {
                        embedder.Embed(inputs.AsSpan(0, ready.Count * stride), ready.Count, signatures);
                    }
                    else
                    {
                        await inference.RunAsync(() =>
                        {
                            embedder.Embed(inputs.AsSpan(0, ready.Count * stride), ready.Count, signatures);
                            return true;
                        }, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    run.Cores.Release();
                }
                batch.EmbedTime = _options.Time.GetElapsedTime(embedStarted);
                batch.Signatures = signatures;
                // The preprocessed inputs are done with: the commit only needs the signatures.
                batch.Inputs = [];
            }
            return batch;
        }
        catch (Exception e)
        {
            batch.Activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            batch.Activity?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The commit of a batch that had its turn: write the shard, record it in the catalog, complete its jobs and its
    /// riders. The order is what makes a crash harmless: a shard without catalog entries is an orphan the sweep removes,
    /// and a job recorded but not completed is redelivered, found signed, and completed without work. A rider is
    /// completed here, after the commit before this one recorded its content (commits run one at a time, in order).
    /// </summary>
    private async Task<SignatureBatchReport> CommitAsync(PreparedBatch batch, SigningRun run, CancellationToken cancellationToken)
    {
        // Yield first: the caller goes on to the next batch's forward pass while the commit's I/O runs.
        await Task.Yield();
        var started = _options.Time.GetTimestamp();
        var activity = batch.Activity;
        var embedder = batch.Embedder;
        if (activity is not null)
        {
            // The commit's storage calls belong to the batch's activity (this async method keeps the change to itself).
            Activity.Current = activity;
        }
        try
        {
            var ready = batch.Ready;
            if (ready.Count > 0)
            {
                var dimension = embedder.Dimension;
                var shard = $"{CollectionBlobs.SignatureShards(embedder.ModelVersion)}{Guid.NewGuid():N}.npy";
                var metadata = new Dictionary<string, string> { ["rows"] = ready.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                try
                {
                    await blobs.PutAsync(shard, new MemoryStream(NpyFile.Encode(batch.Signatures, ready.Count, dimension, embedder.Parts), writable: false),
                        new BlobPutOptions { ContentType = "application/octet-stream", Metadata = metadata, Conditions = BlobConditions.CreateOnly }, cancellationToken).ConfigureAwait(false);
                }
                catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
                {
                    // The name is a new GUID, so the blob is this put's own: a retry after an attempt that was stored but
                    // whose answer was lost (a put is atomic, so the blob is whole).
                }
                await catalog.AddSignaturesAsync(ready.Select((p, row) => new SignatureLocation(embedder.ModelVersion, p.Job.ContentHash, shard, row)).ToArray(),
                    cancellationToken).ConfigureAwait(false);
                // Remembered before the completions: from here on a later batch's lookups may miss nothing of it.
                run.Committed(ready.Select(p => SigningRun.Key(embedder, p.Job.ContentHash)));
            }
            await Task.WhenAll(ready.Select(p => p.Message).Concat(batch.Riders)
                .Select(m => run.Held.SettleAsync(m, latest => CompleteAsync(latest, cancellationToken)))).ConfigureAwait(false);
            var result = new SignatureRunResult(batch.Messages.Count, ready.Count, batch.AlreadySigned + batch.Riders.Count, batch.Failed);
            activity?.SetTag("motif.jobs", batch.Messages.Count);
            activity?.SetTag("motif.signed", ready.Count);
            var ended = _options.Time.GetTimestamp();
            return new SignatureBatchReport(result, batch.QueueWait, batch.PrepareTime, batch.EmbedTime, _options.Time.GetElapsedTime(batch.TurnStarted, ended))
            {
                TraceId = activity?.TraceId.ToString(),
                InputWait = batch.InputWait,
                CommitTime = _options.Time.GetElapsedTime(started, ended),
            };
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
        finally
        {
            activity?.Dispose();
        }
    }

    /// <summary>
    /// Before a message on its last delivery is abandoned (the queue then dead-letters it with only
    /// MaxDeliveryCountExceeded), records why in the catalog, so the report shows it and it is not queued again.
    /// Best effort, briefly: the store may be what failed.
    /// </summary>
    private async Task RecordLastDeliveryAsync(ReceivedMessage message, string reason)
    {
        if (message.DeliveryCount < signatureJobs.Options.MaxDeliveryCount || SignatureJob.TryParse(message) is not { } job)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var model = job.ModelVersion is { } version ? await EmbedderOfAsync(version, timeout.Token).ConfigureAwait(false) : embedder;
            if (await catalog.GetSignatureAsync(model.ModelVersion, job.ContentHash, timeout.Token).ConfigureAwait(false) is null)
            {
                await catalog.RecordSignatureFailureAsync(model.ModelVersion, job.ContentHash, "max-deliveries",
                    $"Delivery {message.DeliveryCount} of {signatureJobs.Options.MaxDeliveryCount} failed: {reason}", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _logger.LogWarning("Could not record the last failed delivery of {ImageId}: {Message}", job.ImageId, e.Message);
        }
    }

    private async Task FailAsync(SigningRun run, ReceivedMessage message, SignatureJob job, ISignatureEmbedder embedder, string reasonCode, string description,
        CancellationToken cancellationToken)
    {
        _logger.LogWarning("No signature for {ImageId}: {Reason} ({Description})", job.ImageId, reasonCode, description);
        await catalog.RecordSignatureFailureAsync(embedder.ModelVersion, job.ContentHash, reasonCode, description, cancellationToken).ConfigureAwait(false);
        await run.Held.SettleAsync(message, m => signatureJobs.DeadLetterAsync(m, reasonCode, description, cancellationToken)).ConfigureAwait(false);
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
    private async Task<(bool Signed, byte[]? Derivative)> LookUpAsync(SignatureJob job, ISignatureEmbedder embedder, CancellationToken cancellationToken)
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

    /// <summary>The per-batch results of <see cref="ProcessAllAsync"/>'s progress, idle reports left out.</summary>
    private sealed class BatchResults(IProgress<SignatureRunResult> results) : IProgress<SignatureBatchReport>
    {
        public void Report(SignatureBatchReport value)
        {
            if (!value.QueueIdle)
            {
                results.Report(value.Result);
            }
        }
    }
}
