using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Motif.Core;
using Motif.Pipeline.Composition;
using Motif.Storage.Azure.Azurite;
using Motif.Storage.Blobs;

namespace Motif.Cli.Dev;

/// <summary>What <c>motif dev</c> was asked to run.</summary>
internal sealed record DevSettings(DirectoryInfo Out, int Port, int WorkerPort, int Threads, string Schedule);

/// <summary>
/// <c>motif dev</c>: the design card's event-driven flow on one machine, offline. What stands in for what:
/// <list type="bullet">
/// <item>Azure Storage → Azurite (blob, queue, table), started here with its data in <c>&lt;out&gt;/azurite</c>, and started
/// again on the same ports and data if it exits (an outage that ends); the signature jobs go through Queue Storage instead
/// of Service Bus (same <c>IWorkQueue</c> contract);</item>
/// <item>the GPU container → the worker as a separate process, configured by environment variables only, stopped with
/// SIGTERM like a scale-in, and restarted if it dies, as Container Apps restarts a replica;</item>
/// <item>the Functions host → <see cref="LocalFunctionsHost"/>: the same function classes through the same DI registration,
/// with Event Grid's BlobCreated replaced by <see cref="UploadWatcher"/> (Azurite emits no events), the timer by
/// <see cref="ScheduledTrigger"/>, and the HTTP functions served on 127.0.0.1.</item>
/// </list>
/// </summary>
internal static class DevEnvironment
{
    /// <summary>Nightly at 02:00 UTC, the Functions app's default.</summary>
    public const string DefaultSchedule = "0 0 2 * * *";

