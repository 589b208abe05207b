using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Motif.Storage.Azure.Azurite;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Bench;

/// <summary>
/// The Azure adapters on Azurite against the embedded adapters (the anchor, same run, same machine): 1,000 small blob
/// puts, 1,000 queue send → receive → complete round trips and 1,000 catalog upserts, one at a time (operations/s,
/// p50 and p95 latency); then <c>motif run</c> on the same collection of about 200 images, embedded and
/// <c>--storage azurite</c>, each as its own process on a fresh workspace (goal: Azurite ≥ 0.8× the embedded rate).
/// </summary>
internal static partial class StorageBench
{
    private const int Operations = 1000;
    private const int RunImages = 200;
    private const int RunPasses = 3;

    public static async Task RunAsync(string root)
    {
        var scratch = Directory.CreateTempSubdirectory("motif-bench-storage-");
        try
        {
            await using var azurite = await AzuriteServer.StartAsync(new AzuriteOptions
            {
                Script = AzuriteOptions.ScriptBelow(root),
                Location = Path.Combine(scratch.FullName, "azurite"),
            });
            var rows = new List<(string Operation, string Adapter, Latencies Figures, Latencies Anchor)>();
            var payload = new byte[1024];
            Random.Shared.NextBytes(payload);

            using (var local = new LocalFolderBlobStore(Path.Combine(scratch.FullName, "blobs")))
            {
                var cloud = new AzureBlobStore(new BlobContainerClient(azurite.ConnectionString, "bench"));
                await cloud.CreateContainerIfNotExistsAsync();
                var anchor = await MeasureAsync(i => local.PutAsync($"puts/{i}", new MemoryStream(payload)));
                rows.Add(("blob put, 1 KiB", "local folder (anchor)", anchor, anchor));
                rows.Add(("blob put, 1 KiB", "Azure Blob on Azurite", await MeasureAsync(i => cloud.PutAsync($"puts/{i}", new MemoryStream(payload))), anchor));
            }

            var queueOptions = new WorkQueueOptions { LockDuration = TimeSpan.FromSeconds(60) };
            using (var local = new SqliteWorkQueue(Path.Combine(scratch.FullName, "queue.db"), "bench", queueOptions))
            {
                var cloud = new QueueStorageWorkQueue(new QueueServiceClient(azurite.ConnectionString, QueueStorageWorkQueue.ClientOptions()), "bench", queueOptions);
                await cloud.CreateIfNotExistsAsync();
                var anchor = await MeasureAsync(_ => RoundTripAsync(local));
                rows.Add(("queue send → receive → complete", "SQLite (anchor)", anchor, anchor));
                rows.Add(("queue send → receive → complete", "Queue Storage on Azurite", await MeasureAsync(_ => RoundTripAsync(cloud)), anchor));
            }

            using (var local = new SqliteImageCatalog(Path.Combine(scratch.FullName, "catalog.db")))
            {
                var cloud = new TableImageCatalog(new TableClient(azurite.ConnectionString, "bench"));
                await cloud.CreateTableIfNotExistsAsync();
                var anchor = await MeasureAsync(i => local.PutImageAsync(Record(i)));
                rows.Add(("catalog upsert", "SQLite (anchor)", anchor, anchor));
                rows.Add(("catalog upsert", "Table Storage on Azurite", await MeasureAsync(i => cloud.PutImageAsync(Record(i))), anchor));
            }

            Console.WriteLine($"Storage adapters: {Operations:N0} operations each, one at a time, same machine; Azurite 3.35 with a folder location");
            Console.WriteLine();
            Console.WriteLine("| operation                       | adapter                  |   ops/s | p50 ms | p95 ms | vs anchor |");
            Console.WriteLine("|---------------------------------|--------------------------|--------:|-------:|-------:|----------:|");
            foreach (var (operation, adapter, figures, anchor) in rows)
            {
                Console.WriteLine($"| {operation,-31} | {adapter,-24} | {figures.Rate,7:N0} | {figures.P50,6:0.00} | {figures.P95,6:0.00} | {figures.Rate / anchor.Rate,8:0.00}× |");
            }
            Console.WriteLine();
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        RunCommand(root);
    }

    /// <summary><c>motif run</c> on one collection, embedded and on Azurite, alternating, each on a fresh workspace.</summary>
    private static void RunCommand(string root)
    {
        var (collection, images) = BenchCollections.Sample(root, RunImages);
        var embedded = new List<(double Process, double Report)>();
        var onAzurite = new List<(double Process, double Report)>();
        for (var pass = 0; pass < RunPasses; pass++)
        {
            embedded.Add(TimeRun(collection, "embedded"));
            onAzurite.Add(TimeRun(collection, "azurite"));
        }
        var (e, a) = (Median(embedded), Median(onAzurite));
        Console.WriteLine($"motif run on {images} images (sample collection, 2 threads, fp32), median of {RunPasses} alternating passes, fresh workspace each");
        Console.WriteLine();
        Console.WriteLine("| storage                            | process s | report total s | images/s | vs embedded |");
        Console.WriteLine("|------------------------------------|----------:|---------------:|---------:|------------:|");
        Console.WriteLine($"| embedded: folder + SQLite (anchor) | {e.Process,9:0.00} | {e.Report,14:0.00} | {images / e.Process,8:0.0} | {1.0,10:0.00}× |");
        Console.WriteLine($"| azurite: Blob, Queue, Table        | {a.Process,9:0.00} | {a.Report,14:0.00} | {images / a.Process,8:0.0} | {e.Process / a.Process,10:0.00}× |");
        Console.WriteLine("(process: the whole `motif run`, Azurite's start included; report total: the run's own clock, from opening the workspace to publishing; goal ≥ 0.80×)");
        Console.WriteLine();
    }

    /// <summary>One <c>motif run</c> on a fresh workspace: the whole process's seconds, and the total the report prints.</summary>
    internal static (double Process, double Report) TimeRun(string collection, string storage)
    {
        var workspace = Directory.CreateTempSubdirectory("motif-bench-run-");
        try
        {
            var clock = Stopwatch.StartNew();
            var output = Repository.RunMotif("run", collection, "--out", workspace.FullName, "--storage", storage, "--threads", "2", "--max-eps", "0.3");
            var seconds = clock.Elapsed.TotalSeconds;
            var total = TotalLine().Match(output);
            return (seconds, total.Success ? double.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN);
        }
        finally
        {
            workspace.Delete(recursive: true);
        }
    }

    private static async Task RoundTripAsync(IWorkQueue queue)
    {
        await queue.SendAsync(OutgoingMessage.FromText("""{"imageId":"a.jpg"}"""));
        var message = (await queue.ReceiveAsync(1, TimeSpan.FromSeconds(5))).Single();
        await queue.CompleteAsync(message);
    }

    private static ImageRecord Record(int i) =>
        new($"collection/{i:D5}.jpg", "stamp", $"{i:x64}", 123_456, ImageStatus.Accepted, null, null, "jpeg", 1024, 768, DateTimeOffset.UtcNow);

    private static async Task<Latencies> MeasureAsync(Func<int, Task> operation)
    {
        for (var i = 0; i < 20; i++)
        {
            await operation(Operations + i);   // warm-up: connections, JIT, first pages
        }
        var seconds = new double[Operations];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < Operations; i++)
        {
            var clock = Stopwatch.StartNew();
            await operation(i);
            seconds[i] = clock.Elapsed.TotalMilliseconds;
        }
        var elapsed = total.Elapsed.TotalSeconds;
        Array.Sort(seconds);
        return new Latencies(Operations / elapsed, seconds[Operations / 2], seconds[Operations * 95 / 100]);
    }

    private static (double Process, double Report) Median(List<(double Process, double Report)> runs) =>
        (runs.Select(r => r.Process).Order().ElementAt(runs.Count / 2), runs.Select(r => r.Report).Order().ElementAt(runs.Count / 2));

    [GeneratedRegex(@"^\s*total\s+([0-9.]+) s", RegexOptions.Multiline)]
    private static partial Regex TotalLine();

    private sealed record Latencies(double Rate, double P50, double P95);
}
