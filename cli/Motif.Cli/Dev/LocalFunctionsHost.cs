using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Motif.Functions;
using Motif.Pipeline.Composition;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Motif.Cli.Dev;

/// <summary>
/// <c>motif dev</c>'s stand-in for the Functions host: the Functions app's own registration
/// (<see cref="MotifFunctions.AddMotifFunctions"/>) in a web app on 127.0.0.1, and the app's function classes invoked the
/// way their attributes say — read here by reflection, as the host reads functions.metadata, so a new HTTP function or
/// a changed route needs no change here.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>HTTP triggers: each <c>[HttpTrigger]</c> method is mapped at <c>/api/{Route}</c> for its methods by
/// <see cref="HttpFunctionRoutes"/>, the mapping <c>motif serve</c> uses too.</item>
/// <item>The blob trigger: <see cref="IngestAsync"/> opens the upload and calls IngestImage with the blob's name, which the
/// trigger's <c>uploads/{name}</c> path binds to <c>name</c>.</item>
/// <item>The timer: Recluster on the schedule its <c>[TimerTrigger]</c> names (<c>%Motif:ReclusterSchedule%</c>, resolved from
/// configuration as the host resolves it), and on <c>POST /admin/functions/Recluster</c>, the host's route for running a
/// non-HTTP function by hand. Unlike the host (202, fire and forget) it answers when the run is over, with its result.</item>
/// <item>Traces: each invocation runs in an activity of its own (source <see cref="ActivitySourceName"/>), as the
/// worker's invocation activity in Azure, so the upload's trace id reaches its catalog record, the job, the worker's
/// batch and the manifest here too; exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</item>
/// </list>
/// The function classes cannot tell this from the host: they get the same services and the same arguments.
/// </remarks>
internal sealed class LocalFunctionsHost : IAsyncDisposable
{
    /// <summary>The source of the invocation activities.</summary>
    public const string ActivitySourceName = "Motif.Dev";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly ActivitySource Source = new(ActivitySourceName);
    private readonly WebApplication _app;

    private LocalFunctionsHost(WebApplication app, ScheduledTrigger recluster)
    {
        (_app, Recluster) = (app, recluster);
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>The Recluster timer (its schedule from the function's own attribute).</summary>
    public ScheduledTrigger Recluster { get; }

    public static LocalFunctionsHost Create(IConfiguration configuration, int port, ILoggerFactory loggers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddMvcCore();
        builder.Services.AddMotifFunctions(configuration);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("motif-dev-functions"))
            .WithTracing(tracing => tracing.AddSource(ActivitySourceName))
            .UseOtlpExporterWhenConfigured(configuration);
        var app = builder.Build();

        app.MapHttpFunctions(app.Services);
        var schedule = TimerSchedule(configuration);
        var recluster = new ScheduledTrigger(schedule, ct => RunReclusterAsync(app.Services, ct), loggers.CreateLogger("Recluster"));
        app.MapPost("/admin/functions/{name}", async (string name, HttpContext context) =>
        {
            if (name != nameof(Functions.Recluster))
            {
                return Results.NotFound();
            }
            var result = await recluster.RunNowAsync();
            return Results.Json(result, Json);
        });
        return new LocalFunctionsHost(app, recluster);
    }

    public Task StartAsync(CancellationToken cancellationToken) => _app.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    /// <summary>Invokes IngestImage for the upload <paramref name="blobName"/>, as the host does on its BlobCreated event.</summary>
    public async Task IngestAsync(string blobName, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("Invoke " + nameof(IngestImage), ActivityKind.Consumer);
        activity?.SetTag("motif.upload", blobName);
        await using var scope = _app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IngestImage>()
            .RunAsync(IngestImage.TriggerHandle(scope.ServiceProvider, blobName), blobName, cancellationToken);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static async Task<object?> RunReclusterAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("Invoke " + nameof(Functions.Recluster));
        await using var scope = services.CreateAsyncScope();
        var invocation = await scope.ServiceProvider.GetRequiredService<Functions.Recluster>().RunAsync(null, cancellationToken);
        return new { outcome = invocation.Outcome.ToString(), runId = invocation.RunId };
    }

    /// <summary>The schedule of Recluster's <c>[TimerTrigger]</c>, with a <c>%setting%</c> resolved from configuration, else the app's default.</summary>
    private static string TimerSchedule(IConfiguration configuration)
    {
        var method = typeof(Functions.Recluster).GetMethods().Single(m => m.GetCustomAttribute<FunctionAttribute>() is not null);
        var trigger = method.GetParameters().Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()).Single(a => a is not null)!;
        var schedule = trigger.Schedule;
        if (schedule.Length > 2 && schedule[0] == '%' && schedule[^1] == '%')
        {
            schedule = configuration[schedule[1..^1]] is { Length: > 0 } value ? value : MotifFunctionsOptions.DefaultReclusterSchedule;
        }
        return schedule;
    }
}
