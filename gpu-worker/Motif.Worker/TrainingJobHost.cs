using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Worker;

/// <summary>
/// The worker image's training mode (<c>--training-job</c>, which the training Container Apps Job passes): the shared
/// composition with the same settings as the signing worker, one <see cref="TrainingJob"/> from the training queue
/// (<see cref="TrainingJobRunner"/>), then exit. One execution of the Job is one run; a redelivery is the next execution.
/// </summary>
/// <remarks>Exit codes: 0 when the job completed, was dead-lettered, or no job was waiting (the scale rule may start an
/// execution for a message another took); 1 when it failed (the message was given back, and the next delivery resumes).</remarks>
internal static class TrainingJobHost
{
    /// <summary>The argument that selects the mode.</summary>
    public const string Argument = "--training-job";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Azure", LogLevel.Warning);
        var pipeline = MotifPipelineOptions.Read(builder.Configuration);
        var worker = WorkerOptions.Read(builder.Configuration);
        builder.Services.AddMotifPipeline(pipeline, builder.Configuration);
        using var host = builder.Build();
        MotifProcess.Configure(host.Services.GetRequiredService<ILoggerFactory>());
        EngineProcess.Configure(new EngineProcessOptions { Threads = pipeline.Threads });
        await MotifPipeline.EnsureStorageAsync(host.Services);

        var blobs = host.Services.GetRequiredService<IBlobStore>();
        var catalog = host.Services.GetRequiredService<IImageCatalog>();
        // The shared composition's registry and rollout steps: a promotion sends one signature job per image naming the
        // new version, which the signing workers open from the registry; the Recluster timer switches once they are done.
        var registry = host.Services.GetRequiredService<ModelRegistry>();
        var runner = new TrainingJobRunner(host.Services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training), blobs, catalog,
            host.Services.GetRequiredService<IAnnotationStore>(), registry, host.Services.GetRequiredService<IModelRolloutSteps>(), new EngineTrainers(worker.Device),
            new TrainingJobRunnerOptions { ReceiveWait = worker.ReceiveWait, SigningSize = EngineSignatureEmbedder.DefaultInputSize }, host.Services.GetRequiredService<ILogger<TrainingJobRunner>>());
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Motif.Worker.Training");
        using var stopping = new CancellationTokenSource();
        // SIGTERM: stop between steps; the last stored epoch stays, and the message is given back for the next execution.
        using var registration = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(stopping.Cancel);
        await host.StartAsync();
        var outcome = await runner.RunOneAsync(new EpochLog(logger), stopping.Token);
        logger.LogInformation("Training job: {Result}: {Reason}", outcome.Result, outcome.Reason);
        await host.StopAsync();
        return 0;
    }

    /// <summary>Opens a model version with the engine: the packaged network by name, a registered one from its downloaded weights.</summary>
    private sealed class EngineTrainers(string device) : ISignatureTrainerFactory
    {
        public (ISignatureTrainer Trainer, IDisposable Owner) Open(string version, string? weightsFile, int inputSize)
        {
            var model = SignatureModels.Open(weightsFile ?? SignatureModels.PackagedResNet50, device);
            return (new EngineSignatureTrainer(model, version, inputSize), model);
        }
    }

    private sealed class EpochLog(ILogger logger) : IProgress<TrainingEpochReport>
    {
        public void Report(TrainingEpochReport value) =>
            logger.LogInformation("Epoch {Epoch}{Resumed}: val mAP {Map:0.0000}, {Steps} steps", value.Epoch.Epoch, value.Resumed ? " (stored)" : "",
                value.Epoch.ValidationMap, value.Epoch.Steps);
    }
}
