using Motif.Imaging;
using Motif.Storage.Queues;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>
/// SignatureService's overlapped loop: batch N+1 is prepared while batch N is in the forward pass, and still every
/// job is signed once, every lock is kept while a job waits, and every unsettled job is given back on cancellation.
/// </summary>
public sealed class SignatureLoopTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly PipelineFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Overlap_prepares_the_next_batch_during_the_forward_pass_and_signs_every_content_once()
    {
        var queue = new CountingQueue(_f.Jobs);
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        // Batches of two: (img0, img1), (img0 again, img2), (img3, img4), (img0 again). The second copy of img0 is looked
        // up while the first is still in the forward pass (a redelivery after a crash, a resend), the third long after.
        async Task Resend(string imageId)
        {
            var record = await _f.Catalog.GetImageAsync(imageId);
            await _f.Jobs.SendAsync(new SignatureJob(imageId, record!.ContentHash!, CollectionBlobs.Derivative(record.ContentHash!)).ToMessage());
        }
        for (var i = 0; i < 5; i++)
        {
            await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.Jpeg(90 + 7 * i, 64));
            if (i == 1)
            {
                await Resend("img0.jpg");
            }
        }
        await Resend("img0.jpg");

        var overlapped = false;
        var embedder = new HookedEmbedder(_f.Embedder, call =>
        {
            // The first forward pass waits until the producer has prepared the next batch and received the one after:
            // it only can if it overlaps.
            if (call == 1)
            {
                overlapped = SpinWait.SpinUntil(() => queue.NonEmptyReceives >= 3, Deadline);
            }
        });
        var service = new SignatureService(_f.Blobs, _f.Catalog, queue, embedder, new SignatureServiceOptions { BatchSize = 2, PreprocessThreads = 2 });

        var result = await service.ProcessAllAsync();

        Assert.True(overlapped, "Batch 2 was not received while batch 1 was in the forward pass.");
        Assert.Equal((7, 5, 2, 0), (result.Received, result.Signed, result.AlreadySigned, result.Failed));
        Assert.Equal(5, embedder.Rows);
        Assert.Equal(5, (await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion)).Count);
        Assert.Equal(0, _f.Jobs.Count());
        Assert.Empty(await _f.Jobs.PeekDeadLetteredAsync(10));
    }

    [Fact]
    public async Task A_receive_that_gets_less_than_a_batch_waits_a_little_to_fill_it()
    {
        var ingest = new IngestService(_f.Blobs, _f.Catalog, _f.Jobs, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        await ingest.IngestAsync("first.jpg", null, ImageFixtures.Jpeg(96, 64));
        var service = new SignatureService(_f.Blobs, _f.Catalog, _f.Jobs, _f.Embedder,
            new SignatureServiceOptions { BatchSize = 4, PreprocessThreads = 2, BatchFillWait = TimeSpan.FromSeconds(10) });
        var batches = new List<SignatureBatchReport>();
        using var stop = new CancellationTokenSource();
        var run = service.RunAsync(TimeSpan.FromSeconds(1), new Collect(batches), stopReceiving: stop.Token);

        // Jobs trickle in after the first was received, as uploads are taken in one at a time.
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(200);
            await ingest.IngestAsync($"later{i}.jpg", null, ImageFixtures.Jpeg(100 + i, 64));
        }
        Assert.True(SpinWait.SpinUntil(() => { lock (batches) { return batches.Any(b => b.Result.Signed > 0); } }, Deadline));
        await stop.CancelAsync();
        await run;

        // One forward pass of four, not four of one: the batch filled before the ten seconds were up.
        lock (batches)
        {
            Assert.Equal(4, batches.First(b => b.Result.Received > 0).Result.Signed);
        }
        Assert.Equal(1, _f.Embedder.Calls);
    }

    [Fact]
    public async Task Jobs_for_content_already_in_the_batch_do_not_leave_the_forward_pass_short()
    {
        // Two uploads of each of four files, queued side by side (a collection with duplicate files): eight jobs for four
        // contents. Received four at a time, the first batch would hold two contents and cost a whole forward pass.
        var ingest = new IngestService(_f.Blobs, _f.Catalog, _f.Jobs, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        for (var i = 0; i < 4; i++)
        {
            var photo = ImageFixtures.Jpeg(90 + 7 * i, 64);
            await ingest.IngestAsync($"a{i}.jpg", null, photo);
            await ingest.IngestAsync($"b{i}.jpg", null, photo);
        }
        var service = new SignatureService(_f.Blobs, _f.Catalog, _f.Jobs, _f.Embedder, new SignatureServiceOptions { BatchSize = 4, PreprocessThreads = 2 });
        var batches = new List<SignatureBatchReport>();

        var result = await service.RunAsync(idleReceiveWait: null, new Collect(batches));

        Assert.Equal((8, 4, 4, 0), (result.Received, result.Signed, result.AlreadySigned, result.Failed));
        // One forward pass of four contents, not two of two.
        Assert.Equal(1, _f.Embedder.Calls);
        Assert.Equal(0, _f.Jobs.Count());
        Assert.Empty(await _f.Jobs.PeekDeadLetteredAsync(10));
    }

    private sealed class Collect(List<SignatureBatchReport> batches) : IProgress<SignatureBatchReport>
    {
        public void Report(SignatureBatchReport value)
        {
            lock (batches)
            {
                batches.Add(value);
            }
        }
    }

    [Fact]
    public async Task Locks_are_renewed_while_jobs_wait_for_a_slow_forward_pass()
    {
        var options = new WorkQueueOptions { LockDuration = TimeSpan.FromMilliseconds(1500), MaxDeliveryCount = 3 };
        using var queue = _f.OpenQueue("slow", options);
        using var rival = _f.OpenQueue("slow", options);
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        await ingest.IngestAsync("a.jpg", null, ImageFixtures.Jpeg(96, 64));
        await ingest.IngestAsync("b.jpg", null, ImageFixtures.Jpeg(97, 64));

        // The first forward pass outlasts two lock durations while the second job waits its turn in the channel;
        // meanwhile another consumer tries to take the jobs.
        var stolen = 0;
        var embedder = new HookedEmbedder(_f.Embedder, call =>
        {
            for (var i = 0; i < (call == 1 ? 4 : 0); i++)
            {
                Thread.Sleep(options.LockDuration / 2);
                stolen += rival.ReceiveAsync(10).GetAwaiter().GetResult().Count;
            }
        });
        var service = new SignatureService(_f.Blobs, _f.Catalog, queue, embedder, new SignatureServiceOptions { BatchSize = 1, PreprocessThreads = 1 });

        var result = await service.ProcessAllAsync();

        Assert.Equal(0, stolen);
        // A lapsed lock would show as a redelivery found already signed, or as a duplicate signature.
        Assert.Equal((2, 2, 0, 0), (result.Received, result.Signed, result.AlreadySigned, result.Failed));
        Assert.Equal(2, embedder.Rows);
        Assert.Equal(0, queue.Count());
    }

    [Fact]
    public async Task Cancellation_mid_pipeline_abandons_every_unsettled_job_at_once()
    {
        using var queue = _f.OpenQueue("cancel", new WorkQueueOptions { LockDuration = TimeSpan.FromMinutes(1), MaxDeliveryCount = 5 });
        var counting = new CountingQueue(queue);
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        for (var i = 0; i < 4; i++)
        {
            await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.Jpeg(90 + 7 * i, 64));
        }
        using var release = new ManualResetEventSlim();
        using var cancel = new CancellationTokenSource();
        var embedder = new HookedEmbedder(_f.Embedder, _ => release.Wait(Deadline));
        var service = new SignatureService(_f.Blobs, _f.Catalog, counting, embedder, new SignatureServiceOptions { BatchSize = 1, PreprocessThreads = 1 });

        var run = service.RunAsync(TimeSpan.FromSeconds(30), cancellationToken: cancel.Token);
        // Batch 1 in the forward pass, batch 2 prepared in the channel, batch 3 prepared and waiting to enter it.
        Assert.True(SpinWait.SpinUntil(() => counting.NonEmptyReceives >= 3 && embedder.Calls >= 1, Deadline));
        await cancel.CancelAsync();
        release.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        // Nothing waits for its one-minute lock: what was not signed and completed is receivable now.
        var signed = (await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion)).Count;
        var back = await queue.ReceiveAsync(10);
        Assert.Equal(4, signed + back.Count);
        Assert.Equal(back.Count, queue.Count());
        Assert.True(back.Count >= 3);
    }

    [Fact]
    public async Task Stopping_finishes_the_batch_in_the_forward_pass_and_gives_back_the_prepared_one()
    {
        using var queue = _f.OpenQueue("stop", new WorkQueueOptions { LockDuration = TimeSpan.FromMinutes(1), MaxDeliveryCount = 5 });
        var counting = new CountingQueue(queue);
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        for (var i = 0; i < 3; i++)
        {
            await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.Jpeg(90 + 7 * i, 64));
        }
        using var release = new ManualResetEventSlim();
        using var stop = new CancellationTokenSource();
        var embedder = new HookedEmbedder(_f.Embedder, _ => release.Wait(Deadline));
        var service = new SignatureService(_f.Blobs, _f.Catalog, counting, embedder, new SignatureServiceOptions { BatchSize = 1, PreprocessThreads = 1 });

        var run = service.RunAsync(TimeSpan.FromSeconds(30), stopReceiving: stop.Token);
        Assert.True(SpinWait.SpinUntil(() => counting.NonEmptyReceives >= 2 && embedder.Calls >= 1, Deadline));
        await stop.CancelAsync();
        release.Set();
        var result = await run;

        Assert.Equal(1, result.Signed);
        Assert.Single(await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion));
        Assert.Equal(2, (await queue.ReceiveAsync(10)).Count);
    }

    [Fact]
    public async Task The_next_forward_pass_runs_while_the_previous_batch_commits_and_reports_stay_in_order()
    {
        var secondForward = new ManualResetEventSlim();
        var embedder = new HookedEmbedder(_f.Embedder, call =>
        {
            if (call == 2)
            {
                secondForward.Set();
            }
        });
        // The first shard write is held until the second forward pass has started: the loop only gets there if the
        // forward pass does not wait for the commit before it.
        var overlapped = false;
        var shardPrefix = CollectionBlobs.SignatureShards(_f.Embedder.ModelVersion);
        var blobs = new InterceptedBlobStore(_f.Blobs, OnceForShards(shardPrefix, () => Task.Run(() => overlapped = secondForward.Wait(Deadline))));
        await IngestAsync(_f.Jobs, 4);
        var batches = new List<SignatureBatchReport>();
        var service = new SignatureService(blobs, _f.Catalog, _f.Jobs, embedder, new SignatureServiceOptions { BatchSize = 2, PreprocessThreads = 1 });

        var result = await service.RunAsync(idleReceiveWait: null, new Collect(batches));

        Assert.True(overlapped, "The second forward pass did not start while the first batch's shard was being written.");
        Assert.Equal((4, 4, 0, 0), (result.Received, result.Signed, result.AlreadySigned, result.Failed));
        Assert.Equal(4, (await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion)).Count);
        Assert.Equal(0, _f.Jobs.Count());
        // One report per batch, in batch order, each after its own commit: the first one's commit waited for the second
        // forward pass, so it ended after that pass began.
        lock (batches)
        {
            Assert.Equal([2, 2], batches.Select(b => b.Result.Signed));
            Assert.All(batches, b => Assert.True(b.SignTime >= b.EmbedTime + b.CommitTime));
        }
    }

    [Fact]
    public async Task A_commit_that_fails_behind_the_next_forward_pass_gives_back_every_job_and_a_rerun_signs_each_content_once()
    {
        using var queue = _f.OpenQueue("failed-commit", new WorkQueueOptions { LockDuration = TimeSpan.FromMinutes(1), MaxDeliveryCount = 5 });
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        // Batches of two: (img0, img1), (img0 again, img2), (img3). The second img0 is looked up before the first batch's
        // commit and checked at its turn while that commit is under way: it rides on it instead of being embedded again.
        for (var i = 0; i < 4; i++)
        {
            await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.Jpeg(90 + 7 * i, 64));
            if (i == 1)
            {
                var record = await _f.Catalog.GetImageAsync("img0.jpg");
                await queue.SendAsync(new SignatureJob("img0.jpg", record!.ContentHash!, CollectionBlobs.Derivative(record.ContentHash!)).ToMessage());
            }
        }
        var secondForward = new ManualResetEventSlim();
        var embedder = new HookedEmbedder(_f.Embedder, call =>
        {
            if (call == 2)
            {
                secondForward.Set();
            }
        });
        var shardPrefix = CollectionBlobs.SignatureShards(_f.Embedder.ModelVersion);
        var failing = new InterceptedBlobStore(_f.Blobs, OnceForShards(shardPrefix, async () =>
        {
            Assert.True(await Task.Run(() => secondForward.Wait(Deadline)));
            throw new IOException("The store went away mid-commit.");
        }));
        var service = new SignatureService(failing, _f.Catalog, queue, embedder, new SignatureServiceOptions { BatchSize = 2, PreprocessThreads = 1 });

        var failure = await Assert.ThrowsAsync<IOException>(() => service.RunAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("mid-commit", failure.Message, StringComparison.Ordinal);
        Assert.Empty(await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion));
        // Nothing was completed, the rider included, and nothing waits for its one-minute lock.
        Assert.Equal(5, queue.Count());
        var back = await queue.ReceiveAsync(10);
        Assert.Equal(5, back.Count);
        foreach (var message in back)
        {
            await queue.AbandonAsync(message);
        }
        Assert.Empty(await queue.PeekDeadLetteredAsync(10));

        var rerun = await new SignatureService(_f.Blobs, _f.Catalog, queue, _f.Embedder, new SignatureServiceOptions { BatchSize = 2, PreprocessThreads = 1 })
            .ProcessAllAsync();

        Assert.Equal((5, 4, 1, 0), (rerun.Received, rerun.Signed, rerun.AlreadySigned, rerun.Failed));
        Assert.Equal(4, (await _f.Catalog.ListSignedAsync(_f.Embedder.ModelVersion)).Count);
        Assert.Equal(0, queue.Count());
    }

    /// <summary>A blob hook that runs <paramref name="action"/> before the first signature shard write only.</summary>
    private static Func<string, Task> OnceForShards(string shardPrefix, Func<Task> action)
    {
        var once = InterceptedBlobStore.Once(action);
        return name => name.StartsWith(shardPrefix, StringComparison.Ordinal) ? once(name) : Task.CompletedTask;
    }

    private async Task IngestAsync(IWorkQueue queue, int count)
    {
        var ingest = new IngestService(_f.Blobs, _f.Catalog, queue, new IngestOptions { ModelVersion = _f.Embedder.ModelVersion, DerivativeSide = 128, ThumbnailSide = 32 });
        for (var i = 0; i < count; i++)
        {
            await ingest.IngestAsync($"img{i}.jpg", null, ImageFixtures.Jpeg(90 + 7 * i, 64));
        }
    }

    /// <summary>Counts receives that returned messages.</summary>
    private sealed class CountingQueue(IWorkQueue inner) : IWorkQueue
    {
        private int _nonEmpty;

        public int NonEmptyReceives => Volatile.Read(ref _nonEmpty);

        public WorkQueueOptions Options => inner.Options;

        public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages, TimeSpan maxWait = default, CancellationToken cancellationToken = default)
        {
            var received = await inner.ReceiveAsync(maxMessages, maxWait, cancellationToken);
            if (received.Count > 0)
            {
                Interlocked.Increment(ref _nonEmpty);
            }
            return received;
        }

        public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => inner.SendAsync(message, cancellationToken);

        public Task SendBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) => inner.SendBatchAsync(messages, cancellationToken);

        public Task CompleteAsync(ReceivedMessage message, CancellationToken cancellationToken = default) => inner.CompleteAsync(message, cancellationToken);

        public Task AbandonAsync(ReceivedMessage message, CancellationToken cancellationToken = default) => inner.AbandonAsync(message, cancellationToken);

        public Task<ReceivedMessage> RenewLockAsync(ReceivedMessage message, CancellationToken cancellationToken = default) => inner.RenewLockAsync(message, cancellationToken);

        public Task DeadLetterAsync(ReceivedMessage message, string reason, string? description = null, CancellationToken cancellationToken = default) =>
            inner.DeadLetterAsync(message, reason, description, cancellationToken);

        public Task<IReadOnlyList<DeadLetteredMessage>> PeekDeadLetteredAsync(int maxMessages, long fromSequenceNumber = 0, CancellationToken cancellationToken = default) =>
            inner.PeekDeadLetteredAsync(maxMessages, fromSequenceNumber, cancellationToken);
    }

    /// <summary>The thumbnail embedder with a hook run before each forward pass (given the call's number, from 1).</summary>
    private sealed class HookedEmbedder(ThumbnailEmbedder inner, Action<int> beforeEmbed) : ISignatureEmbedder
    {
        private int _calls;
        private int _rows;

        public int Calls => Volatile.Read(ref _calls);

        public int Rows => Volatile.Read(ref _rows);

        public string ModelVersion => inner.ModelVersion;

        public PreprocessSpec Preprocessing => inner.Preprocessing;

        public int Dimension => inner.Dimension;

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures)
        {
            beforeEmbed(Interlocked.Increment(ref _calls));
            Interlocked.Add(ref _rows, count);
            inner.Embed(images, count, signatures);
        }
    }
}
