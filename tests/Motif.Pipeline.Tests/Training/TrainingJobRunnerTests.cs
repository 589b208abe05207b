using System.Text;
using Azure.Storage.Queues;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Queues;
using Xunit.Abstractions;

namespace Motif.Pipeline.Tests.Training;

/// <summary>
/// One training job from a queue on Azurite (Queue Storage, the adapter with the same peek-lock contract as Service Bus)
/// to a registered version, on the engine's tiny ResNet: completion with a lock shorter than the run, dead letters,
/// and a run stopped mid-way resuming on redelivery.
/// </summary>
public sealed class TrainingJobRunnerTests(ITestOutputHelper output)
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";
    private const string BaseVersion = "tiny-base";

    private static readonly TrainingRunOptions Quick = new()
    {
        Epochs = 2, BatchSize = 4, LearningRate = 1e-3, Margin = 0.2, FrozenStages = 0, InputSize = 32, Patience = 10, NegativesPerPair = 2, NearestCandidates = 4,
    };

    /// <summary>A 6-second lock: shorter than the run, so only renewals keep it. Not shorter: on a 2-core CI machine under
    /// the whole suite's load, a renewal due every 0.9 s of a 3-second lock was once late enough for the lock to lapse.</summary>
    private static async Task<QueueStorageWorkQueue> QueueAsync()
    {
        var azurite = await SharedAzurite.GetAsync();
        var queue = new QueueStorageWorkQueue(new QueueServiceClient(azurite.ConnectionString, QueueStorageWorkQueue.ClientOptions()), SharedAzurite.UniqueName("training"),
            new WorkQueueOptions { LockDuration = TimeSpan.FromSeconds(6), MaxDeliveryCount = 5 });
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    private TrainingJobRunner Runner(TrainingFixture fixture, IWorkQueue queue, ModelRegistry registry) =>
        new(queue, fixture.Workspace.Blobs, fixture.Workspace.Catalog, new BlobAnnotationStore(fixture.Workspace.Blobs, fixture.Workspace.Catalog), registry,
            new NoResigning(), new TinyTrainers(), new TrainingJobRunnerOptions { ReceiveWait = TimeSpan.FromSeconds(1), RenewAt = 0.3, SigningSize = 48 },
            new XunitLogger(output));

    [Fact]
    public async Task A_job_outlasting_its_lock_trains_registers_decides_promotion_and_completes()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var queue = await QueueAsync();
        var registry = new ModelRegistry(fixture.Workspace.Blobs, BaseVersion);
        await queue.SendAsync(new TrainingJob(BaseVersion, Quick).ToMessage());
        // Epoch 1's report waits out more than a whole lock: the job completes only because the lock was renewed meanwhile.
        var slow = new Synchronous<TrainingEpochReport>(r =>
        {
            if (r.Epoch.Epoch == 1)
            {
                Thread.Sleep(TimeSpan.FromSeconds(7));
            }
        });

        var outcome = await Runner(fixture, queue, registry).RunOneAsync(slow);

        Assert.Equal(TrainingJobResult.Completed, outcome.Result);
        Assert.Equal(BaseVersion, outcome.Version!.Parent);
        Assert.Equal(fixture.Truth!.DataVersion, outcome.Version.DataVersion);
        // The job named no signing size: the projection was fitted at the deployment's (the runner's option), not at 32 px.
        Assert.Equal(Quick with { SigningSize = 48 }, outcome.Version.HyperParameters);
        Assert.Equal([outcome.Version], await registry.ListAsync());
        // Promoted exactly when the run's best epoch beat its base.
        Assert.Equal(outcome.Version.Metrics.Improves ? PromotionOutcome.Promoted : PromotionOutcome.NotBetter, outcome.Promotion!.Outcome);
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(3)));
        Assert.Empty(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal(TrainingJobResult.NoJob, (await Runner(fixture, queue, registry).RunOneAsync()).Result);
    }

    [Fact]
    public async Task A_malformed_job_or_an_unknown_base_model_is_dead_lettered_with_its_reason()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var queue = await QueueAsync();
        var registry = new ModelRegistry(fixture.Workspace.Blobs, BaseVersion);
        await queue.SendAsync(OutgoingMessage.FromText("{\"baseModel\":\"x\",\"options\":{\"epochs\":-1}}"));
        await queue.SendAsync(new TrainingJob("checkpoint:0123456789abcdef", Quick).ToMessage());

        var first = await Runner(fixture, queue, registry).RunOneAsync();
        var second = await Runner(fixture, queue, registry).RunOneAsync();

        Assert.Equal((TrainingJobResult.DeadLettered, TrainingJobResult.DeadLettered), (first.Result, second.Result));
        var dead = await queue.PeekDeadLetteredAsync(10);
        Assert.Equal(["malformed-job", "unknown-base-model"], dead.Select(d => d.Reason));
        Assert.Contains("checkpoint:0123456789abcdef", dead[1].Description);
        Assert.Empty(await registry.ListAsync());
    }

    [Fact]
    public async Task A_job_stopped_mid_run_resumes_from_its_stored_epochs_when_delivered_again()
    {
        using var fixture = await TrainingFixture.CreateAsync();
        var queue = await QueueAsync();
        var registry = new ModelRegistry(fixture.Workspace.Blobs, BaseVersion);
        // No base model named (as POST /api/train sends by default): the job trains from the version serving when it runs.
        await queue.SendAsync(new TrainingJob(null, Quick).ToMessage());
        using var stop = new CancellationTokenSource();
        var stopAfterEpoch1 = new Synchronous<TrainingEpochReport>(r =>
        {
            if (r.Epoch.Epoch == 1)
            {
                stop.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Runner(fixture, queue, registry).RunOneAsync(stopAfterEpoch1, stop.Token));
        Assert.Empty(await registry.ListAsync());

        var reports = new List<TrainingEpochReport>();
        var outcome = await Runner(fixture, queue, registry).RunOneAsync(new Synchronous<TrainingEpochReport>(reports.Add));

        Assert.Equal(TrainingJobResult.Completed, outcome.Result);
        Assert.Equal(BaseVersion, outcome.Version!.Parent);
        Assert.Equal([(0, true), (1, true), (2, false)], reports.Select(r => (r.Epoch.Epoch, r.Resumed)));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(3)));
    }

    private sealed class TinyTrainers : ISignatureTrainerFactory
    {
        public (ISignatureTrainer Trainer, IDisposable Owner) Open(string version, string? weightsFile, int inputSize)
        {
            var model = weightsFile is null ? SignatureModel.Create(Tiny) : SignatureModel.FromCheckpoint(weightsFile);
            return (new EngineSignatureTrainer(model, version, inputSize), model);
        }
    }

    private sealed class NoResigning : IModelRolloutSteps
    {
        public string SignatureVersionOf(string modelVersion) => modelVersion + " 32px";

        public Task<int> EnqueueResigningAsync(string modelVersion, CancellationToken cancellationToken) => Task.FromResult(0);

        public Task RequestReclusterAsync(string modelVersion, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class XunitLogger(ITestOutputHelper output) : Microsoft.Extensions.Logging.ILogger<TrainingJobRunner>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
    }

    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
