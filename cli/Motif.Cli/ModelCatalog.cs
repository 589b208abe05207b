using Motif.Engine;

namespace Motif.Cli;

/// <summary>The CLI's side of model selection (its options are <see cref="SharedOptions"/>'); resolving a model is <see cref="SignatureModels"/>' (shared with the worker).</summary>
public static class ModelCatalog
{
    /// <inheritdoc cref="SignatureModels.PackagedResNet50"/>
    public const string PackagedResNet50 = SignatureModels.PackagedResNet50;

    /// <inheritdoc cref="SignatureModels.Open"/>
    public static SignatureModel Open(string model) => SignatureModels.Open(model);

    /// <inheritdoc cref="SignatureModels.VersionOf"/>
    public static string VersionOf(string model) => SignatureModels.VersionOf(model);

    public static Precision ParsePrecision(string name) => SignatureModels.ParsePrecision(name) ?? Precision.Float32;
}
