using System.Text.Json;
using Microsoft.Extensions.Logging;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Cli.Dev;

/// <summary>
/// <c>motif dev</c>'s stand-in for Event Grid's BlobCreated subscription: Azurite emits no events, so the uploads
/// container is listed every <see cref="Interval"/> and each new or rewritten blob (a name with an ETag not seen yet)
/// is handed to the IngestImage function, a few at a time. At most one interval late, like an event.
/// </summary>
/// <remarks>
/// Delivery is at least once, as Event Grid's is: after a restart every blob is handed over again, which IngestImage
/// absorbs (same content, no new record or job). An invocation that throws is retried on later passes, as the Functions
/// host retries a failed blob trigger; after <see cref="MaxAttempts"/> the blob is poison: a dead-letter record with the
/// last error goes to <c>deadletters/uploads/</c> in the pipeline's store and the blob is not tried again.
/// </remarks>
internal sealed class UploadWatcher(IBlobStore uploads, IBlobStore store, Func<string, CancellationToken, Task> ingest, int parallelism, ILogger logger)
{
    public const int MaxAttempts = 5;

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, string> _done = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);

    /// <summary>Blobs handed to IngestImage so far (successful invocations).</summary>
    public int Invocations { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await PassAsync(cancellationToken);
            }
            catch (Exception e) when (e is BlobStoreException or IOException or HttpRequestException)
            {
                // Azurite restarting, say: the next pass picks up where this one stopped.
                logger.LogWarning("Listing the uploads failed: {Message}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    /// <summary>One listing of the uploads container and the invocations it calls for.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        var fresh = new List<BlobProperties>();
        await foreach (var blob in uploads.ListAllAsync("", cancellationToken))
        {
            if (!(_done.TryGetValue(blob.Name, out var etag) && etag == blob.ETag))
            {
                fresh.Add(blob);
            }
        }

        await Parallel.ForEachAsync(fresh, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (blob, ct) =>
        {
            try
            {
                await ingest(blob.Name, ct);
                lock (_done)
                {
                    _done[blob.Name] = blob.ETag;
                    Invocations++;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                int attempts;
                lock (_done)
                {
                    attempts = _attempts[blob.Name] = _attempts.GetValueOrDefault(blob.Name) + 1;
                }
                logger.LogWarning("IngestImage failed for {Blob} (attempt {Attempt} of {Max}): {Message}", blob.Name, attempts, MaxAttempts, e.Message);
                if (attempts >= MaxAttempts)
                {
                    await DeadLetterAsync(blob, attempts, e, ct);
                    lock (_done)
                    {
                        _done[blob.Name] = blob.ETag;
                    }
                }
            }
        });
    }

    private async Task DeadLetterAsync(BlobProperties blob, int attempts, Exception error, CancellationToken cancellationToken)
    {
        var record = JsonSerializer.SerializeToUtf8Bytes(new { blob = blob.Name, etag = blob.ETag, attempts, reason = "ingest-failed", message = error.Message, at = DateTimeOffset.UtcNow },
            new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
        await store.PutAsync($"deadletters/uploads/{CollectionBlobs.KeyOf(blob.Name)}.json", new MemoryStream(record), new BlobPutOptions { ContentType = "application/json" }, cancellationToken);
        logger.LogError("{Blob} is poison after {Attempts} attempts; its dead-letter record is in deadletters/uploads/.", blob.Name, attempts);
    }
}
