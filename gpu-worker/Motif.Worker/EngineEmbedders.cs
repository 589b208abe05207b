using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Models;

namespace Motif.Worker;

/// <summary>Opens a model version with the engine for the jobs that name it (<see cref="ModelVersionEmbedders"/>): the
/// packaged network by name, a registered version from its downloaded weights; at the worker's device and precision and
/// the input size of its configured model, so the version's signatures are keyed as the rollout expects.</summary>
internal sealed class EngineEmbedders(string device, Precision precision, int inputSize) : ISignatureEmbedderFactory
{
    public (ISignatureEmbedder Embedder, IDisposable Owner) Open(string version, string? weightsFile)
    {
        var model = SignatureModels.Open(weightsFile ?? SignatureModels.PackagedResNet50, device);
        try
        {
            return (new EngineSignatureEmbedder(model, version, inputSize, precision), model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
