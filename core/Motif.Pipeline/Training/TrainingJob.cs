using System.Text.Json;
using Motif.Core;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Training;

/// <summary>
/// The message that asks a worker to run <see cref="TrainingService"/> on its collection's ground truth (issue 11: the
/// worker runs training as a Container Apps Job; the CLI runs the same service in process). Like
/// <see cref="SignatureJob"/> it carries names and numbers, never data: the morphograph, annotations, split and images
/// are read from the collection's stores when the job runs, so the data version is whatever they hold then.
/// </summary>
/// <remarks>The worker's side is <see cref="TrainingJobRunner"/>.</remarks>
/// <param name="BaseModel">The model version to start from: the packaged network's or a registered one; null for the
/// version that serves when the job runs (only a run from the serving version can be promoted, and a job may wait in
/// the queue while a promotion completes).</param>
/// <param name="Options">The run's hyper-parameters.</param>
/// <param name="TraceParent">The W3C traceparent of the sender, when it was traced.</param>
/// <param name="RequestedBy">Who asked for the run (<c>POST /api/train</c>'s signed-in principal), when known.</param>
public sealed record TrainingJob(string? BaseModel, TrainingRunOptions Options, string? TraceParent = null, string? RequestedBy = null)
{
    /// <summary>The longest <see cref="BaseModel"/> and <see cref="RequestedBy"/>.</summary>
    public const int MaxNameLength = 256;

    /// <summary>
    /// Checks what a sender controls: a base model (when named) and a requester of at most <see cref="MaxNameLength"/> characters
    /// with none that <see cref="HostileText"/> refuses, and options in range. The sender checks before sending and the
    /// receiver again on receipt, so a job that could not run never waits in the queue.
    /// </summary>
    /// <exception cref="ArgumentException">The parameter named is refused (<see cref="ArgumentOutOfRangeException"/> for an option).</exception>
    public void Validate()
    {
        if (BaseModel is not null && (BaseModel.Length is 0 or > MaxNameLength || HostileText.FirstUnsafe(BaseModel) >= 0))
        {
            throw new ArgumentException($"The base model must be 1 to {MaxNameLength} characters, none of them control or invisible.", nameof(BaseModel));
        }
        if (RequestedBy is not null && (RequestedBy.Length is 0 or > MaxNameLength || HostileText.FirstUnsafe(RequestedBy) >= 0))
        {
            throw new ArgumentException($"The requester must be 1 to {MaxNameLength} characters, none of them control or invisible.", nameof(RequestedBy));
        }
        if (Options is null)
        {
            throw new ArgumentException("The run's options are missing.", nameof(Options));
        }
        Options.Validate();
    }

    public OutgoingMessage ToMessage() => OutgoingMessage.FromText(JsonSerializer.Serialize(this, TrainingService.Json));

    /// <summary>The job in a received message, or null when the body is not a well-formed job: unreadable JSON, an empty or
    /// over-long base model, a control character in it, or options out of range.</summary>
    public static TrainingJob? TryParse(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var job = JsonSerializer.Deserialize<TrainingJob>(message.Body.Span, TrainingService.Json);
            if (job is null)
            {
                return null;
            }
            job.Validate();
            return job;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }
}
