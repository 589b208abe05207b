using System.Text.Json;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Training;

/// <summary>
/// The message that asks a worker to run <see cref="TrainingService"/> on its collection's ground truth (issue 11: the
/// worker runs training as a Container Apps Job; the CLI runs the same service in process). Like
/// <see cref="SignatureJob"/> it carries names and numbers, never data: the morphograph, annotations, split and images
/// are read from the collection's stores when the job runs, so the data version is whatever they hold then.
/// </summary>
/// <remarks>
/// What a worker needs to run it (not built yet): the engine opened on <see cref="BaseModel"/> at
/// <see cref="TrainingRunOptions.InputSize"/> as an <c>EngineSignatureTrainer</c>; a chart renderer for the PNG curves;
/// the lock renewal of a long job (an epoch can outlast a 5-minute Service Bus lock); and, because the run resumes from
/// its stored progress, a kill by scale-in only costs the unfinished epoch: the redelivered job continues.
/// </remarks>
/// <param name="BaseModel">The weights to start from: the packaged network's name or a model version the worker can open.</param>
/// <param name="Options">The run's hyper-parameters.</param>
/// <param name="TraceParent">The W3C traceparent of the sender, when it was traced.</param>
public sealed record TrainingJob(string BaseModel, TrainingRunOptions Options, string? TraceParent = null)
{
    private const int MaxBaseModelLength = 256;

    public OutgoingMessage ToMessage() => OutgoingMessage.FromText(JsonSerializer.Serialize(this, TrainingService.Json));

    /// <summary>The job in a received message, or null when the body is not a well-formed job: unreadable JSON, no or an
    /// over-long base model, a control character in it, or options out of range.</summary>
    public static TrainingJob? TryParse(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var job = JsonSerializer.Deserialize<TrainingJob>(message.Body.Span, TrainingService.Json);
            if (job is not { BaseModel: { Length: > 0 and <= MaxBaseModelLength } model, Options: not null } || model.Any(char.IsControl))
            {
                return null;
            }
            job.Options.Validate();
            return job;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }
}
