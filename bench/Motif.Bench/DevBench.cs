using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Motif.Storage.Azure.Azurite;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Catalog;

namespace Motif.Bench;

/// <summary>
/// The event-driven flow through <c>motif dev</c> on Azurite (Azurite, the worker process, the function classes run
/// locally), on 50 and 500 images: upload → signature latency per image (p50, p95: from the upload blob's write time to
/// the later of its catalog record and its content's signature shard), upload → published manifest of every image
/// (Recluster run on demand once every upload is signed, again until the worker's graph holds them all), and the
/// flow's images/s against <c>motif run</c> embedded on the same images in the same run (the anchor, run before and
/// after the flow, since one run of it can differ from the next by a fifth here; goal ≥ 0.8× of their mean). 2 threads,
/// fp32, a fresh folder each time.
/// </summary>
/// <remarks>
/// The times come from what the flow wrote (blob and record times), not from when the bench noticed: the bench polls
/// the catalog only every <see cref="Poll"/> to know when to stop, because a poll lists every signature and Azurite's
/// CPU is the flow's CPU (a poll each second cost several CPU-seconds of a 70 s run). Blob times have a resolution of one
/// second, as the old poll had.
/// </remarks>
internal static class DevBench
{
    private static readonly int[] Sizes = [50, 500];
    private const string ModelVersion = "resnet50-imagenet@1.0.4 224px";
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(string root)
    {
        var rows = new List<string>();
        foreach (var size in Sizes)
        {
            var (collection, images) = BenchCollections.Sample(root, size);
            var before = StorageBench.TimeRun(collection, "embedded");
            var flow = await MeasureAsync(collection, images);
            var after = StorageBench.TimeRun(collection, "embedded");
            var rate = images / flow.AllSigned;
            var anchorRate = images / ((before.Process + after.Process) / 2);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {images,6} | {flow.Upload,8:0.0} | {flow.P50,8:0.0} | {flow.P95,8:0.0} | {flow.AllSigned,10:0.0} | {flow.Manifest,11:0.0} | {rate,10:0.00} | {images / before.Process,6:0.00} / {images / after.Process,6:0.00} | {rate / anchorRate,8:0.00}× |"));
        }
        Console.WriteLine($"motif dev on Azurite (worker process with 2 threads, fp32, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(libgomp's default)"}; " +
            "Recluster run on demand once every upload is signed) against motif run embedded on the same images");
        Console.WriteLine();
        Console.WriteLine("| images | upload s | sig p50 s | sig p95 s | all signed s | manifest s | flow img/s | run img/s before / after (anchor) | vs anchor |");
        Console.WriteLine("|-------:|---------:|----------:|----------:|-------------:|-----------:|-----------:|----------------------------------:|----------:|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine("(sig: from an upload's blob write to the later of its catalog record and its content's signature shard; all signed and manifest: seconds from the start of `motif dev upload`; " +
            "vs anchor: against the mean of the two runs' times; goal ≥ 0.80×)");
        Console.WriteLine();
    }

    private sealed record Flow(double Upload, double P50, double P95, double AllSigned, double Manifest);

