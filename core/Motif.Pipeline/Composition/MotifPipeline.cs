using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Motif.Imaging;
using Motif.Imaging.LocalFeatures;
using Motif.Pipeline.Annotations;
using Motif.Pipeline.Models;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Composition;

/// <summary>
/// The one composition of Motif's services, shared by every host: the CLI (<c>motif run</c>, <c>motif dev</c>), the
/// Functions app, the worker and the tests. A host chooses adapters through configuration and adds what only it has
/// (the worker and the CLI register an <see cref="ISignatureEmbedder"/> and an <see cref="ILocalFeatureMatcher"/>, with
/// which <see cref="NeighbourGraphStore"/> judges pairs by local features); it never wires a service by hand.
/// </summary>
/// <remarks>
/// Registered, all singletons: the ports (<see cref="IBlobStore"/>, <see cref="IImageCatalog"/>, <see cref="IWorkQueue"/>
/// for signature jobs, the keyed <see cref="IWorkQueue"/> <see cref="WorkQueueKeys.Training"/> for training jobs, and the
/// uploads container as the keyed <see cref="IBlobStore"/> <see cref="Uploads"/>), the
/// <see cref="MotifPipelineOptions"/>, <see cref="IngestService"/>, <see cref="ReclusterService"/>,
/// <see cref="NeighbourGraphStore"/>, <see cref="MetadataStore"/> and <see cref="SignatureService"/> (which needs an embedder, so only a host with
/// one can resolve it). A host whose worker signs the versions jobs name (the Functions app) registers a
/// <see cref="RolloutIntake"/>, and intake then asks for the serving and pending versions' signatures; without one
/// (<c>motif run</c>, which signs in-process) it sends the unversioned job only. The Azure adapters live in a class of their own, compiled only when chosen, so an embedded
/// host never loads an Azure SDK.
/// </remarks>
public static class MotifPipeline
{
    /// <summary>The service key of the uploads container's <see cref="IBlobStore"/>.</summary>
    public const string Uploads = "uploads";

    /// <summary>Registers the pipeline with the options and connections in <paramref name="configuration"/>.</summary>
    /// <exception cref="PipelineConfigurationException">A <c>Motif__…</c> setting is malformed.</exception>
    public static IServiceCollection AddMotifPipeline(this IServiceCollection services, IConfiguration configuration) =>
        services.AddMotifPipeline(MotifPipelineOptions.Read(configuration), configuration);

    /// <summary>Registers the pipeline with <paramref name="options"/>; <paramref name="configuration"/> holds the Azure connections when <see cref="PipelineStorage.Azure"/> is chosen.</summary>
    public static IServiceCollection AddMotifPipeline(this IServiceCollection services, MotifPipelineOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        if (options.Storage == PipelineStorage.Azure)
        {
            AzureAdapters.Add(services, options, configuration);
        }
        else
        {
            EmbeddedAdapters.Add(services, options);
        }
        services.AddSingleton(sp => new IngestService(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<IWorkQueue>(),
            new IngestOptions { ModelVersion = options.ModelVersion, Rollout = sp.GetService<RolloutIntake>() }, sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<IngestService>>()));
        services.AddSingleton(sp => new ReclusterService(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new NeighbourGraphStore(sp.GetRequiredService<IBlobStore>(), sp.GetService<ILocalFeatureMatcher>()));
        services.AddSingleton(sp => new MetadataStore(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IAnnotationStore>(sp => new BlobAnnotationStore(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<TimeProvider>()));
        // The model registry and the rollout every host shares; the steps are a deployment's (jobs naming the pending
        // version on the signature queue). The CLI, which signs in-process, uses its own steps.
        services.AddSingleton(sp => ModelRegistry.ForWorkspace(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IModelRolloutSteps>(sp => new QueuedRolloutSteps(sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<IWorkQueue>(), options.ModelVersion,
            sp.GetRequiredService<ModelRegistry>().InitialVersion));
        services.AddSingleton(sp => new ModelRollout(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<IModelRolloutSteps>()));
        services.AddSingleton(sp => new AnnotationService(sp.GetRequiredService<IAnnotationStore>(), sp.GetRequiredService<ReclusterService>()));
        services.AddSingleton(sp =>
        {
            var embedder = sp.GetRequiredService<ISignatureEmbedder>();
            if (embedder.ModelVersion != options.ModelVersion)
            {
                // Intake asks for, and the timer clusters, Motif__ModelVersion's signatures: signing any other model
                // would leave every image unsigned in their eyes.
                throw new PipelineConfigurationException(
                    $"The worker's model computes '{embedder.ModelVersion}' signatures but {MotifPipelineOptions.Section}__ModelVersion is '{options.ModelVersion}'.");
            }
            // A host may register SignatureServiceOptions for what only it decides (prepared batches, its activity
            // source); the batch size and threads are the pipeline's settings whatever it registers. Decoding leaves
            // the inference thread a core when the forward pass runs on a GPU, and takes turns with it on a CPU (Motif__DecodeCores).
            var signing = (sp.GetService<SignatureServiceOptions>() ?? new SignatureServiceOptions()) with
            {
                BatchSize = options.BatchSize,
                PreprocessThreads = options.DecodeThreads(embedder.OnAccelerator),
                DecodeBesideForwardPass = options.DecodeBesideForwardPass(embedder.OnAccelerator),
                Time = sp.GetRequiredService<TimeProvider>(),
            };
            return new SignatureService(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<IImageCatalog>(), sp.GetRequiredService<IWorkQueue>(), embedder,
                signing, sp.GetService<ILogger<SignatureService>>());
        });
        // Like SignatureService, only resolvable where a host registered the model.
        services.AddSingleton(sp => new RadiusCalibrator(sp.GetRequiredService<IBlobStore>(), sp.GetRequiredService<ISignatureEmbedder>(),
            sp.GetService<RadiusCalibratorOptions>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Creates what the chosen storage needs before first use (Azurite's container, table and queues; the embedded
    /// folders). In Azure, main.bicep has created them and this only checks they are there.
    /// </summary>
    public static Task EnsureStorageAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<MotifPipelineOptions>().Storage == PipelineStorage.Azure
            ? AzureAdapters.EnsureCreatedAsync(services, cancellationToken)
            : Task.CompletedTask;
    }
}
