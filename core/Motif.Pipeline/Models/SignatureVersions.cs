namespace Motif.Pipeline.Models;

/// <summary>
/// The signature version (what the catalog keys signatures by) of a model version in a deployment: the model version
/// followed by the input size and precision the deployment signs at, which <c>Motif__ModelVersion</c> already spells for
/// the configured model (e.g. <c>resnet50-imagenet@1.0.4 224px</c>, <c>checkpoint:0123456789abcdef 224px bf16</c>). The
/// worker checks at start that its network computes exactly that version, so a host that does not sign (the Functions
/// app) derives the same keys as the worker without knowing the engine.
/// </summary>
public static class SignatureVersions
{
    /// <summary>The signature version of <paramref name="modelVersion"/> in a deployment whose configured signature
    /// version is <paramref name="configuredSignatureVersion"/>.</summary>
    /// <exception cref="ArgumentException">A model version with a space (none has one: ids are <c>checkpoint:</c>+hex or a
    /// package name), or a configured version without the input size.</exception>
    public static string Of(string modelVersion, string configuredSignatureVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelVersion);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuredSignatureVersion);
        if (modelVersion.Contains(' ', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{modelVersion}' is not a model version.", nameof(modelVersion));
        }
        var space = configuredSignatureVersion.IndexOf(' ', StringComparison.Ordinal);
        return space > 0
            ? modelVersion + configuredSignatureVersion[space..]
            : throw new ArgumentException($"'{configuredSignatureVersion}' names no input size.", nameof(configuredSignatureVersion));
    }

    /// <summary>The model version part of a signature version (<c>resnet50-imagenet@1.0.4</c> of <c>resnet50-imagenet@1.0.4 224px</c>).</summary>
    public static string ModelOf(string signatureVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signatureVersion);
        var space = signatureVersion.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 ? signatureVersion[..space] : signatureVersion;
    }
}
