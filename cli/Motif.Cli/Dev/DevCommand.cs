using System.CommandLine;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Core;
using Motif.Imaging;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;

namespace Motif.Cli.Dev;

/// <summary>
/// <c>motif dev</c>: the event-driven Azure flow on one machine (see <see cref="DevEnvironment"/>), and its two helpers,
/// <c>motif dev upload</c> (a museum's upload) and <c>motif dev recluster</c> (the nightly timer, now).
/// </summary>
internal static class DevCommand
{
    public const string DefaultFolder = "motif-dev";

    public static Command Create()
    {
        var output = OutOption();
        var port = new Option<int>("--port") { Description = "Port of the HTTP functions on 127.0.0.1 (the Functions host's default is 7071).", DefaultValueFactory = _ => 7071 };
        var workerPort = new Option<int>("--worker-port") { Description = "Port of the worker's search and health endpoints on 127.0.0.1.", DefaultValueFactory = _ => 7072 };
        var threads = SharedOptions.Threads("the worker (decoding, the network, the graph)");
        var schedule = new Option<string>("--schedule")
        {
            Description = "When the Recluster timer fires: six-field CRON in UTC (second minute hour day month weekday), as Motif__ReclusterSchedule in Azure.",
            DefaultValueFactory = _ => DevEnvironment.DefaultSchedule,
        };
        var command = new Command("dev", "Run the Azure flow offline: Azurite, the worker as a separate process, and the Functions (IngestImage on new uploads, " +
                                         "the Recluster timer, the HTTP API) invoked locally. Stop with Ctrl-C.")
        {
            output, port, workerPort, threads, schedule, Upload(), Recluster(),
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var cron = parse.GetValue(schedule)!;
            try
            {
                ScheduledTrigger.Parse(cron);
            }
            catch (ArgumentException e)
            {
                await error.WriteLineAsync(Display.Safe(e.Message));
                return 2;
            }
            if (parse.GetValue(port) is < 1 or > 65535 || parse.GetValue(workerPort) is < 1 or > 65535)
            {
                await error.WriteLineAsync("--port and --worker-port must be from 1 to 65535.");
                return 2;
            }
            var settings = new DevSettings(parse.GetRequiredValue(output), parse.GetValue(port), parse.GetValue(workerPort), Math.Max(1, parse.GetValue(threads)), cron);
            return await DevEnvironment.RunAsync(settings, parse.InvocationConfiguration.Output, error, cancellationToken);
        });
        return command;
    }

    private static Option<DirectoryInfo> OutOption() => new("--out")
    {
        Description = "The dev environment's folder: Azurite's data, the worker's log and dev.json (how the other motif dev commands find it).",
        DefaultValueFactory = _ => new DirectoryInfo(DefaultFolder),
    };

    private static Command Upload()
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "A folder of images, uploaded recursively." };
        var collection = new Option<string>("--collection") { Description = "The collection's name: the first segment of every blob name (letters, digits, '.', '_', '-').", Required = true };
        var parallel = new Option<int>("--parallel") { Description = "Files sent at once.", DefaultValueFactory = _ => 8 };
        var output = OutOption();
        var command = new Command("upload", "Upload a folder into the running motif dev's uploads container as uploads/<collection>/<path>, several files at once; " +
                                            "run it again to resume (files already there unchanged are skipped).")
        {
            folder, collection, parallel, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var root = parse.GetRequiredValue(folder);
            var name = parse.GetRequiredValue(collection);
            if (!root.Exists)
            {
                await error.WriteLineAsync($"No such folder: {Display.Safe(root.FullName)}");
                return 2;
            }
            if (!CollectionUpload.IsValidCollection(name))
            {
                await error.WriteLineAsync($"'{Display.Safe(name)}' is not a collection name: use letters, digits, '.', '_' and '-' (at most 64).");
                return 2;
            }
            var (session, problem) = DevSession.Find(parse.GetRequiredValue(output));
            if (session is null)
            {
                await error.WriteLineAsync(Display.Safe(problem!));
                return 2;
            }
            await using var services = Compose(session);
            var report = await CollectionUpload.UploadAsync(services.GetRequiredKeyedService<IBlobStore>(MotifPipeline.Uploads), root, name,
                Math.Clamp(parse.GetValue(parallel), 1, 64), ValidationLimits.Default, cancellationToken: cancellationToken);
            var text = parse.InvocationConfiguration.Output;
            await text.WriteLineAsync($"Uploaded {report.Uploaded:N0} files to uploads/{name}/ ({report.Unchanged:N0} already there unchanged, {report.Refused.Count:N0} not sent).");
            foreach (var refused in report.Refused)
            {
                await text.WriteLineAsync($"  not sent: {Display.Safe(refused.Path)}: {refused.Rejection?.Code()} ({Display.Safe(refused.Message ?? "")})");
            }
            return 0;
        });
        return command;
    }

    private static Command Recluster()
    {
        var output = OutOption();
        var command = new Command("recluster", "Run the running motif dev's Recluster timer now (what POST /admin/functions/Recluster does on the Functions host) and wait for it.")
        {
            output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (session, problem) = DevSession.Find(parse.GetRequiredValue(output));
            if (session is null)
            {
                await error.WriteLineAsync(Display.Safe(problem!));
                return 2;
            }
            using var http = new HttpClient { BaseAddress = session.Api, Timeout = TimeSpan.FromMinutes(30) };
            using var response = await http.PostAsync("/admin/functions/Recluster", JsonContent.Create(new { input = "" }), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"Recluster failed ({(int)response.StatusCode}): {Display.Safe(body.Split('\n')[0])}");
                return 1;
            }
            await parse.InvocationConfiguration.Output.WriteLineAsync(Display.Safe(body));
            return 0;
        });
        return command;
    }

    /// <summary>The pipeline's composition against a running session's Azurite.</summary>
    internal static ServiceProvider Compose(DevSession session) =>
        Workspace.Compose(new MotifPipelineOptions { Storage = PipelineStorage.Azure },
            new ConfigurationBuilder().AddInMemoryCollection([new("MotifStorage", session.StorageConnection)]).Build(), configure: null);
}
