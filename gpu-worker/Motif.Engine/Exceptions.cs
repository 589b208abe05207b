namespace Motif.Engine;

/// <summary>Weights or a checkpoint that do not fit the model's architecture (missing, unexpected or
/// mis-shaped tensors, or another architecture's checkpoint). The message lists what differs.</summary>
public sealed class ModelMismatchException(string message) : Exception(message);

/// <summary>A failure inside libtorch or the engine that has no more specific .NET type.</summary>
public sealed class SignatureEngineException(int status, string message) : Exception(message)
{
    /// <summary>The engine's status code (motif_status in motif_engine.h).</summary>
    public int Status { get; } = status;
}
