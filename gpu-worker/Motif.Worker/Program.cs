using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Motif.Engine;
using Motif.Imaging;
using Motif.Imaging.OpenCv;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Worker;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// The worker: the shared composition plus the model, the signing loop, the graph updates and the HTTP endpoints.
// Everything that can be checked before serving is (settings, storage, weights, model version), so an ordinary
// failure ends the process with one line and a non-zero exit instead of a half-started worker.
try
{
    if (args.Contains(TrainingJobHost.Argument))
    {
        // The training Container Apps Job runs this image with this argument: one training job, then exit.
        return await TrainingJobHost.RunAsync([.. args.Where(a => a != TrainingJobHost.Argument)]);
    }
    var builder = WebApplication.CreateBuilder(args);
    var pipeline = MotifPipelineOptions.Read(builder.Configuration);
    var worker = WorkerOptions.Read(builder.Configuration);

    builder.WebHost.UseUrls(worker.Urls);
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = worker.MaxSearchBytes);
    builder.Logging.AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss.fff ";
    });
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    // The Azure SDKs log every request at Information: only their warnings belong in the worker's log.
    builder.Logging.AddFilter("Azure", LogLevel.Warning);
    // The host's own report of a failed start carries a stack trace; the one line below says it instead.
    builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = worker.ShutdownTimeout);

    builder.Services.AddMotifPipeline(pipeline, builder.Configuration);
    builder.Services.AddSignatureModel(() => SignatureModels.Open(worker.Model, worker.Device), SignatureModels.VersionOf(worker.Model), worker.Precision);
    builder.Services.AddLocalFeatureMatcher();
    builder.Services.AddSingleton(worker);
    builder.Services.AddSingleton<WorkerTelemetry>();
    // A rollout's jobs name the version they sign under (ModelVersionEmbedders says why); this opens those versions
    // from the registry, at the input size of the configured model's signatures.
    builder.Services.AddSingleton(sp =>
    {
        var configured = sp.GetRequiredService<ISignatureEmbedder>();
        return new ModelVersionEmbedders(sp.GetRequiredService<ModelRegistry>(),
            new EngineEmbedders(worker.Device, worker.Precision, configured.Preprocessing.InputSize), configured, SignatureModels.VersionOf(worker.Model),
            logger: sp.GetRequiredService<ILogger<ModelVersionEmbedders>>());
    });
    builder.Services.AddSingleton(sp => new SignatureServiceOptions
    {
        PreparedBatches = worker.PreparedBatches,
        BatchFillWait = worker.BatchFillWait,
        ActivitySource = sp.GetRequiredService<WorkerTelemetry>().Source,
        ModelVersions = sp.GetRequiredService<ModelVersionEmbedders>(),
    });
    builder.Services.AddSingleton<CurrentSignatures>();
    builder.Services.AddSingleton<GraphUpdates>();
    builder.Services.AddHostedService(sp => sp.GetRequiredService<GraphUpdates>());
    builder.Services.AddHostedService<SignatureWorker>();

    builder.Services.AddOpenTelemetry()
        .ConfigureResource(resource => resource.AddService("motif-worker"))
        .WithTracing(tracing => tracing.AddSource(WorkerTelemetry.Name).AddAspNetCoreInstrumentation())
        .WithMetrics(metrics => metrics.AddMeter(WorkerTelemetry.Name).AddAspNetCoreInstrumentation())
        .UseOtlpExporterWhenConfigured(builder.Configuration);

    var app = builder.Build();
    // The process-wide settings, before anything decodes or computes: libvips' warnings into the worker's log, libvips'
    // and libtorch's threads (Motif__Threads for the forward pass; DESIGN.md, "Engine facts"), the process's one SQLite.
    MotifProcess.Configure(app.Services.GetRequiredService<ILoggerFactory>());
    EngineProcess.Configure(new EngineProcessOptions { Threads = pipeline.Threads });
    await MotifPipeline.EnsureStorageAsync(app.Services);
    // Opens the model and checks that it computes Motif__ModelVersion's signatures.
    _ = app.Services.GetRequiredService<SignatureService>();
    // One forward pass of a full batch before serving: libtorch sets up its kernels (oneDNN primitives, cuDNN plans) on
    // the first, which costs several batches' time; /readyz then means warm, and the first uploads do not pay for it.
    var embedder = app.Services.GetRequiredService<ISignatureEmbedder>();
    embedder.Embed(new float[pipeline.BatchSize * embedder.Preprocessing.ValuesPerImage], pipeline.BatchSize, new float[pipeline.BatchSize * embedder.Dimension]);
    app.MapWorkerEndpoints();
    await app.RunAsync();
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"motif-worker: {OneLine(e)}");
    return 1;
}

static string OneLine(Exception e)
{
    while (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
    {
        e = aggregate.InnerExceptions[0];
    }
    var message = e is PipelineConfigurationException or FileNotFoundException or IOException or UnauthorizedAccessException
        ? e.Message
        : $"{e.GetType().Name}: {e.Message}";
    return message.ReplaceLineEndings(" ");
}