    public static async Task<int> RunAsync(DevSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var root = settings.Out;
        try
        {
            root.Create();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"Cannot create {Display.Safe(root.FullName)}: {Display.Safe(e.Message)}");
            return 2;
        }
        if (DevSession.Find(root).Session is { } running)
        {
            await error.WriteLineAsync($"A motif dev is already running on {Display.Safe(root.FullName)} (process {running.ProcessId}).");
            return 3;
        }
        // The functions' own log lines (intake outcomes, reclusterings) at Information; the SDKs' and ASP.NET Core's only when something is wrong.
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Information).AddFilter("Azure", LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning));
        var log = loggers.CreateLogger("motif dev");

        AzuriteServer azurite;
        try
        {
            azurite = await AzuriteServer.StartAsync(new AzuriteOptions { Script = AzuriteOptions.ScriptBelow(MotifHome.Folder), Location = Path.Combine(root.FullName, "azurite") }, cancellationToken);
        }
        catch (AzuriteException e)
        {
            await error.WriteLineAsync(Display.Safe(e.Message.Split('\n')[0]));
            return 2;
        }
        await using var _ = azurite;
        var api = new Uri($"http://127.0.0.1:{settings.Port.ToString(CultureInfo.InvariantCulture)}/");
        var workerUri = new Uri($"http://127.0.0.1:{settings.WorkerPort.ToString(CultureInfo.InvariantCulture)}/");
        // One set of settings for the Functions and the worker, named as the Azure app settings are.
        var appSettings = new Dictionary<string, string>
        {
            ["Motif__Storage"] = "azure",
            ["MotifStorage"] = azurite.ConnectionString,
            ["Motif__Threads"] = settings.Threads.ToString(CultureInfo.InvariantCulture),
            ["Motif__ReclusterSchedule"] = settings.Schedule,
            ["Motif__WorkerSearchUri"] = new Uri(workerUri, "search").ToString(),
            // Offline there is no App Service authentication in front of the API: annotations are the local user's.
            ["Motif__LocalAnnotator"] = Environment.UserName,
            // The root of the IIIF ids and image URLs: this host's own address, as main.bicep gives the app its host name.
            ["Motif__PublicBaseUrl"] = api.ToString(),
            // A worker killed mid-batch (or restarted by hand) gives its jobs back within 30 s rather than 5 minutes.
            ["Motif__SignatureLockSeconds"] = "30",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(appSettings.Select(p => new KeyValuePair<string, string?>(p.Key.Replace("__", ":", StringComparison.Ordinal), p.Value))).Build();

        await using var functions = LocalFunctionsHost.Create(configuration, settings.Port, loggers);
        await MotifPipeline.EnsureStorageAsync(functions.Services, cancellationToken);
        try
        {
            await functions.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await error.WriteLineAsync($"Cannot serve the HTTP functions on 127.0.0.1:{settings.Port}: {Display.Safe(e.Message)} (choose another --port).");
            return 2;
        }

        var workerEnvironment = new Dictionary<string, string>(appSettings)
        {
            ["ASPNETCORE_URLS"] = workerUri.ToString().TrimEnd('/'),
            [MotifHome.Variable] = MotifHome.Folder,
            ["GLIBC_TUNABLES"] = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "glibc.malloc.hugetlb=1",
            // The worker shares the machine's cores with this process and Azurite: its OpenMP threads must not spin (./motif).
            ["OMP_WAIT_POLICY"] = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "PASSIVE",
        };
        if (!IsFree(settings.WorkerPort))
        {
            // The worker would only say so in its log, and be restarted over and over.
            await error.WriteLineAsync($"Port {settings.WorkerPort} on 127.0.0.1 is in use: choose another --worker-port.");
            return 2;
        }
        var workerLog = Path.Combine(root.FullName, "worker.log");
        WorkerProcess worker;
        try
        {
            worker = WorkerProcess.Start(workerEnvironment, workerLog);
        }
        catch (FileNotFoundException e)
        {
            await error.WriteLineAsync(Display.Safe(e.Message));
            return 2;
        }

        // The session is announced (dev.json) only once the worker answers /readyz, its model loaded: an upload made as
        // soon as motif dev says it runs is then signed at once, not after the worker's start.
        if (await WaitUntilReadyAsync(worker, workerUri, cancellationToken) is { } notReady)
        {
            await error.WriteLineAsync($"The worker did not start: {Display.Safe(notReady)} (see {Display.Safe(workerLog)}).");
            await worker.DisposeAsync();
            return 2;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var uploads = functions.Services.GetRequiredKeyedService<IBlobStore>(MotifPipeline.Uploads);
        var watcher = new UploadWatcher(uploads, functions.Services.GetRequiredService<IBlobStore>(), functions.IngestAsync, parallelism: 2 * settings.Threads, log);
        var watching = watcher.RunAsync(stop.Token);
        var timing = functions.Recluster.RunAsync(stop.Token);

        var session = new DevSession(Environment.ProcessId, azurite.BlobPort, azurite.QueuePort, azurite.TablePort, api, workerUri, worker.ProcessId,
            azurite.ProcessId ?? 0);
        session.WriteTo(root);
        // Both supervisors rewrite the session when they restart what they watch.
        var sessionGate = new Lock();
        void Rewrite(Func<DevSession, DevSession> change)
        {
            lock (sessionGate)
            {
                (session = change(session)).WriteTo(root);
            }
        }
        var storage = SuperviseAzuriteAsync(azurite, () => Rewrite(s => s with { AzuriteProcessId = azurite.ProcessId ?? 0 }), log, stop.Token);
        await output.WriteLineAsync($"""
            motif dev is running on {Display.Safe(root.FullName)}
              Azurite          blob 127.0.0.1:{azurite.BlobPort}, queue {azurite.QueuePort}, table {azurite.TablePort} (data in {Display.Safe(Path.Combine(root.FullName, "azurite"))})
              HTTP functions   {api}api/clusters, api/images/<id>, api/search, api/health
              worker           process {worker.ProcessId}, {workerUri} (log: {Display.Safe(workerLog)})
              Recluster timer  "{settings.Schedule}" (UTC), next {functions.Recluster.NextOccurrence:yyyy-MM-dd HH:mm:ss}; now: motif dev recluster --out {Display.Safe(root.ToString())}
            Upload: motif dev upload <folder> --collection <name> --out {Display.Safe(root.ToString())}    Stop: Ctrl-C
            """);

        try
        {
            await SuperviseAsync(() => worker, w =>
            {
                worker = w;
                Rewrite(s => s with { WorkerProcessId = w.ProcessId });
            }, workerEnvironment, workerLog, log, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl-C or SIGTERM: stop in the reverse order of starting.
        }
        await stop.CancelAsync();
        await Task.WhenAll(watching, timing, storage).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var exit = await worker.StopAsync(WorkerProcess.GracePeriod);
        await worker.DisposeAsync();
        await functions.StopAsync(CancellationToken.None);
        File.Delete(DevSession.PathIn(root));
        await output.WriteLineAsync($"motif dev stopped (the worker exited with {exit}); the state is kept in {Display.Safe(root.FullName)}.");
        return 0;
    }

    /// <summary>Null once the worker's /readyz answers 200; otherwise why not (it exited, or two minutes passed).</summary>
    private static async Task<string?> WaitUntilReadyAsync(WorkerProcess worker, Uri workerUri, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = workerUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (worker.HasExited)
            {
                return $"it exited with {await worker.StopAsync(TimeSpan.Zero)}";
            }
            try
            {
                using var response = await http.GetAsync("readyz", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return null;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A slow answer while the model loads.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        return "it was not ready after two minutes";
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Restarts Azurite on its ports and data folder when it exits on its own (a crash, or a SIGTERM from elsewhere:
    /// it saves what it acknowledged first), as storage comes back after an outage. Meanwhile every caller sees
    /// refused connections and retries: the SDKs' retry policies, the upload watcher's next pass, the worker's next
    /// receive (or its restart, if a commit failed).
    /// </summary>
    private static async Task SuperviseAzuriteAsync(AzuriteServer azurite, Action restarted, ILogger log, CancellationToken cancellationToken)
    {
        var backOff = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            if (!azurite.HasExited)
            {
                backOff = TimeSpan.FromSeconds(1);
                continue;
            }
            log.LogWarning("Azurite exited; restarting it on the same ports and data folder.");
            try
            {
                await azurite.RestartAsync(cancellationToken);
                restarted();
                log.LogInformation("Azurite is back (process {ProcessId}).", azurite.ProcessId);
            }
            catch (AzuriteException e)
            {
                log.LogError("Azurite did not restart: {Message}; trying again in {Delay} s.", e.Message.Split('\n')[0], backOff.TotalSeconds);
                await Task.Delay(backOff, cancellationToken);
                backOff = TimeSpan.FromSeconds(Math.Min(backOff.TotalSeconds * 2, 30));
            }
        }
    }

    /// <summary>Restarts the worker when it exits on its own, as Container Apps restarts a failed replica (with a back-off).</summary>
    private static async Task SuperviseAsync(Func<WorkerProcess> current, Action<WorkerProcess> replace, IReadOnlyDictionary<string, string> environment, string logFile,
        ILogger log, CancellationToken cancellationToken)
    {
        var backOff = TimeSpan.FromSeconds(1);
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            if (!current().HasExited)
            {
                continue;
            }
            var exit = await current().StopAsync(TimeSpan.Zero);
            await current().DisposeAsync();
            log.LogWarning("The worker exited with {Exit}; restarting it in {Delay} s (see {Log}).", exit, backOff.TotalSeconds, logFile);
            await Task.Delay(backOff, cancellationToken);
            replace(WorkerProcess.Start(environment, logFile));
            backOff = TimeSpan.FromSeconds(Math.Min(backOff.TotalSeconds * 2, 30));
        }
    }
}
