using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Functions.Api;
using Motif.Pipeline.Composition;

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
        services.AddMotifPipeline(configuration);
        services.AddSingleton(options);
        services.AddHttpClient(WorkerClient, client => client.Timeout = TimeSpan.FromSeconds(30));
        // The host activates function classes itself; registering them lets a runner resolve them the same way.
        services.AddTransient<IngestImage>();
        services.AddTransient<Recluster>();
        services.AddTransient<ClustersApi>();
        services.AddTransient<ImagesApi>();
        services.AddTransient<SearchApi>();
        services.AddTransient<HealthApi>();
        return services;
    }
}
