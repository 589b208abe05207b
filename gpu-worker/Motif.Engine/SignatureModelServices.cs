using Microsoft.Extensions.DependencyInjection;
using Motif.Imaging;

namespace Motif.Engine;

/// <summary>Registers the engine as the pipeline's <see cref="ISignatureEmbedder"/>: what a host that signs (the worker, the CLI) adds to the shared composition.</summary>
public static class SignatureModelServices
{
    /// <summary>
    /// Registers a <see cref="SignatureModel"/> opened by <paramref name="open"/> on first use (the container disposes it) and its
    /// <see cref="EngineSignatureEmbedder"/> as <see cref="ISignatureEmbedder"/>, named <paramref name="modelName"/> at
    /// <paramref name="precision"/>.
    /// </summary>
    public static IServiceCollection AddSignatureModel(this IServiceCollection services, Func<SignatureModel> open, string modelName, Precision precision = Precision.Float32, int inputSize = EngineSignatureEmbedder.DefaultInputSize)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(open);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        services.AddSingleton(_ => open());
        services.AddSingleton<ISignatureEmbedder>(sp => new EngineSignatureEmbedder(sp.GetRequiredService<SignatureModel>(), modelName, inputSize, precision));
        return services;
    }
}
