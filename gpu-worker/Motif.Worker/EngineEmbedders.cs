using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Models;

namespace Motif.Worker;

/// <summary>Opens a registered model version with the engine, from its downloaded weights, for the jobs and searches that
/// name it (<see cref="ModelVersionEmbedders"/>); at the worker's device and precision and the input size of its
/// configured model, so the version's signatures are keyed as the rollout expects.</summary>
internal sealed class EngineEmbedders(string device, Precision precision, int inputSize) : ISignatureEmbedderFactory
{
    public (ISignatureEmbedder Embedder, IDisposable Owner) Open(string version, string weightsFile)
    {
        var model = SignatureModels.Open(weightsFile, device);
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
