using Microsoft.Extensions.DependencyInjection;
using Motif.Imaging.LocalFeatures;

namespace Motif.Imaging.OpenCv;

/// <summary>Registers <see cref="SiftMatcher"/> as the pipeline's <see cref="ILocalFeatureMatcher"/>: what a host that
/// signs (the worker, the CLI) adds to the shared composition, so that its graph updates judge pairs by local features.</summary>
public static class LocalFeatureServices
{
    public static IServiceCollection AddLocalFeatureMatcher(this IServiceCollection services, SiftMatcherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<ILocalFeatureMatcher>(new SiftMatcher(options));
        return services;
    }
}
