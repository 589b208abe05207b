using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;
using Motif.Storage.Tests;
using Motif.Testing;

namespace Motif.Worker.Tests;

/// <summary>
/// The worker process end to end on an embedded workspace (and once on Azurite): jobs in, signatures and the stored
/// graph out; SIGTERM and kill -9 mid-batch lose and duplicate nothing; HTTP status codes and shapes; ordinary
/// start failures are one line. The test side reaches the workspace through the same composition the worker uses.
/// </summary>
public sealed class WorkerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Workspace => _folder.Combine("workspace");

    private Dictionary<string, string?> Embedded(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Motif__Storage"] = "embedded", ["Motif__Workspace"] = Workspace };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }


    private static async Task IngestAsync(ServiceProvider services, int count, string prefix = "img")
    {
        var ingest = services.GetRequiredService<IngestService>();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync($"{prefix}{i}.jpg", null, ImageFixtures.Jpeg(96 + 5 * i, 72)));
        }
    }

    private static async Task<int> SignedAsync(ServiceProvider services) =>
        (await services.GetRequiredService<IImageCatalog>().ListSignedAsync(MotifPipelineOptions.DefaultModelVersion)).Count;


    [Fact]
    public async Task Signs_jobs_once_updates_the_graph_carries_the_trace_and_answers_http()
    {
        var settings = Embedded(("Motif__Worker__MaxSearchBytes", "1048576"));
        await using var services = WorkerSettings.Compose(settings);
        var photo = TestData.Photo("coffee.png");
        var ingest = services.GetRequiredService<IngestService>();
        Assert.Equal(IngestOutcome.Accepted, await ingest.IngestAsync("coffee.png", null, photo));
        await IngestAsync(services, 2);
        // The same job twice more (a resend, a redelivery), one of them carrying an upload's trace.
        var hash = Motif.Core.ContentHash.Of(photo).Hex;
        var queue = services.GetRequiredService<IWorkQueue>();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        await queue.SendAsync(new SignatureJob("coffee.png", hash, CollectionBlobs.Derivative(hash), $"00-{traceId}-00f067aa0ba902b7-01").ToMessage());
        await queue.SendAsync(new SignatureJob("coffee.png", hash, CollectionBlobs.Derivative(hash)).ToMessage());

        await using var worker = WorkerProcess.Start(settings);
        await worker.WaitUntilReadyAsync(Deadline);
        var sqliteQueue = services.GetRequiredService<SqliteWorkQueue>();
        await WorkerSettings.PollAsync(async () => await SignedAsync(services) == 3 && sqliteQueue.Count() == 0, "3 signatures, queue drained", Deadline);
        var graph = NeighbourGraphStore.BlobName(MotifPipelineOptions.DefaultModelVersion, MotifPipelineOptions.DefaultClustering.MaxEps!.Value);
        var blobs = services.GetRequiredService<IBlobStore>();
        await WorkerSettings.PollAsync(async () => await blobs.GetPropertiesAsync(graph) is not null, "the stored graph", Deadline);
        await worker.WaitForOutputAsync(l => l.Contains("Neighbour graph updated: 3 rows", StringComparison.Ordinal), Deadline);
        await worker.WaitForOutputAsync(l => l.Contains(traceId, StringComparison.Ordinal), Deadline);
        Assert.Equal(3, await SignedAsync(services));
        Assert.Empty(await queue.PeekDeadLetteredAsync(10));

        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/healthz")).StatusCode);
        var ready = await worker.Http.GetFromJsonAsync<JsonElement>("/readyz");
        Assert.Equal(MotifPipelineOptions.DefaultModelVersion, ready.GetProperty("model").GetString());

        var search = await worker.Http.PostAsync("/search?k=2", new ByteArrayContent(ImageFixtures.Variant(photo, 0.9, (1, 1, 1))));
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        var found = await search.Content.ReadFromJsonAsync<JsonElement>();
        var results = found.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(2, results.Length);
        Assert.Equal("coffee.png", results[0].GetProperty("imageId").GetString());
        Assert.InRange(results[0].GetProperty("distance").GetDouble(), 0, 0.13);
        Assert.Equal(3, found.GetProperty("signatures").GetInt32());

        Assert.Equal(HttpStatusCode.BadRequest, (await worker.Http.PostAsync("/search?k=0", new ByteArrayContent(photo))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await worker.Http.PostAsync("/search?k=101", new ByteArrayContent(photo))).StatusCode);
        var junk = await worker.Http.PostAsync("/search", new ByteArrayContent("not an image"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, junk.StatusCode);
        Assert.Equal("unknown-format", (await junk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        // A client that announces a large body waits for the go-ahead (Expect: 100-continue), as a well-behaved uploader
        // does: the worker refuses it from Content-Length alone, so the 2 MB are never sent. Sent blind, they race
        // Kestrel closing the connection after the 413, and the client may see a broken pipe instead of the answer.
        using var tooLarge = new HttpRequestMessage(HttpMethod.Post, "/search") { Content = new ByteArrayContent(new byte[2 * 1024 * 1024]) };
        tooLarge.Headers.ExpectContinue = true;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await worker.Http.SendAsync(tooLarge)).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await worker.Http.GetAsync("/search")).StatusCode);
    }

    [Fact]
    public async Task Sigterm_mid_batch_exits_in_the_grace_period_and_a_restart_signs_the_rest_once()
    {
        var settings = Embedded();
        await using var services = WorkerSettings.Compose(settings);
        await IngestAsync(services, 8);
        var queue = services.GetRequiredService<SqliteWorkQueue>();

        await using (var worker = WorkerProcess.Start(settings))
        {
            await worker.WaitForOutputAsync(l => l.Contains("Batch: ", StringComparison.Ordinal), Deadline);
            var stopped = DateTime.UtcNow;
            worker.Terminate();
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(15 + 5)), "The worker outlived its grace period.");
            Assert.Equal(0, worker.ExitCode);
            Assert.InRange(DateTime.UtcNow - stopped, TimeSpan.Zero, TimeSpan.FromSeconds(15 + 5));
        }
        // Every job is signed or back in the queue, receivable now (abandoned, not waiting out a lock).
        var signed = await SignedAsync(services);
        Assert.InRange(signed, 2, 8);
        Assert.Equal(8 - signed, queue.Count());
        var back = await queue.ReceiveAsync(10);
        Assert.Equal(8 - signed, back.Count);
        foreach (var message in back)
        {
            await queue.AbandonAsync(message);
        }

        await using (var worker = WorkerProcess.Start(settings))
        {
            await WorkerSettings.PollAsync(async () => await SignedAsync(services) == 8 && queue.Count() == 0, "8 signatures after the restart", Deadline);
        }
        await AssertSignedOnceAsync(services, 8);
    }

    [Fact]
    public async Task Kill_9_mid_batch_and_a_restart_lose_and_duplicate_nothing()
    {
        var settings = Embedded();
        await using var services = WorkerSettings.Compose(settings);
        await IngestAsync(services, 8);
        var queue = services.GetRequiredService<SqliteWorkQueue>();

        await using (var worker = WorkerProcess.Start(settings))
        {
            await worker.WaitForOutputAsync(l => l.Contains("Batch: ", StringComparison.Ordinal), Deadline);
            worker.KillHard();
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        }
        // The dead worker's locks would lapse after the queue's lock duration (5 minutes); lapse them now.
        queue.ReleaseLocks();

        await using (var worker = WorkerProcess.Start(settings))
        {
            await WorkerSettings.PollAsync(async () => await SignedAsync(services) == 8 && queue.Count() == 0, "8 signatures after the restart", Deadline);
        }
        await AssertSignedOnceAsync(services, 8);
    }

    [Fact]
    public async Task Signs_through_azurite()
    {
        var azurite = await SharedAzurite.GetAsync();
        var settings = new Dictionary<string, string?> { ["Motif__Storage"] = "azure", ["MotifStorage"] = azurite.ConnectionString };
        await using var services = WorkerSettings.Compose(settings);
        await MotifPipeline.EnsureStorageAsync(services);
        await IngestAsync(services, 2, prefix: "azure");

        await using var worker = WorkerProcess.Start(settings);
        await worker.WaitUntilReadyAsync(Deadline);
        await WorkerSettings.PollAsync(async () => await SignedAsync(services) == 2, "2 signatures in the Azurite catalog", Deadline);
        Assert.Empty(await services.GetRequiredService<IWorkQueue>().ReceiveAsync(10));
    }

    [Fact]
    public async Task Missing_weights_and_a_taken_port_end_the_process_with_one_line()
    {
        await using (var worker = WorkerProcess.Start(Embedded(("MOTIF_HOME", _folder.Combine("nowhere")))))
        {
            Assert.True(await worker.WaitForExitAsync(Deadline));
            Assert.NotEqual(0, worker.ExitCode);
            var line = Assert.Single(worker.Output, l => l.StartsWith("motif-worker:", StringComparison.Ordinal));
            Assert.Contains("weights are missing", line, StringComparison.Ordinal);
            Assert.DoesNotContain(worker.Output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        }
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        await using (var worker = WorkerProcess.Start(Embedded(), port: ((IPEndPoint)taken.LocalEndpoint).Port))
        {
            Assert.True(await worker.WaitForExitAsync(Deadline));
            Assert.NotEqual(0, worker.ExitCode);
            var line = Assert.Single(worker.Output, l => l.StartsWith("motif-worker:", StringComparison.Ordinal));
            Assert.Contains("address already in use", line, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(worker.Output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        }
    }

    /// <summary>Each image signed once, each signature its own shard row, nothing dead-lettered.</summary>
    private static async Task AssertSignedOnceAsync(ServiceProvider services, int images)
    {
        var signed = await services.GetRequiredService<IImageCatalog>().ListSignedAsync(MotifPipelineOptions.DefaultModelVersion);
        Assert.Equal(images, signed.Count);
        Assert.Equal(images, signed.Select(s => (s.Signature.Shard, s.Signature.Row)).Distinct().Count());
        Assert.Empty(await services.GetRequiredService<IWorkQueue>().PeekDeadLetteredAsync(10));
    }
}
