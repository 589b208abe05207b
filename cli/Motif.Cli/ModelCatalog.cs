using System.CommandLine;
using Motif.Engine;

namespace Motif.Cli;

/// <summary>The CLI's side of model selection: its options; resolving a model is <see cref="SignatureModels"/>' (shared with the worker).</summary>
public static class ModelCatalog
{
    /// <inheritdoc cref="SignatureModels.PackagedResNet50"/>
    public const string PackagedResNet50 = SignatureModels.PackagedResNet50;

    /// <inheritdoc cref="SignatureModels.Open"/>
    public static SignatureModel Open(string model) => SignatureModels.Open(model);

    /// <inheritdoc cref="SignatureModels.VersionOf"/>
    public static string VersionOf(string model) => SignatureModels.VersionOf(model);

    /// <summary>
    /// --precision for the commands that keep signatures in a workspace: fp32 unless asked, so a workspace's
    /// signatures do not silently change with the device (the precision is part of their model version).
    /// </summary>
    public static Option<string> PrecisionOption()
    {
        var option = new Option<string>("--precision")
        {
            Description = "fp32 (default) or bf16: autocast to bfloat16 with channels-last, about 2.4× faster where the CPU has AVX-512 BF16. Signatures of each are kept apart.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16");
        return option;
    }

    public static Precision ParsePrecision(string name) => SignatureModels.ParsePrecision(name) ?? Precision.Float32;

    /// <inheritdoc cref="SignatureModels.Home"/>
    public static string Home => SignatureModels.Home;
}
