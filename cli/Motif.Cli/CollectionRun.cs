using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Motif.Core;
using Motif.Core.Evaluation;
using Motif.Core.Manifests;
using Motif.Core.Metadata;
using Motif.Core.Training;
using Motif.Engine;
using Motif.Imaging;
using Motif.Imaging.OpenCv;
using Motif.Pipeline;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;
using Motif.Storage.Catalog;
using Spectre.Console;

namespace Motif.Cli;

/// <summary>What <c>motif run</c> was asked to do. <see cref="ClusteringParameters.MaxEps"/> is the radius the user
/// gave, or null for the model's calibrated radius (<see cref="RadiusCalibrator"/>). <see cref="Model"/> is --model, or
/// null for the workspace's own (<see cref="WorkspaceModels.ChooseAsync"/>).</summary>
internal sealed record RunSettings(
    DirectoryInfo Folder,
    DirectoryInfo Out,
    StorageKind Storage,
    string? Model,
    Precision Precision,
    ClusteringParameters Parameters,
    int Threads,
    int Batch,
    FileInfo? Truth);

/// <summary>What a run found and did, and how long each stage took.</summary>
internal sealed record RunReport(
    string Workspace,
    int Files,
    int NewOrChanged,
    int Unchanged,
    int Removed,
    int Accepted,
    IReadOnlyDictionary<string, int> RejectedByReason,
    int SignedThisRun,
    IReadOnlyList<SignatureFailure> SignatureFailures,
    int Signatures,
    GraphUpdate? Graph,
    TimeSpan LoadSignatures,
    TimeSpan GraphUpdate,
    ReclusterResult Recluster,
    TimeSpan Intake,
    TimeSpan Signing,
    TimeSpan Total,
    Evaluation? Evaluation,
    RadiusChoice Radius,
    ClusteringParameters Parameters,
    MetadataImport? Metadata = null,
    string? MetadataRefused = null)
{
    /// <summary>Time spent choosing the radius (measuring it, when it was calibrated in this run).</summary>
    public TimeSpan Calibration { get; init; }

    /// <summary>The model the run signed and clustered with, and why.</summary>
    public ModelChoice? Model { get; init; }
}

/// <summary>Where a run's radius came from.</summary>
internal enum RadiusSource
{
    /// <summary>The user's <c>--max-eps</c>.</summary>
    Given,
    /// <summary>Calibrated for the model in this run, and stored.</summary>
    Calibrated,
    /// <summary>Calibrated for the model by an earlier run, read from the workspace.</summary>
    Reused,
    /// <summary><see cref="CollectionRun.FallbackRadius"/>: no calibration could justify a radius.</summary>
    Fallback,
}

/// <summary>The radius a run clustered at, and why (the calibration's numbers when there was one).</summary>
internal sealed record RadiusChoice(double Value, RadiusSource Source, CalibratedRadius? Calibration);

/// <summary>
/// <c>motif run</c>: a folder to clusters in one process, through the same services the cloud pipeline runs
/// (intake → signature jobs on the queue → worker → recluster → atomic manifest publication), on the embedded
/// adapters of a <see cref="Workspace"/>.
/// </summary>
/// <remarks>
/// Re-running only does what is missing: an unchanged file (same length and modification time) is not read, a
/// signed content is not embedded again, and nothing is republished when the input did not change. Ctrl-C or a
/// crash loses nothing: every step commits to the catalog or the queue before the next begins, the next run
/// takes the workspace lease, releases the dead run's message locks and carries on.
/// </remarks>
internal static class CollectionRun
{
    public const string DefaultTruthFile = "morphograph.csv";

    /// <summary>The radius when none is given and calibration cannot justify one (no signatures, or copies no nearer
    /// their images than other images are): the research's max_eps, tuned for its fine-tuned model.</summary>
    public const double FallbackRadius = 0.13;