    private static async Task<Flow> MeasureAsync(string collection, int images)
    {
        var folder = Directory.CreateTempSubdirectory("motif-bench-dev-");
        var start = new ProcessStartInfo(Path.Combine(Repository.Root(), "motif"))
        {
            ArgumentList = { "dev", "--out", folder.FullName, "--port", FreePort(), "--worker-port", FreePort(), "--threads", "2" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var dev = Process.Start(start) ?? throw new InvalidOperationException("cannot start motif dev");
        _ = dev.StandardOutput.ReadToEndAsync();
        var errors = dev.StandardError.ReadToEndAsync();
        try
        {
            var session = await WaitForSessionAsync(folder.FullName, dev, errors);
            var connection = AzuriteServer.ConnectionStringFor(session.GetProperty("blobPort").GetInt32(), session.GetProperty("queuePort").GetInt32(), session.GetProperty("tablePort").GetInt32());
            var catalog = new TableImageCatalog(new TableClient(connection, "catalog"));
            var uploads = new BlobContainerClient(connection, "uploads");
            var store = new BlobContainerClient(connection, "motif");

            var clock = Stopwatch.StartNew();
            var began = DateTimeOffset.UtcNow;
            Repository.RunMotif("dev", "upload", collection, "--collection", "bench", "--out", folder.FullName, "--parallel", "8");
            var upload = clock.Elapsed.TotalSeconds;
            var written = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            await foreach (var blob in uploads.GetBlobsAsync())
            {
                if (!blob.Name.EndsWith("images.txt", StringComparison.Ordinal) && !blob.Name.EndsWith("morphograph.csv", StringComparison.Ordinal))
                {
                    written[blob.Name] = blob.Properties.LastModified!.Value;
                }
            }
            var deadline = TimeSpan.FromMinutes(30);
            IReadOnlyList<(ImageRecord Image, SignatureLocation Signature)> signed = [];
            while (signed.Count < images)
            {
                if (dev.HasExited || clock.Elapsed > deadline)
                {
                    throw new InvalidOperationException($"motif dev signed {signed.Count} of {images} images: {(dev.HasExited ? await errors : "deadline passed")}");
                }
                await Task.Delay(Poll);
                signed = await catalog.ListSignedAsync(ModelVersion);
            }
            // A signature is in the catalog once its shard is written and then recorded (the commit, ~20 ms later); an
            // image counts as signed once its own record is written too (a duplicate's content may be signed before it).
            var shardWritten = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            await foreach (var blob in store.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "signatures/" }))
            {
                shardWritten[blob.Name] = blob.Properties.LastModified!.Value;
            }
            var signedAt = signed.ToDictionary(s => s.Image.ImageId,
                s => Max(s.Image.UpdatedAt, shardWritten.TryGetValue(s.Signature.Shard, out var at) ? at : DateTimeOffset.MaxValue), StringComparer.Ordinal);
            var allSigned = (signedAt.Values.Max() - began).TotalSeconds;
            // Recluster clusters the stored graph, which the worker updates when its queue goes idle: run it until the
            // published manifest holds every image.
            using var http = new HttpClient { BaseAddress = new Uri(session.GetProperty("api").GetString()!) };
            while (true)
            {
                Repository.RunMotif("dev", "recluster", "--out", folder.FullName);
                using var response = await http.GetAsync("api/clusters");
                if (response.IsSuccessStatusCode &&
                    Motif.Core.Manifests.ClusterManifest.FromJson(await response.Content.ReadAsStringAsync()).Counts.Images == images)
                {
                    break;
                }
                if (clock.Elapsed > deadline)
                {
                    throw new InvalidOperationException("no complete manifest was published");
                }
                await Task.Delay(500);
            }
            var manifest = clock.Elapsed.TotalSeconds;
            var latencies = signedAt.Select(s => (s.Value - (written.TryGetValue(s.Key, out var w) ? w : began)).TotalSeconds).Order().ToArray();
            return new Flow(upload, latencies[latencies.Length / 2], latencies[latencies.Length * 95 / 100], allSigned, manifest);
        }
        finally
        {
            using (var signal = Process.Start("kill", ["-TERM", dev.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await signal!.WaitForExitAsync();
            }
            await dev.WaitForExitAsync();
            folder.Delete(recursive: true);
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static async Task<JsonElement> WaitForSessionAsync(string folder, Process dev, Task<string> errors)
    {
        var path = Path.Combine(folder, "dev.json");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            if (dev.HasExited || clock.Elapsed > TimeSpan.FromMinutes(3))
            {
                throw new InvalidOperationException($"motif dev did not start: {(dev.HasExited ? await errors : "no dev.json after 3 minutes")}");
            }
            await Task.Delay(100);
        }
        return JsonDocument.Parse(await File.ReadAllBytesAsync(path)).RootElement.Clone();
    }

    private static string FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
    }
}
