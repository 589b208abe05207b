using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Functions.Api;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Models;

namespace Motif.Functions;

/// <summary>
/// The Functions app's services: the pipeline (<see cref="MotifPipeline.AddMotifPipeline(IServiceCollection, IConfiguration)"/>),
/// the app's options, the named HTTP client to the worker, and the function classes themselves. The Functions host
/// and <c>motif dev</c>'s trigger runner both call this, so a function invoked locally runs on exactly the services it
/// runs on in Azure.
/// </summary>
public static class MotifFunctions
{
    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> that forwards search queries to the worker.</summary>
    public const string WorkerClient = "motif-worker";

    /// <summary>Registers everything the functions need, from <paramref name="configuration"/>.</summary>
    /// <exception cref="PipelineConfigurationException">A <c>Motif__…</c> setting is malformed.</exception>
    public static IServiceCollection AddMotifFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = MotifFunctionsOptions.Read(configuration);
        // The worker signs the versions jobs name, so intake asks for the serving and pending versions' signatures.
        // (Not in AddMotifFunctionClasses, which `motif serve` uses over a workspace that signs in-process.)
        services.AddSingleton<RolloutIntake>();
        services.AddMotifPipeline(configuration);
        return services.AddMotifFunctionClasses(options);
    }

    /// <summary>
    /// The function classes and what only they need (their options, logging, search through the worker), over a
    /// pipeline already registered: by <see cref="AddMotifFunctions"/> here, by the workspace's composition under
    /// <c>motif serve</c>, which then registers its own <see cref="IQueryImageSearch"/> after this (the last one wins).
    /// </summary>
    public static IServiceCollection AddMotifFunctionClasses(this IServiceCollection services, MotifFunctionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddLogging();
        services.AddHttpClient(WorkerClient, client => client.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<IQueryImageSearch, WorkerSearch>();
        // The host activates function classes itself; registering them lets a runner resolve them the same way.
        services.AddTransient<IngestImage>();
        services.AddTransient<Recluster>();
        services.AddTransient<ClustersApi>();
        services.AddTransient<RunFilesApi>();
        services.AddTransient<ImagesApi>();
        services.AddTransient<SearchApi>();
        services.AddTransient<HealthApi>();
        services.AddTransient<AnnotationsApi>();
        services.AddTransient<IiifApi>();
        services.AddTransient<TrainApi>();
        return services;
    }
}