    public static async Task<RunReport> RunAsync(RunSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var choice = settings.Model is { } model ? new ModelChoice(model, ModelCatalog.VersionOf(model), null) : null;
        WorkspaceComposition Composition(ModelChoice model) => new(
            new MotifPipelineOptions
            {
                ModelVersion = EngineSignatureEmbedder.VersionOf(model.Version, precision: settings.Precision),
                Clustering = settings.Parameters,
                Threads = settings.Threads,
                BatchSize = settings.Batch,
            },
            services => services.AddSignatureModel(() => ModelCatalog.Open(model.Model), model.Version, settings.Precision).AddLocalFeatureMatcher());
        // Without --model, the model is chosen inside the one opening of the workspace: the registry's pointer is in its
        // blobs, and the pipeline is composed with the chosen version (WorkspaceModels.ChooseAsync: serving, or pending
        // during a rollout; the packaged network in a workspace without a registry).
        Workspace? opened;
        if (choice is not null)
        {
            var given = Composition(choice);
            opened = await Workspace.OpenAsync(settings.Out, settings.Storage, create: true, cancellationToken, given.Options, given.Configure);
        }
        else
        {
            opened = await Workspace.OpenAsync(settings.Out, settings.Storage, create: true,
                async (blobs, ct) => Composition(choice = await WorkspaceModels.ChooseAsync(WorkspaceModels.Registry(blobs), forSigning: true, ct)), cancellationToken);
        }
        await using var workspace = opened!;
        await using var lease = await WorkspaceLease.AcquireAsync(workspace.Blobs,
            waiting: () => console.WriteLine("Waiting for the previous run's workspace lease to lapse (a crashed run holds it for up to 15 s)…"),
            cancellationToken: cancellationToken);
        // Every write below stops the moment the lease is lost: another process may then be working in the workspace.
        using var leased = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.LostToken);
        try
        {
            return await RunLeasedAsync(settings, choice!, console, workspace, total, leased.Token);
        }
        catch (OperationCanceledException e) when (lease.Lost is { } lost && !cancellationToken.IsCancellationRequested)
        {
            // Nothing is lost (every step commits before the next): the next run resumes where this one stopped.
            throw new WorkspaceBusyException($"The workspace lease could not be renewed ({lost.Message}), so another process may be using the workspace: "
                + "this run stopped writing. Run the same command again to resume.", e);
        }
    }

    private static async Task<RunReport> RunLeasedAsync(RunSettings settings, ModelChoice choice, IAnsiConsole console, Workspace workspace, Stopwatch total,
        CancellationToken cancellationToken)
    {
        var released = workspace.ReleaseLocks();
        if (released > 0)
        {
            console.WriteLine($"Resuming: {released} signature jobs were held by an interrupted run.");
        }

        var embedder = workspace.Services.GetRequiredService<ISignatureEmbedder>();
        var ingest = workspace.Services.GetRequiredService<IngestService>();
        var signing = workspace.Services.GetRequiredService<SignatureService>();
        var recluster = workspace.Services.GetRequiredService<ReclusterService>();
        var graphs = workspace.Services.GetRequiredService<NeighbourGraphStore>();

        var truth = settings.Truth?.FullName;
        var truthPath = truth is null ? null : System.Text.Encoding.UTF8.GetBytes(truth);
        var listed = FolderIntake.List(settings.Folder).Where(f => truthPath is null || !f.NativePath.AsSpan().SequenceEqual(truthPath)).ToArray();
        // The museum's metadata.csv at the folder's root is metadata, not an image (one deeper down is an ordinary file).
        var metadataFile = listed.FirstOrDefault(IsMetadataFile);
        var files = listed.Where(f => !IsMetadataFile(f)).ToArray();
        MetadataImport? metadata = null;
        string? metadataRefused = null;
        int changed = 0, unchanged = 0, removed = 0, signedThisRun = 0;
        TimeSpan intakeTime = default, signingTime = default, loadTime = default, graphTime = default, calibrationTime = default;
        ReclusterResult? clustering = null;
        SignatureSet? set = null;
        GraphUpdate? graph = null;
        RadiusChoice? radius = null;
        GroundTruth? groundTruth = null;   // read once, for the calibration or the evaluation, whichever needs it first
        var parameters = settings.Parameters;

        await Progress(console).StartAsync(async context =>
        {
            var clock = Stopwatch.StartNew();
            var intake = context.AddTask("Intake", maxValue: Math.Max(1, files.Length));
            // Two files in flight per thread: one decodes while the other waits on storage round trips.
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 * settings.Threads, CancellationToken = cancellationToken }, async (file, ct) =>
            {
                var outcome = await IngestAsync(ingest, file, ct);
                if (outcome == IngestOutcome.Unchanged)
                {
                    Interlocked.Increment(ref unchanged);
                }
                else
                {
                    Interlocked.Increment(ref changed);
                }
                intake.Increment(1);
                intake.Description = $"Intake ({intake.Value / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):0} files/s)";
            });
            intake.Value = intake.MaxValue;
            // Files that left the folder leave the catalog (their signatures stay, keyed by content).
            var present = files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            var gone = (await workspace.Catalog.ListImagesAsync(cancellationToken)).Where(i => !present.Contains(i.ImageId)).Select(i => i.ImageId).ToArray();
            removed = await workspace.Catalog.RemoveImagesAsync(gone, cancellationToken);
            // This run holds the workspace lease: no other intake can be between its blob writes and its catalog record.
            await ingest.SweepOrphanDerivativesAsync(TimeSpan.Zero, cancellationToken);
            // After the catalog is current, so that rows naming no file are told apart.
            (metadata, metadataRefused) = await ImportMetadataAsync(workspace.Services.GetRequiredService<MetadataStore>(), metadataFile, cancellationToken);
            intakeTime = clock.Elapsed;

            clock.Restart();
            // Every unsigned content has a job (or gets one below): the catalog counts them on every kind of queue.
            var pending = (await workspace.Catalog.ListUnsignedAsync(embedder.ModelVersion, cancellationToken)).Count;
            var signatures = context.AddTask("Signatures", maxValue: Math.Max(1, pending));
            var progress = new SyncProgress(batch =>
            {
                signatures.Increment(batch.Received);
                signedThisRun += batch.Signed;
                signatures.Description = $"Signatures ({signedThisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):0.0} images/s)";
            });
            await signing.ProcessAllAsync(progress, cancellationToken);
            // Jobs lost between a catalog commit and its enqueue (a crash in that instant) are found from the catalog.
            var missing = await signing.EnqueueMissingAsync(cancellationToken);
            if (missing > 0)
            {
                signatures.MaxValue += missing;
                await signing.ProcessAllAsync(progress, cancellationToken);
            }
            signatures.Value = signatures.MaxValue;
            // This run holds the workspace lease, so no other worker can be between a shard write and its commit.
            await signing.SweepOrphanShardsAsync(TimeSpan.Zero, cancellationToken: cancellationToken);
            signingTime = clock.Elapsed;
            if (choice.State == ModelVersionState.Pending)
            {
                // Every image is signed under the pending version now: the rollout switches before the run clusters, so
                // what it publishes is under the version that serves (the previous one served until this point).
                var rollout = new ModelRollout(WorkspaceModels.Registry(workspace.Blobs), workspace.Catalog, new CommandLineRollout(workspace.Catalog, settings.Precision));
                if ((await rollout.AdvanceAsync(cancellationToken)).Switched)
                {
                    choice = choice with { State = ModelVersionState.Serving, Switched = true };
                }
            }

            var clusterTask = context.AddTask("Clustering", maxValue: 1).IsIndeterminate();
            // The two calls the cloud makes apart: the worker keeps the stored graph current, the timer reclusters it.
            clock.Restart();
            set = await SignatureSet.LoadAsync(workspace.Blobs, workspace.Catalog, embedder.ModelVersion, cancellationToken);
            loadTime = clock.Elapsed;
            clock.Restart();
            (radius, groundTruth) = await ChooseRadiusAsync(settings, workspace, set, cancellationToken);
            calibrationTime = clock.Elapsed;
            parameters = settings.Parameters with { MaxEps = radius.Value };
            clock.Restart();
            graph = set.Count == 0 ? null : await graphs.UpdateAsync(set, NeighbourGraphStore.RadiusOf(parameters), settings.Threads, cancellationToken);
            graphTime = clock.Elapsed;
            clustering = await recluster.RunAsync(embedder.ModelVersion, parameters, cancellationToken);
            clusterTask.Value = 1;
            clusterTask.IsIndeterminate = false;
        });

        var images = await workspace.Catalog.ListImagesAsync(cancellationToken);
        var failures = await workspace.Catalog.ListSignatureFailuresAsync(embedder.ModelVersion, cancellationToken);
        Evaluation? evaluation = null;
        if (truth is not null && File.Exists(truth) && clustering!.Manifest is { } published)
        {
            groundTruth ??= await Evaluation.ImportAsync(truth, workspace.Blobs, workspace.Services.GetRequiredService<IAnnotationStore>(), cancellationToken);
            evaluation = Evaluation.Score(truth, groundTruth, set!, published.Manifest, settings.Threads, cancellationToken);
        }
        return new RunReport(
            workspace.Description,
            files.Length, changed, unchanged, removed,
            images.Count(i => i.Status == ImageStatus.Accepted),
            images.Where(i => i.Status == ImageStatus.Rejected).GroupBy(i => i.ReasonCode ?? "unknown").OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count()),
            signedThisRun, failures, set!.Count, graph, loadTime, graphTime, clustering!, intakeTime, signingTime, total.Elapsed, evaluation, radius!, parameters,
            metadata, metadataRefused)
        {
            Calibration = calibrationTime,
            Model = choice,
        };
    }

    private static bool IsMetadataFile(FolderFile file) => string.Equals(file.Path, MetadataCsv.FileName, StringComparison.Ordinal);

    /// <summary>
    /// Imports the folder's metadata.csv (scope "": its filenames are paths relative to the folder, turned into ids as
    /// <see cref="FolderImageId"/> turns names), or removes the previous import when the file is gone. A file that
    /// cannot be read or has no usable header is reported, the previous import stands and the run goes on: titles are
    /// not worth losing a clustering for.
    /// </summary>
    private static async Task<(MetadataImport? Import, string? Refused)> ImportMetadataAsync(MetadataStore store, FolderFile? file, CancellationToken cancellationToken)
    {
        if (file is null)
        {
            await store.RemoveAsync(scope: "", cancellationToken);
            return (null, null);
        }
        var (bytes, refused) = await FolderIntake.ReadAsync(file, ValidationLimits.Default with { MaxBytes = MetadataCsv.MaxBytes }, cancellationToken);
        if (refused is not null)
        {
            return (null, refused.Message ?? "It cannot be read.");
        }
        try
        {
            return (await store.ImportAsync("", bytes!, name => FolderImageId.Of(System.Text.Encoding.UTF8.GetBytes(name)), cancellationToken), null);
        }
        catch (FormatException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>
    /// The user's radius if given; otherwise the model's calibrated one, read from the workspace or measured now from the
    /// collection's own synthetic copies (<see cref="RadiusCalibrator"/>: at most 64 images, once per model version);
    /// <see cref="FallbackRadius"/> when there is nothing to measure or the measurement justifies no radius. Returns the
    /// ground truth too when it read it, so that the run's evaluation does not import and read it again.
    /// </summary>
    private static async Task<(RadiusChoice Radius, GroundTruth? Truth)> ChooseRadiusAsync(RunSettings settings, Workspace workspace, SignatureSet set, CancellationToken cancellationToken)
    {
        if (settings.Parameters.MaxEps is { } given)
        {
            return (new RadiusChoice(given, RadiusSource.Given, null), null);
        }
        if (set.Count == 0)
        {
            return (new RadiusChoice(FallbackRadius, RadiusSource.Fallback, null), null);
        }
        // The ground truth, when the run has one, keeps known copies from passing for nearest non-neighbours.
        Func<string, string, bool>? knownNeighbours = null;
        GroundTruth? truth = null;
        if (settings.Truth is { } truthFile && File.Exists(truthFile.FullName))
        {
            truth = await Evaluation.ImportAsync(truthFile.FullName, workspace.Blobs, workspace.Services.GetRequiredService<IAnnotationStore>(), cancellationToken);
            var mining = new TripletMining(truth.Duplicates, MorphographSplit.Empty());
            var duplicates = truth.Duplicates;
            knownNeighbours = (a, b) => mining.IsExcluded(duplicates.Canonical(a), duplicates.Canonical(b));
        }
        var (calibration, reused) = await workspace.Services.GetRequiredService<RadiusCalibrator>().GetOrCalibrateAsync(set, knownNeighbours, cancellationToken);
        var choice = calibration.Result.Radius is { } calibrated
            ? new RadiusChoice(calibrated, reused ? RadiusSource.Reused : RadiusSource.Calibrated, calibration)
            : new RadiusChoice(FallbackRadius, RadiusSource.Fallback, calibration);
        return (choice, truth);
    }

    private static Task<IngestOutcome> IngestAsync(IngestService ingest, FolderFile file, CancellationToken cancellationToken) =>
        ingest.IngestAsync(file.Path, new FolderSource(file), cancellationToken);

    /// <summary>A file of the intake folder, read by <see cref="FolderIntake.ReadAsync"/>.</summary>
    private sealed class FolderSource(FolderFile file) : IntakeSource
    {
        // A path that could not be examined is "unexamined" until it can be: refused once, then taken in when it has a stamp.
        public override string Stamp => file.IsLink ? "link" : file.Stamp ?? "unexamined";

        public override async Task<IntakeRead> ReadAsync(ValidationLimits limits, CancellationToken cancellationToken)
        {
            var (bytes, refused) = await FolderIntake.ReadAsync(file, limits, cancellationToken);
            return refused is null
                ? IntakeRead.Of(bytes!)
                : IntakeRead.Refused(refused.Rejection!.Value, refused.Bytes, refused.Message ?? string.Empty);
        }
    }

    private static Spectre.Console.Progress Progress(IAnsiConsole console) => console.Progress()
        .AutoClear(false)
        .HideCompleted(false)
        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
            new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn());

    /// <summary>Reports synchronously on the caller's thread (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<SignatureRunResult> report) : IProgress<SignatureRunResult>
    {
        public void Report(SignatureRunResult value) => report(value);
    }
}
