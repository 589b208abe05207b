using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Motif.Cli.Dev;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// The design card end to end, offline: <c>motif dev</c> as its own process (Azurite, the worker process, the function
/// classes invoked locally), a museum's upload of 50 files of which some are broken, and the whole event-driven flow
/// to a published manifest — including the worker killed with SIGKILL mid-run, and Azurite stopped mid-run, each
/// restarted by <c>motif dev</c>. Everything is polled with deadlines; nothing sleeps a fixed time.
/// </summary>
public sealed class DevEndToEndTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(4);
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-dev-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    [Fact]
    public async Task Fifty_uploads_become_signatures_quarantine_records_and_a_published_manifest()
    {
        var folder = In("upload");
        SampleCollection.Write(new DirectoryInfo(folder), new SampleOptions(new DirectoryInfo(SampleCollection.DefaultSource)) { Families = 8 });
        File.Delete(Path.Combine(folder, "morphograph.csv"));
        File.Delete(Path.Combine(folder, SampleCollection.ImagesFile));
        var valid = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Length;
        var broken = new Dictionary<string, byte[]>
        {
            ["broken/truncated.jpg"] = ImageFixtures.Truncated(ImageFixtures.Jpeg(), 0.3),
            ["broken/notes.jpg"] = "not an image"u8.ToArray(),
            ["broken/empty.png"] = [],
            ["broken/damaged.png"] = ImageFixtures.Damaged(ImageFixtures.Png()),
            ["broken/bomb.png"] = ImageFixtures.PngDeclaring(60_000, 60_000),
        };
        foreach (var (name, bytes) in broken)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, name))!);
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }
        var out_ = In("dev");
        using var dev = StartDev(out_);
        var session = await WaitForSessionAsync(out_, dev);

        var (exit, output, error) = await Cli.RunAsync("dev", "upload", folder, "--collection", "museum", "--out", out_);
        Assert.True(exit == 0, error);
        Assert.Contains($"Uploaded {valid + broken.Count} files to uploads/museum/", output);

        await using var services = DevCommand.Compose(session);
        var catalog = services.GetRequiredService<IImageCatalog>();
        // The worker is killed once a few signatures are in: motif dev restarts it, as Container Apps would.
        await PollAsync(async () => (await catalog.ListSignedAsync(MotifPipelineOptions.DefaultModelVersion)).Count >= 3, dev, "the first signatures");
        var killed = DevSession.Find(new DirectoryInfo(out_)).Session!.WorkerProcessId;
        using (var kill = Process.Start("kill", ["-KILL", killed.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        // Then Azurite stops (SIGTERM, as a restart of the storage would) while the rest is signed: motif dev starts it
        // again on the same ports and data, and every part carries on; its requests fail meanwhile and are retried.
        await PollAsync(async () => (await catalog.ListSignedAsync(MotifPipelineOptions.DefaultModelVersion)).Count >= valid / 2, dev, "half of the signatures");
        var stopped = DevSession.Find(new DirectoryInfo(out_)).Session!.AzuriteProcessId;
        using (var kill = Process.Start("kill", ["-TERM", stopped.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await PollAsync(() => Task.FromResult(DevSession.Find(new DirectoryInfo(out_)).Session!.AzuriteProcessId is var now && now != stopped && now != 0), dev, "Azurite to be restarted");
        await PollAsync(async () =>
        {
            var images = await catalog.ListImagesAsync();
            var signed = await catalog.ListSignedAsync(MotifPipelineOptions.DefaultModelVersion);
            return images.Count == valid + broken.Count && signed.Count == valid;
        }, dev, "a signature for every valid upload");
        Assert.NotEqual(killed, DevSession.Find(new DirectoryInfo(out_)).Session!.WorkerProcessId);

        var records = await catalog.ListImagesAsync();
        var rejected = records.Where(r => r.Status == ImageStatus.Rejected).ToDictionary(r => r.ImageId, r => r.ReasonCode);
        Assert.Equal(broken.Keys.Select(k => "museum/" + k).Order(StringComparer.Ordinal), rejected.Keys.Order(StringComparer.Ordinal));
        Assert.All(rejected.Values, reason => Assert.False(string.IsNullOrEmpty(reason)));
        var store = services.GetRequiredService<IBlobStore>();
        foreach (var id in rejected.Keys)
        {
            Assert.NotNull(await store.GetPropertiesAsync(CollectionBlobs.Quarantine(id) + "record.json"));
        }
        // Nothing duplicated by the kill: one signature per content, and no shard the catalog does not reference once the worker is idle.
        var signatures = await catalog.ListSignedAsync(MotifPipelineOptions.DefaultModelVersion);
        Assert.Equal(signatures.Count, signatures.Select(s => s.Image.ImageId).Distinct(StringComparer.Ordinal).Count());

        // The worker updates the stored graph when its queue goes idle; Recluster clusters what the graph holds, so it is
        // run (as the timer would be) until the manifest has every signed image.
        using var http = new HttpClient { BaseAddress = session.Api };
        Motif.Core.Manifests.ClusterManifest? manifest = null;
        await PollAsync(async () =>
        {
            var (code, said, problem) = await Cli.RunAsync("dev", "recluster", "--out", out_);
            Assert.True(code == 0, problem);
            Assert.Matches("Published|Unchanged", said);
            using var clusters = await http.GetAsync("api/clusters");
            if (clusters.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
            Assert.Equal(HttpStatusCode.OK, clusters.StatusCode);
            manifest = Motif.Core.Manifests.ClusterManifest.FromJson(await clusters.Content.ReadAsStringAsync());
            return manifest.Counts.Images == valid;
        }, dev, "a manifest of every signed image");
        Assert.True(manifest!.Counts.Clusters > 0);

        // IIIF from the same function class as in Azure, its ids rooted at motif dev's own address (Motif__PublicBaseUrl).
        using (var collection = await http.GetAsync("api/iiif/collection.json"))
        {
            Assert.Equal(HttpStatusCode.OK, collection.StatusCode);
            Assert.Equal("*", collection.Headers.GetValues("Access-Control-Allow-Origin").Single());
            var items = System.Text.Json.JsonDocument.Parse(await collection.Content.ReadAsStringAsync()).RootElement.GetProperty("items");
            Assert.Equal(manifest.Counts.Clusters, items.GetArrayLength());
            Assert.StartsWith(new Uri(session.Api, "api/iiif/clusters/").AbsoluteUri, items[0].GetProperty("id").GetString());
        }
        // A training request lands on motif dev's training queue (the Azurite twin of Service Bus's).
        using (var trained = await http.PostAsync("api/train", new StringContent("{\"epochs\": 1}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(trained.StatusCode == HttpStatusCode.Accepted, await trained.Content.ReadAsStringAsync());
        }

        // The annotations API as the curators' app will call it, served by motif dev like every HTTP function. There is
        // no sign-in offline (Motif__LocalAnnotator): the local user annotates.
        var annotated = manifest.Clusters[0];
        var request = System.Text.Json.JsonSerializer.Serialize(new { cluster = annotated.Id, label = "confirm", images = annotated.Members.Select(m => m.ImageId) });
        using (var posted = await http.PostAsync("api/annotations", new StringContent(request, System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(posted.StatusCode == HttpStatusCode.Created, await posted.Content.ReadAsStringAsync());
        }
        using (var malformed = await http.PostAsync("api/annotations", new StringContent("{\"cluster\":", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }
        using (var listed = await http.GetAsync($"api/annotations?cluster={Uri.EscapeDataString(annotated.Id)}"))
        {
            var history = System.Text.Json.JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.GetProperty("annotations");
            var only = Assert.Single(history.EnumerateArray());
            Assert.Equal((Environment.UserName, "confirm"), (only.GetProperty("annotator").GetString(), only.GetProperty("label").GetString()));
        }

        // One trace from each upload to the manifest: every image entry names the trace of the IngestImage invocation
        // that ingested it (as its catalog record does), the worker's batches continue those traces (its log names
        // them), and the manifest names the trace of the Recluster run that published it.
        var recordsById = (await catalog.ListImagesAsync()).ToDictionary(r => r.ImageId, StringComparer.Ordinal);
        Assert.All(manifest.Images, image =>
        {
            Assert.Matches("^[0-9a-f]{32}$", image.TraceId ?? "");
            Assert.Equal(recordsById[image.ImageId].TraceId, image.TraceId);
        });
        Assert.Equal(manifest.Images.Count, manifest.Images.Select(i => i.TraceId).Distinct(StringComparer.Ordinal).Count());
        Assert.Matches("^[0-9a-f]{32}$", manifest.TraceId ?? "");
        var workerLog = await File.ReadAllTextAsync(Path.Combine(out_, "worker.log"));
        Assert.Contains(manifest.Images, image => workerLog.Contains("trace " + image.TraceId, StringComparison.Ordinal));

        // The same command again: nothing changed, nothing is published.
        (exit, output, error) = await Cli.RunAsync("dev", "recluster", "--out", out_);
        Assert.True(exit == 0, error);
        Assert.Contains("Unchanged", output);
        (exit, output, _) = await Cli.RunAsync("dev", "upload", folder, "--collection", "museum", "--out", out_);
        Assert.Equal(0, exit);
        Assert.Contains($"Uploaded 0 files to uploads/museum/ ({valid + broken.Count} already there unchanged", output);

        await StopAsync(dev);
        Assert.False(File.Exists(DevSession.PathIn(new DirectoryInfo(out_))));
    }

    [Fact]
    public async Task Ordinary_mistakes_are_one_line_errors()
    {
        var (exit, _, error) = await Cli.RunAsync("dev", "upload", _scratch.FullName, "--collection", "museum", "--out", In("none"));
        Assert.Equal(2, exit);
        Assert.StartsWith("No motif dev is running on", error.Trim());
        (exit, _, error) = await Cli.RunAsync("dev", "upload", _scratch.FullName, "--collection", "../etc", "--out", In("none"));
        Assert.Equal(2, exit);
        Assert.Contains("is not a collection name", error);
        (exit, _, error) = await Cli.RunAsync("dev", "--schedule", "every night", "--out", In("none"));
        Assert.Equal(2, exit);
        Assert.Contains("is not a six-field CRON schedule", error);

        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var taken = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        (exit, _, error) = await Cli.RunAsync("dev", "--out", In("busy"), "--port", taken, "--worker-port", FreePort().ToString(CultureInfo.InvariantCulture));
        Assert.Equal(2, exit);
        Assert.Contains($"Cannot serve the HTTP functions on 127.0.0.1:{taken}", error);
        Assert.Contains("(choose another --port)", error);
        (exit, _, error) = await Cli.RunAsync("dev", "--out", In("busy"), "--port", FreePort().ToString(CultureInfo.InvariantCulture), "--worker-port", taken);
        Assert.Equal(2, exit);
        Assert.Equal($"Port {taken} on 127.0.0.1 is in use: choose another --worker-port.", error.Trim());
        Assert.False(File.Exists(DevSession.PathIn(new DirectoryInfo(In("busy")))));
    }

    private Process StartDev(string out_)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "motif.dll"), "dev", "--out", out_,
            "--port", FreePort().ToString(CultureInfo.InvariantCulture), "--worker-port", FreePort().ToString(CultureInfo.InvariantCulture), "--threads", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    private static async Task<DevSession> WaitForSessionAsync(string out_, Process dev)
    {
        DevSession? session = null;
        await PollAsync(() => Task.FromResult((session = DevSession.Find(new DirectoryInfo(out_)).Session) is not null), dev, "motif dev to start");
        return session!;
    }

    private static async Task StopAsync(Process dev)
    {
        using (var signal = Process.Start("kill", ["-TERM", dev.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await dev.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, dev.ExitCode);
    }

    /// <summary>Polls until <paramref name="condition"/> holds; a storage request that fails (Azurite restarting) counts as not yet.</summary>
    private static async Task PollAsync(Func<Task<bool>> condition, Process dev, string what)
    {
        var clock = Stopwatch.StartNew();
        Exception? failed = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or IOException)
            {
                failed = e;
            }
            Assert.False(dev.HasExited, $"motif dev exited with {(dev.HasExited ? dev.ExitCode : 0)} while waiting for {what}");
            Assert.True(clock.Elapsed < Deadline, $"no {what} within {Deadline.TotalMinutes} minutes{(failed is null ? "" : $" (last storage error: {failed.Message})")}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
